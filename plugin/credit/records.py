"""Dishonesty records (失信记录) kept by staff: entered, corrected, expired, repaired at the window and
deleted when entered by mistake. Each change is one unit of work, audited as
dishonesty_record.create / update / expire / repair / delete and announced as `record.*`.

Every change watches the subject's credit first, so a record that moves the effective tier (a
severe record entered, a severe record expired or repaired) leaves a TierChange: cause "repair"
for a repair, "admin" for the rest. Records that come from our own events (a breach, a credit
repair case) are `plugin.credit.changes`; the credit platform's are `plugin.credit.importer`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib

from plugin.credit.models import SEVERITIES, DishonestyRecord, Subject
from plugin.db import assign, delete_with_owned, now
from plugin.work import Refused, refuse_if_referenced, row_to_edit, unit_of_work

FIELDS = ("subject", "severity", "reason", "authority", "start", "end", "case_number")
ADMIN, REPAIR = "admin", "repair"


def fingerprint(subject_id: int, severity: str, reason: str, authority: str, start: _dt.date) -> str:
    """What makes a record entered by staff the same record twice."""
    return hashlib.sha256(f"{subject_id}|{severity}|{reason}|{authority}|{start}".encode()).hexdigest()


def _audit(unit, action: str, record: DishonestyRecord, **detail) -> None:
    unit.audit(action, table="dishonesty_record", id=record.id, label=str(record)[:200], **detail)


def _code(subject_id: int) -> str | None:
    return Subject.select(Subject.code).where(Subject.id == subject_id).scalar()


def _record(record_id: int) -> DishonestyRecord:
    from plugin.i18n import _
    return row_to_edit(DishonestyRecord, record_id, _("所选失信记录不存在（可能已被删除）。"))


def save(actor, values: dict, record_id: int | None = None) -> DishonestyRecord:
    """Enter a record (`record_id` None) or correct one. Refused: it would end before it starts."""
    from plugin.i18n import _
    with unit_of_work(actor, ADMIN) as unit:
        created = record_id is None
        record = DishonestyRecord() if created else _record(record_id)
        was_about = record.subject_id
        assign(record, values, FIELDS)
        if record.severity not in SEVERITIES:
            raise Refused(f"失信严重程度只能是：{'、'.join(SEVERITIES)}")
        if record.end is not None and record.start is not None and record.end < record.start:
            raise Refused(_("截止日期不能早于起始日期。"))
        # nothing is written yet: watch the subject it was about and the one it is about now
        reason = (f"工作人员录入{record.severity}失信记录：{record.reason}" if created
                  else f"工作人员更正失信记录（编号 {record.id}）")
        unit.watch_credit_many([was_about, record.subject_id], reason=reason)
        if created:
            record.fingerprint = fingerprint(record.subject_id, record.severity, record.reason, record.authority,
                                             record.start)
        record.save(force_insert=created)
        _audit(unit, f"dishonesty_record.{'create' if created else 'update'}", record)
        code = _code(record.subject_id)
        if created:
            unit.emit("record.created", subject_code=code, case_number=record.case_number, id=record.id,
                      severity=record.severity)
        else:
            unit.emit("record.corrected", subject_code=code, id=record.id, change="updated")
    return record


def expire(actor, record_ids: list[int]) -> int:
    """End the unrepaired records still in force: they stopped applying yesterday. Returns how many."""
    changed = 0
    with unit_of_work(actor, ADMIN) as unit:
        yesterday = unit.today - _dt.timedelta(days=1)
        for record in DishonestyRecord.select().where(DishonestyRecord.id.in_(list(record_ids))
                                                      & DishonestyRecord.repaired_at.is_null()):
            if record.end is not None and record.end < unit.today:
                continue
            unit.watch_credit(record.subject_id, reason=f"工作人员使失信记录到期（编号 {record.id}）")
            record.end = yesterday
            record.save()
            _audit(unit, "dishonesty_record.expire", record)
            unit.emit("record.corrected", subject_code=_code(record.subject_id), id=record.id, change="expired")
            changed += 1
    return changed


def repair(actor, record_ids: list[int]) -> int:
    """Mark the unrepaired records repaired (信用修复 at the window). Returns how many."""
    changed = 0
    with unit_of_work(actor, REPAIR) as unit:
        for record in DishonestyRecord.select().where(DishonestyRecord.id.in_(list(record_ids))
                                                      & DishonestyRecord.repaired_at.is_null()):
            unit.watch_credit(record.subject_id, cause=REPAIR,
                              reason=f"工作人员标记失信记录已修复（编号 {record.id}）")
            record.repaired_at = now()
            record.save()
            _audit(unit, "dishonesty_record.repair", record)
            unit.emit("record.repaired", subject_code=_code(record.subject_id), ids=[record.id],
                      case_number=record.case_number)
            changed += 1
    return changed


def delete(actor, record_id: int) -> None:
    """Delete a record entered by mistake (a record that applied is expired or repaired instead)."""
    with unit_of_work(actor, ADMIN) as unit:
        record = _record(record_id)
        refuse_if_referenced(record)
        unit.watch_credit(record.subject_id, reason=f"工作人员删除失信记录（编号 {record.id}）")
        _audit(unit, "dishonesty_record.delete", record, removed={})
        unit.emit("record.deleted", subject_code=_code(record.subject_id), id=record.id)
        delete_with_owned(record)
