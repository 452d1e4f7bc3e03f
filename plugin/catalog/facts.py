"""What an application needs to know about a matter, read once and cached (see ReferenceCache).

Applying reads the matter, its bound process version, its negative-list entries, its per-tier
promised limits and its supplement deadline on every submission; these change only when staff
edit the catalog, so they are kept as an immutable snapshot per matter code.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin import clock
from plugin.catalog.models import (DEFERRABLE, MaterialRequirement, Matter, MatterTierLimit,
                                   NegativeListEntry)
from plugin.catalog.requirements import DEFAULT_SUPPLEMENT_DAYS
from plugin.db import ReferenceCache

_facts = ReferenceCache()


@dataclasses.dataclass(frozen=True)
class NegativeEntry:
    id: int
    severity: str
    legal_basis: str
    effective_from: _dt.date
    effective_to: _dt.date | None

    def active_on(self, day: _dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or self.effective_to >= day)


@dataclasses.dataclass(frozen=True)
class MatterFacts:
    id: int
    code: str
    name: str
    status: str
    process_id: int | None
    legal_days: int
    promised_days: int
    major_project: bool
    supplement_days: int
    tier_limits: dict  # tier id → promised working days
    negative_entries: tuple[NegativeEntry, ...]

    def active_entries(self, day: _dt.date | None = None) -> list[NegativeEntry]:
        day = day or clock.today()
        return [e for e in self.negative_entries if e.active_on(day)]

    def promised_days_for(self, tier_id: int | None) -> int:
        return self.tier_limits.get(tier_id, self.promised_days)

    def context(self, day: _dt.date | None = None) -> dict:
        """The `matter` a diagram sees (DESIGN §3.6)."""
        return {"code": self.code, "name": self.name, "legal_days": self.legal_days,
                "promised_days": self.promised_days, "major_project": self.major_project,
                "negative_list": bool(self.active_entries(day)), "supplement_days": self.supplement_days}


def _load(code: str) -> MatterFacts | None:
    matter = Matter.get_or_none(Matter.code == code)
    if matter is None:
        return None
    deferrable = [r.supplement_days or DEFAULT_SUPPLEMENT_DAYS
                  for r in MaterialRequirement.select(MaterialRequirement.supplement_days)
                  .where((MaterialRequirement.matter == matter) & (MaterialRequirement.necessity == DEFERRABLE))]
    limits = {row.tier_id: row.promised_days
              for row in MatterTierLimit.select().where(MatterTierLimit.matter == matter)}
    entries = tuple(NegativeEntry(e.id, e.severity, e.legal_basis, e.effective_from, e.effective_to)
                    for e in NegativeListEntry.select().where(NegativeListEntry.matter == matter)
                    .order_by(NegativeListEntry.effective_from))
    return MatterFacts(id=matter.id, code=matter.code, name=matter.name, status=matter.status,
                       process_id=matter.process_id, legal_days=matter.legal_days,
                       promised_days=matter.promised_days, major_project=matter.major_project,
                       supplement_days=max(deferrable) if deferrable else DEFAULT_SUPPLEMENT_DAYS,
                       tier_limits=limits, negative_entries=entries)


def matter_facts(code: str) -> MatterFacts | None:
    return _facts.get(code, lambda: _load(code))
