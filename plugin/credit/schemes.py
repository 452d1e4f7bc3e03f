"""Keeping the tier schemes (信用等级体系): a scheme with its tiers is created, edited and deleted
here, and one is made the active scheme; each change is one unit of work, audited as
tier_scheme.create / update / delete / activate and announced as `scheme.changed` or
`scheme.activated`.

A scheme is the frame the effective tier is read in, not a subject's credit: activating another
scheme (or editing the active one's tiers) changes the tier code of every subject at once, so no
TierChange is recorded per subject; the audit row says who did it and when, and every case keeps
the scheme it was checked under in its tier snapshot.
"""
from __future__ import annotations

from plugin.credit.models import Tier, TierScheme
from plugin.db import ReferenceCache, assign, delete_with_owned
from plugin.events import CREATED, DELETED, UPDATED
from plugin.work import Refused, refuse_if_referenced, RowEdit, row_to_edit, save_owned_rows, unit_of_work

FIELDS = ("code", "name", "region", "description", "default_tier_code")
TIER_FIELDS = ("code", "label", "colour", "rank", "inspection_ratio", "description")


def _audit(unit, action: str, scheme: TierScheme, **detail) -> None:
    unit.audit(action, table="tier_scheme", id=scheme.id, label=str(scheme)[:200], **detail)


def _scheme(scheme_id: int) -> TierScheme:
    from plugin.i18n import _
    return row_to_edit(TierScheme, scheme_id, _("所选等级体系不存在（可能已被删除）。"))


def save(actor, values: dict, scheme_id: int | None = None, tiers: list[RowEdit] | None = None) -> TierScheme:
    """Create a scheme (`scheme_id` None) or edit one, with its tiers as edited (None: as they are).
    Refused: an inspection ratio outside 0..1; InUse: a tier removed while subjects or limits hold it."""
    from plugin.i18n import _
    for edit in tiers or ():
        ratio = edit.values.get("inspection_ratio")
        if not edit.delete and ratio is not None and not 0 <= ratio <= 1:
            raise Refused(_("双随机抽查比例应在 0 到 1 之间（如 0.05 表示百分之五）。"))
    with unit_of_work(actor, "scheme") as unit:
        created = scheme_id is None
        scheme = TierScheme() if created else _scheme(scheme_id)
        assign(scheme, values, FIELDS)
        scheme.save(force_insert=created)
        save_owned_rows(scheme, Tier, "scheme", tiers, TIER_FIELDS)
        _audit(unit, f"tier_scheme.{'create' if created else 'update'}", scheme)
        unit.emit("scheme.changed", change=CREATED if created else UPDATED, id=scheme.id, code=scheme.code)
    ReferenceCache.clear_all()
    return scheme


def delete(actor, scheme_id: int) -> None:
    """Delete a scheme nothing refers to (its tiers go first, by editing it): InUse otherwise."""
    with unit_of_work(actor, "scheme") as unit:
        scheme = _scheme(scheme_id)
        refuse_if_referenced(scheme)
        _audit(unit, "tier_scheme.delete", scheme, removed={})
        unit.emit("scheme.changed", change=DELETED, id=scheme.id, code=scheme.code)
        delete_with_owned(scheme)


def activate(actor, scheme_id: int) -> TierScheme:
    """Make the scheme the only active one (`plugin.credit.tiers.activate_scheme`)."""
    from plugin.credit.tiers import activate_scheme
    with unit_of_work(actor, "scheme") as unit:
        scheme = activate_scheme(_scheme(scheme_id).code)
        _audit(unit, "tier_scheme.activate", scheme)
        unit.emit("scheme.activated", code=scheme.code)
    ReferenceCache.clear_all()
    return scheme
