"""The negative list (负面清单): the one place that answers whether a matter is closed to a subject,
and the one way entries are added, edited, ended and deleted (each in a unit of work, audited as
negative_list.create / update / end / delete, announced as `negative_list.changed`)."""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin.catalog.facts import MatterFacts, matter_facts
from plugin.catalog.models import Matter, NegativeListEntry
from plugin.credit.models import SEVERE, Subject
from plugin.credit.tiers import EffectiveTier, effective_tier
from plugin.db import ReferenceCache, assign
from plugin.events import CREATED, DELETED, UPDATED
from plugin.work import Refused, row_to_edit, unit_of_work

FIELDS = ("matter", "legal_basis", "severity", "effective_from", "effective_to", "note")


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


# ---------------------------------------------------------------------------------------------
# keeping the list
# ---------------------------------------------------------------------------------------------
def _audit(unit, action: str, entry: NegativeListEntry, **detail) -> None:
    unit.audit(action, table="negative_list_entry", id=entry.id, label=str(entry)[:200], **detail)


def _emit(unit, change: str, entry: NegativeListEntry) -> None:
    unit.emit("negative_list.changed", change=change, id=entry.id,
              matter_code=Matter.select(Matter.code).where(Matter.id == entry.matter_id).scalar())


def _entry(entry_id: int) -> NegativeListEntry:
    from plugin.i18n import _
    return row_to_edit(NegativeListEntry, entry_id, _("所选负面清单条目不存在（可能已被删除）。"))


def save_entry(actor, values: dict, entry_id: int | None = None) -> NegativeListEntry:
    """Add an entry (`entry_id` None) or edit one. Refused: it would end before it starts."""
    from plugin.i18n import _
    with unit_of_work(actor, "negative_list") as unit:
        created = entry_id is None
        entry = NegativeListEntry() if created else _entry(entry_id)
        assign(entry, values, FIELDS)
        if entry.effective_to is not None and entry.effective_from is not None \
                and entry.effective_to < entry.effective_from:
            raise Refused(_("失效日期不能早于生效日期。"))
        entry.save(force_insert=created)
        _audit(unit, f"negative_list.{'create' if created else 'update'}", entry)
        _emit(unit, CREATED if created else UPDATED, entry)
    ReferenceCache.clear_all()
    return entry


def end_entries(actor, entry_ids: list[int]) -> int:
    """End the entries still in force after today: they stop at the end of today. Returns how many."""
    ended = 0
    with unit_of_work(actor, "negative_list") as unit:
        today = unit.today
        for entry in NegativeListEntry.select().where(NegativeListEntry.id.in_(list(entry_ids))):
            if entry.effective_to is None or entry.effective_to > today:
                entry.effective_to = today
                entry.save()
                _audit(unit, "negative_list.end", entry, effective_to=today.isoformat())
                _emit(unit, "ended", entry)
                ended += 1
    ReferenceCache.clear_all()
    return ended


def delete_entry(actor, entry_id: int) -> None:
    """Delete an entry (one made by mistake; an entry that applied is ended instead)."""
    with unit_of_work(actor, "negative_list") as unit:
        entry = _entry(entry_id)
        _audit(unit, "negative_list.delete", entry, removed={})
        _emit(unit, DELETED, entry)
        entry.delete_instance()
    ReferenceCache.clear_all()
