"""Keeping the material catalog (材料目录): a material is created, edited and deleted here, each
in one unit of work (audited as material.*, announced as `material.changed`). A material that a
matter asks for is not deleted."""
from __future__ import annotations

from plugin.catalog.models import Material
from plugin.db import ReferenceCache, assign, delete_with_owned
from plugin.events import CREATED, DELETED, UPDATED
from plugin.work import refuse_if_referenced, row_to_edit, unit_of_work

FIELDS = ("code", "name", "type", "form", "source", "elicence_type", "description")


def _audit(unit, action: str, material: Material, **detail) -> None:
    unit.audit(action, table="material", id=material.id, label=str(material)[:200], **detail)


def save(actor, values: dict, material_id: int | None = None) -> Material:
    """Create a material (`material_id` None) or edit one."""
    from plugin.i18n import _
    with unit_of_work(actor, "material") as unit:
        created = material_id is None
        material = row_to_edit(Material, material_id, _("所选材料不存在（可能已被删除）。"))
        assign(material, values, FIELDS)
        material.save(force_insert=created)
        _audit(unit, f"material.{'create' if created else 'update'}", material)
        unit.emit("material.changed", change=CREATED if created else UPDATED, id=material.id, code=material.code)
    ReferenceCache.clear_all()
    return material


def delete(actor, material_id: int) -> None:
    """Delete a material no matter asks for (InUse otherwise)."""
    from plugin.i18n import _
    with unit_of_work(actor, "material") as unit:
        material = row_to_edit(Material, material_id, _("所选材料不存在（可能已被删除）。"))
        refuse_if_referenced(material)
        _audit(unit, "material.delete", material, removed={})
        delete_with_owned(material)
        unit.emit("material.changed", change=DELETED, id=material_id, code=material.code)
