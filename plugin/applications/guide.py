"""The matter guide (办事指南) and its search: what a published matter asks for, and what the
applicant's effective tier gets them (the path, the promised limit, each material's disposition),
or why the matter is closed to them. Nothing here writes.
"""
from __future__ import annotations

import dataclasses

from plugin import clock
from plugin.applications import admission
from plugin.applications.errors import NotFound
from plugin.applications.vocabulary import PATH_DESCRIPTIONS
from plugin.catalog.facts import matter_facts
from plugin.catalog.models import PUBLISHED
from plugin.catalog.negative_list import closure_for
from plugin.credit.tiers import active_scheme_info


@dataclasses.dataclass
class Guide:
    """What the matter guide shows; `tier` and what follows from it only for an identified applicant."""

    matter: object
    facts: object
    tier: object = None
    path: str | None = None
    path_label: str | None = None
    promised_days: int | None = None
    dispositions: list = dataclasses.field(default_factory=list)
    closure: object = None
    unverified: bool = False     # the path needs a verified identity the applicant does not have yet

    def grouped(self) -> dict[str, list]:
        groups: dict[str, list] = {}
        for d in self.dispositions:
            groups.setdefault(d.disposition, []).append(d)
        return groups


def matter_guide(matter_code: str, applicant_code: str | None = None) -> Guide:
    """The guide of a published matter, and what `applicant_code`'s effective tier gets them."""
    from plugin.catalog.models import Matter
    from plugin.catalog.requirements import requirements_for
    from plugin.engine.paths import expected_path
    matter = Matter.get_or_none((Matter.code == matter_code) & (Matter.status == PUBLISHED))
    facts = matter_facts(matter_code) if matter is not None else None
    if facts is None:
        raise NotFound(f"事项 {matter_code} 不存在或未发布")
    guide = Guide(matter=matter, facts=facts)
    if applicant_code is None:
        guide.dispositions = requirements_for(matter, active_scheme_info().default_tier_code, path="standard")
        return guide
    today = clock.today()
    subject, tier = admission.credit(admission.valid_code(applicant_code), today)
    guide.tier = tier
    guide.closure = closure_for(facts, tier, today)
    guide.path = expected_path(matter, tier)
    guide.path_label = PATH_DESCRIPTIONS.get(guide.path, guide.path)
    from plugin.identity.accounts import restricted
    guide.unverified = restricted(subject, guide.path)
    guide.promised_days = facts.promised_days_for(active_scheme_info().tier(tier.code).id)
    guide.dispositions = requirements_for(matter, tier, path=guide.path)
    return guide


def published_matters(query: str = "") -> list:
    """Published matters whose name, code or department contains `query` (all when empty)."""
    from plugin.catalog.models import Matter
    rows = Matter.select().where(Matter.status == PUBLISHED)
    words = (query or "").split()
    for word in words[:5]:
        rows = rows.where(Matter.name.contains(word) | Matter.code.contains(word)
                          | Matter.department.contains(word))
    return list(rows.order_by(Matter.department, Matter.code))


def repair_matter():
    """The published credit-repair matter (信用修复), if the catalog has one."""
    from plugin.catalog.models import Matter
    from plugin.engine.models import ProcessDefinition
    return (Matter.select().join(ProcessDefinition, on=(Matter.process == ProcessDefinition.id))
            .where((Matter.status == PUBLISHED) & (ProcessDefinition.key == "credit_repair"))
            .order_by(Matter.code).first())
