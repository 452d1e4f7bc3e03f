"""The negative list (负面清单): the one place that answers whether a matter is closed to a subject."""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin.catalog.models import Matter, NegativeListEntry
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


def active_entries(matter: Matter, on: _dt.date | None = None):
    on = on or _dt.date.today()
    return (NegativeListEntry.select()
            .where((NegativeListEntry.matter == matter) & (NegativeListEntry.effective_from <= on)
                   & (NegativeListEntry.effective_to.is_null() | (NegativeListEntry.effective_to >= on)))
            .order_by(NegativeListEntry.effective_from))


def is_on_negative_list(matter: Matter, on: _dt.date | None = None) -> bool:
    return active_entries(matter, on).exists()


def is_closed_to(matter: Matter, subject: Subject, on: _dt.date | None = None,
                 tier: EffectiveTier | None = None) -> Closure | None:
    """The closure when `matter` is on the negative list and closed to `subject`, else None.

    An active entry closes the matter to a subject of the active scheme's worst tier, and to a
    subject with an active dishonesty record of the severity the entry names (严重: severe records
    only; 一般: any record).
    """
    on = on or _dt.date.today()
    entries = list(active_entries(matter, on))
    if not entries:
        return None
    tier = tier or effective_tier(subject, on)
    severe = [r for r in tier.records if r["severity"] == SEVERE]
    for entry in entries:
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
                       reason=f"“{matter.name}”列入失信主体负面清单，{why}，依据{entry.legal_basis}，不予受理。")
    return None
