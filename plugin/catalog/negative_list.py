"""The negative list (负面清单): the one place that answers whether a matter is closed to a subject."""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin.catalog.facts import MatterFacts, matter_facts
from plugin.catalog.models import Matter
from plugin.credit.models import SEVERE, Subject
from plugin.credit.tiers import EffectiveTier, effective_tier


@dataclasses.dataclass(frozen=True)
class Closure:
    """Why a matter is closed to a subject."""

    entry_id: int
    legal_basis: str
    reason: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def is_on_negative_list(matter: Matter, on: _dt.date | None = None) -> bool:
    facts = matter_facts(matter.code)
    return bool(facts and facts.active_entries(on))


def closure_for(facts: MatterFacts, tier: EffectiveTier, on: _dt.date | None = None) -> Closure | None:
    """The closure of the matter described by `facts` to a subject whose tier is `tier`, if any.

    An active entry closes the matter to a subject of the active scheme's worst tier, and to a
    subject with an active dishonesty record of the severity the entry names (严重: severe records
    only; 一般: any record).
    """
    severe = [r for r in tier.records if r["severity"] == SEVERE]
    for entry in facts.active_entries(on):
        if entry.severity == SEVERE and severe:
            why = f"存在严重失信记录（{severe[0]['reason']}，{severe[0]['authority']}）"
        elif entry.severity != SEVERE and tier.records:
            r = tier.records[0]
            why = f"存在失信记录（{r['severity']}：{r['reason']}，{r['authority']}）"
        elif tier.is_worst:
            why = f"信用等级为最低等级“{tier.label}”"
        else:
            continue
        return Closure(entry_id=entry.id, legal_basis=entry.legal_basis,
                       reason=f"“{facts.name}”列入失信主体负面清单，{why}，依据{entry.legal_basis}，不予受理。")
    return None


def is_closed_to(matter: Matter, subject: Subject, on: _dt.date | None = None,
                 tier: EffectiveTier | None = None) -> Closure | None:
    """The closure when `matter` is on the negative list and closed to `subject`, else None."""
    facts = matter_facts(matter.code)
    if facts is None or not facts.active_entries(on):
        return None
    return closure_for(facts, tier or effective_tier(subject, on), on)
