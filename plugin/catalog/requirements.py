"""What a tier gets: every material of a matter with its disposition for that tier.

The disposition depends on the handling path the applicant's case takes
(instant, tolerance, commitment, standard), which the matter's published
diagram decides; the engine records it per tier when a version is published.
"""
from __future__ import annotations

import dataclasses

from plugin.catalog.models import DEFERRABLE, OPTIONAL, Material, MaterialRequirement, Matter

UPLOAD, OPTIONAL_UPLOAD, DEFER, COMMITMENT, WAIVED, ELICENCE = (
    "upload", "optional", "defer", "commitment", "waived", "elicence")
DISPOSITION_LABELS = {
    UPLOAD: "需提交",
    OPTIONAL_UPLOAD: "选择提交",
    DEFER: "容缺后补",
    COMMITMENT: "告知承诺替代",
    WAIVED: "免提交",
    ELICENCE: "电子证照自动调取",
}
DEFAULT_SUPPLEMENT_DAYS = 5


@dataclasses.dataclass(frozen=True)
class MaterialDisposition:
    requirement_id: int
    material_code: str
    material_name: str
    necessity: str
    copies: int
    disposition: str
    supplement_days: int | None
    elicence_type: str | None
    notes: str

    @property
    def label(self) -> str:
        return DISPOSITION_LABELS[self.disposition]

    @property
    def must_upload(self) -> bool:
        return self.disposition == UPLOAD

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"label": self.label}


def disposition_of(req: MaterialRequirement, material: Material, tier_code: str, path: str) -> str:
    if material.elicence_type:
        return ELICENCE
    if tier_code in req.waived_tier_codes:
        return WAIVED
    if path == "tolerance" and req.necessity == DEFERRABLE:
        return DEFER
    if path == "commitment" and req.commitment_replaces:
        return COMMITMENT
    if req.necessity == OPTIONAL:
        return OPTIONAL_UPLOAD
    return UPLOAD


def requirements_for(matter: Matter, tier, path: str | None = None) -> list[MaterialDisposition]:
    """Every material `matter` asks for, with its disposition for `tier`.

    `tier` is a tier code or an `EffectiveTier`. `path` is the handling path; by default the one
    the matter's published diagram takes for that tier (and the subject's records, when an
    `EffectiveTier` is given).
    """
    tier_code = tier if isinstance(tier, str) else tier.code
    if path is None:
        from plugin.engine.paths import expected_path
        path = expected_path(matter, tier)
    rows = (MaterialRequirement.select(MaterialRequirement, Material).join(Material)
            .where(MaterialRequirement.matter == matter)
            .order_by(MaterialRequirement.position, MaterialRequirement.id))
    out = []
    for req in rows:
        material = req.material
        disposition = disposition_of(req, material, tier_code, path)
        out.append(MaterialDisposition(
            requirement_id=req.id, material_code=material.code, material_name=material.name,
            necessity=req.necessity, copies=req.copies, disposition=disposition,
            supplement_days=(req.supplement_days or DEFAULT_SUPPLEMENT_DAYS) if disposition == DEFER else None,
            elicence_type=material.elicence_type, notes=req.notes))
    return out
