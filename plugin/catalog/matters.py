"""Keeping the matter catalog: a matter (事项) with its material requirements and per-tier
promised limits is created, edited and deleted here, each in one unit of work (audited as
matter.create / matter.update / matter.delete, announced as `matter.changed`).

A matter's bound process is set by publishing a diagram (`plugin.engine.publish`), never here.
"""
from __future__ import annotations

from plugin.catalog.models import MaterialRequirement, Matter, MatterTierLimit
from plugin.db import ReferenceCache, assign, delete_with_owned, now
from plugin.events import CREATED, DELETED, UPDATED
from plugin.work import Refused, refuse_if_referenced, RowEdit, row_to_edit, save_owned_rows, unit_of_work

FIELDS = ("code", "name", "department", "kind", "legal_days", "promised_days", "major_project", "status",
          "conditions", "legal_basis", "fee")
REQUIREMENT_FIELDS = ("material", "necessity", "waived_tiers", "commitment_replaces", "copies",
                      "supplement_days", "notes", "position")
TIER_LIMIT_FIELDS = ("tier", "promised_days")
#: rows that belong to a matter and go with it
OWNED = ("requirements", "tier_limits")


def _audit(unit, action: str, matter: Matter, **detail) -> None:
    unit.audit(action, table="matter", id=matter.id, label=str(matter)[:200], **detail)


def save(actor, values: dict, matter_id: int | None = None, requirements: list[RowEdit] | None = None,
         tier_limits: list[RowEdit] | None = None) -> Matter:
    """Create a matter (`matter_id` None) or edit one, with its requirements and tier limits as
    edited (None: left as they are). Refused: a promised limit longer than the legal one; InUse:
    an inline row removed while something else refers to it."""
    from plugin.i18n import _
    with unit_of_work(actor, "matter") as unit:
        created = matter_id is None
        matter = row_to_edit(Matter, matter_id, _("所选事项不存在（可能已被删除）。"))
        assign(matter, values, FIELDS)
        matter.updated_at = now()
        if matter.promised_days is not None and matter.legal_days is not None \
                and matter.promised_days > matter.legal_days:
            raise Refused(_("承诺时限不能长于法定时限。"))
        matter.save(force_insert=created)
        save_owned_rows(matter, MaterialRequirement, "matter", requirements, REQUIREMENT_FIELDS)
        save_owned_rows(matter, MatterTierLimit, "matter", tier_limits, TIER_LIMIT_FIELDS)
        _audit(unit, f"matter.{'create' if created else 'update'}", matter)
        unit.emit("matter.changed", change=CREATED if created else UPDATED, id=matter.id, code=matter.code)
    ReferenceCache.clear_all()
    return matter


def delete(actor, matter_id: int) -> list[tuple[str, int]]:
    """Delete a matter nothing refers to (cases, negative-list entries), with its requirements
    and tier limits; returns [(table, rows)] of those. InUse while anything refers to it."""
    from plugin.i18n import _
    with unit_of_work(actor, "matter") as unit:
        matter = row_to_edit(Matter, matter_id, _("所选事项不存在（可能已被删除）。"))
        refuse_if_referenced(matter, OWNED)
        removed = delete_with_owned(matter, OWNED)
        _audit(unit, "matter.delete", matter, removed=dict(removed))
        unit.emit("matter.changed", change=DELETED, id=matter_id, code=matter.code)
    return removed
