"""What our own events do to a subject's credit: a breach records dishonesty, a repair clears it.

Both run in a unit of work (`plugin.work`): they watch the subject's credit before the change and
`settle_credit` records the move as a TierChange (cause "breach" or "repair", the case and its
reason) and returns it, for the case's own audit row; the unit is the one place that records tier
changes, and `plugin.credit.tiers` the one place that computes the tier. Called inside the case's
transaction, the unit writes with it: the case change that caused them commits with them, and
their events (`record.created`, `record.repaired`, `subject.tier_changed`) are delivered after.
"""
from __future__ import annotations

import datetime as _dt
import hashlib

from plugin.credit.models import SEVERITIES, SEVERE, DishonestyRecord, Subject, TierChange
from plugin.db import now
from plugin.work import unit_of_work

BREACH_AUTHORITY = "信易批批后监管"


def record_breach(subject: Subject, on: _dt.date, reason: str, case_number: str, cause: str,
                  actor: str, severity: str = SEVERE, authority: str = BREACH_AUTHORITY,
                  ) -> tuple[DishonestyRecord, TierChange | None]:
    """Record the dishonesty of a breach (one record per case and cause) and the tier it leaves
    (no change is kept when the tier stays: a general record, or a subject already at the worst)."""
    if severity not in SEVERITIES:
        raise ValueError(f"失信严重程度只能是：{'、'.join(SEVERITIES)}")
    with unit_of_work(actor, "breach") as unit:
        unit.watch_credit(subject, cause="breach", reason=reason, case_number=case_number)
        fingerprint = hashlib.sha256(f"breach\x1f{case_number}\x1f{cause}".encode()).hexdigest()
        record = DishonestyRecord.get_or_none(DishonestyRecord.fingerprint == fingerprint)
        if record is None:
            record = DishonestyRecord.create(subject=subject, severity=severity, reason=reason, authority=authority,
                                             start=on, fingerprint=fingerprint, case_number=case_number)
            unit.emit("record.created", subject_code=subject.code, case_number=case_number, id=record.id,
                      severity=severity)
        change = unit.settle_credit(subject)
    return record, change


class RepairRefused(ValueError):
    """The records named for repair are not the subject's unrepaired records."""


def parse_record_ids(text: str | None) -> list[int]:
    """'12, 15，18' → [12, 15, 18]; RepairRefused for anything that is not a record number."""
    parts = [p.strip() for p in str(text or "").replace("，", ",").replace("、", ",").split(",")]
    parts = [p for p in parts if p]
    if not parts:
        raise RepairRefused("请填写拟修复的失信记录编号")
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise RepairRefused(f"失信记录编号只能是数字，多个编号用逗号分隔（无法识别：{'、'.join(bad[:3])}）")
    return sorted({int(p) for p in parts})


def repairable(subject: Subject, ids: list[int]) -> list[DishonestyRecord]:
    """The subject's unrepaired records with these ids; RepairRefused naming any that are not."""
    found = {r.id: r for r in DishonestyRecord.select().where((DishonestyRecord.subject == subject)
                                                              & DishonestyRecord.id.in_(ids)
                                                              & DishonestyRecord.repaired_at.is_null())}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise RepairRefused(f"编号 {'、'.join(missing)} 不是本主体未修复的失信记录")
    return [found[i] for i in ids]


def repair_records(subject: Subject, ids: list[int], on: _dt.date, case_number: str, actor: str,
                   reason: str) -> tuple[list[DishonestyRecord], TierChange | None]:
    """Mark those of the records that are still the subject's and unrepaired as repaired (one may
    have been repaired or corrected since the request), and keep the tier they leave."""
    with unit_of_work(actor, "repair") as unit:
        records = list(DishonestyRecord.select().where((DishonestyRecord.subject == subject)
                                                       & DishonestyRecord.id.in_(ids)
                                                       & DishonestyRecord.repaired_at.is_null()))
        if not records:
            return [], None
        unit.watch_credit(subject, cause="repair", reason=reason, case_number=case_number)
        (DishonestyRecord.update(repaired_at=now())
         .where(DishonestyRecord.id.in_([r.id for r in records]) & DishonestyRecord.repaired_at.is_null()).execute())
        unit.emit("record.repaired", subject_code=subject.code, case_number=case_number, ids=[r.id for r in records])
        change = unit.settle_credit(subject)
    return records, change
