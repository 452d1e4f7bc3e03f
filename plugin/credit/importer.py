"""Bulk import from the credit platform's exports: CSV (with a header) or JSON lines.

Good rows are upserted; every bad row is reported as ``line N: <reason>`` and
skipped, so one bad row never costs the good ones. Rows are written in batches,
each batch in one unit of work (`plugin.work`): one transaction with one audit row
(subject.import / dishonesty_record.import), one event (subjects.imported /
records.imported) and a TierChange (cause "import") for every subject already in
the register whose effective tier or blacklisting the batch moved. The tiers are
compared for the whole batch at once (`plugin.credit.tiers.credit_states`), never
subject by subject.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import hashlib
import io
import json
import re
from typing import Iterable, Iterator

from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import GENERAL, SEVERE, DishonestyRecord, Subject, TierScheme
from plugin.credit.tiers import active_scheme
from plugin.db import in_list, now
from plugin.work import Actor, unit_of_work

BATCH = 5000
SUBJECT_FIELDS = ("code", "name", "tier")
#: optional subject columns: the contact the credit library holds (activation codes and binding
#: notices go there). A column left out keeps what is stored; an empty value clears it.
CONTACT_FIELDS = ("contact_email", "contact_phone")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
RECORD_FIELDS = ("code", "severity", "reason", "authority", "start", "end")
SEVERITY_ALIASES = {SEVERE: SEVERE, GENERAL: GENERAL, "severe": SEVERE, "general": GENERAL}


class BadRow(ValueError):
    pass


@dataclasses.dataclass
class ImportReport:
    imported: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    problems: list[tuple] = dataclasses.field(default_factory=list)   # (line, reason, *the row's values)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, reason: str, values=()) -> None:
        self.errors.append(f"line {line}: {reason}")
        self.problems.append((line, reason, *values))

    def to_csv(self) -> str:
        """The bad rows as CSV (line, reason, the row as read), for whoever fixes the export. The
        rows come from outside, so every cell is escaped against formula injection (`plugin.spreadsheet`)."""
        from plugin.spreadsheet import to_csv
        return to_csv(("行号 line", "问题 reason", "原始数据 values"), self.problems)


def read_rows(stream: io.TextIOBase, fields: tuple[str, ...], report: ImportReport,
              fmt: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row dict) from CSV or JSON lines; malformed lines go to the report."""
    first = stream.readline().lstrip("\ufeff")
    if fmt is None:
        fmt = "jsonl" if first.lstrip().startswith("{") else "csv"
    if fmt == "jsonl":
        for number, line in enumerate([first], start=1) if first else ():
            yield from _json_line(number, line, report)
        for number, line in enumerate(stream, start=2):
            yield from _json_line(number, line, report)
        return
    header = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first]))] if first else []
    missing = [f for f in fields if f not in header and f != "end"]
    if missing:
        report.error(1, f"header lacks column(s) {', '.join(missing)}; expected {','.join(fields)}")
        return
    reader = csv.reader(stream)
    for values in reader:
        number = reader.line_num + 1
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(header):
            report.error(number, f"expected {len(header)} columns, found {len(values)}", values)
            continue
        yield number, dict(zip(header, values))


def _json_line(number: int, line: str, report: ImportReport):
    if not line.strip():
        return
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        report.error(number, f"not valid JSON ({e.msg})")
        return
    if not isinstance(row, dict):
        report.error(number, "a line must be a JSON object")
        return
    yield number, {k: "" if v is None else str(v) for k, v in row.items()}


def _batches(rows: Iterable, size: int = BATCH):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def contact_problem(field: str, value: str) -> str | None:
    """What is wrong with a contact value (None when it is fine or empty)."""
    if not value:
        return None
    if field == "contact_email":
        if len(value) > 200 or not EMAIL.fullmatch(value):
            return f"contact_email {value!r} is not an email address（联系邮箱格式不正确）"
        return None
    digits = sum(c.isdigit() for c in value)
    if len(value) > 32 or digits < 7 or not all(c.isdigit() or c in "-+ ()" for c in value):
        return f"contact_phone {value!r} is not a phone number（联系电话格式不正确）"
    return None


IMPORT = "import"


def _actor(actor) -> Actor:
    return actor if actor is not None else Actor.system("import")


def import_subjects(stream, source: str = "信用平台导入", fmt: str | None = None,
                    scheme: TierScheme | None = None, actor: Actor | None = None) -> ImportReport:
    """Upsert subjects by code from rows ``code,name,tier`` (tier: a code of the active scheme), with
    the optional columns ``contact_email`` and ``contact_phone``."""
    report = ImportReport()
    actor = _actor(actor)
    scheme = scheme or active_scheme()
    tiers = {t.code: t.id for t in scheme.tiers}
    tier_list = "、".join(sorted(tiers))

    def parsed():
        for line, row in read_rows(stream, SUBJECT_FIELDS, report, fmt):
            try:
                code, kind = validate_subject_code(row.get("code", ""))
            except InvalidCode as e:
                report.error(line, str(e), row.values())
                continue
            name = (row.get("name") or "").strip()
            if not name:
                report.error(line, "name is empty（名称为空）", row.values())
                continue
            tier_code = (row.get("tier") or "").strip()
            if tier_code and tier_code not in tiers:
                report.error(line, f"unknown tier {tier_code!r} in scheme {scheme.name}（可用：{tier_list}）",
                             row.values())
                continue
            contacts = {f: " ".join((row.get(f) or "").split()) for f in CONTACT_FIELDS if f in row}
            problem = next((p for p in (contact_problem(f, v) for f, v in contacts.items()) if p), None)
            if problem:
                report.error(line, problem)
                continue
            yield {"code": code, "name": name[:200], "kind": kind, "tier": tiers.get(tier_code),
                   "source": source, **{f: v or None for f, v in contacts.items()}}

    stamp = now()
    for batch in _batches(parsed()):
        unique = {row["code"]: row | {"tier_updated_at": stamp, "created_at": stamp} for row in batch}
        # rows with and without contact columns are upserted apart: a column a row does not carry
        # keeps its stored value
        groups: dict[tuple, list] = {}
        for row in unique.values():
            groups.setdefault(tuple(f for f in CONTACT_FIELDS if f in row), []).append(row)
        with unit_of_work(actor, IMPORT) as unit:
            # the subjects already registered: a new tier may move them (a new subject moves from nothing)
            known = [i for (i,) in Subject.select(Subject.id).where(in_list(Subject.code, unique)).tuples()]
            unit.watch_credit_many(known, cause=IMPORT, reason=f"信用平台导入信用等级（{source}）")
            for present, rows in groups.items():
                (Subject.insert_many(rows)
                 .on_conflict(conflict_target=[Subject.code],
                              preserve=[Subject.name, Subject.kind, Subject.tier, Subject.source,
                                        Subject.tier_updated_at] + [getattr(Subject, f) for f in present])
                 .execute())
            unit.audit("subject.import", rows=len(unique), source=source)
            unit.emit("subjects.imported", rows=len(unique), source=source)
        report.imported += len(unique)
    return report


def record_fingerprint(code: str, severity: str, authority: str, start: _dt.date, reason: str) -> str:
    text = "\x1f".join((code, severity, authority, start.isoformat(), reason))
    return hashlib.sha256(text.encode()).hexdigest()


def _date(value: str, what: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadRow(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def import_dishonesty(stream, fmt: str | None = None, actor: Actor | None = None) -> ImportReport:
    """Add dishonesty records from rows ``code,severity,reason,authority,start,end``.

    A record already imported (same subject, severity, authority, start and reason) is not
    added twice; its end date is updated.
    """
    report = ImportReport()
    actor = _actor(actor)

    def parsed():
        for line, row in read_rows(stream, RECORD_FIELDS, report, fmt):
            try:
                code, _kind = validate_subject_code(row.get("code", ""))
                severity = SEVERITY_ALIASES.get((row.get("severity") or "").strip())
                if severity is None:
                    raise BadRow(f"severity {row.get('severity')!r} must be 一般 or 严重")
                reason = (row.get("reason") or "").strip()
                authority = (row.get("authority") or "").strip()
                if not reason or not authority:
                    raise BadRow("reason and authority are required（失信事由和认定机关必填）")
                start = _date(row.get("start") or "", "start")
                end = _date(row["end"], "end") if (row.get("end") or "").strip() else None
                if end and end < start:
                    raise BadRow(f"end {end} is before start {start}")
            except (InvalidCode, BadRow) as e:
                report.error(line, str(e), row.values())
                continue
            yield line, {"code": code, "severity": severity, "reason": reason, "authority": authority,
                         "start": start, "end": end}

    for batch in _batches(parsed()):
        codes = {row["code"] for _, row in batch}
        ids = dict(Subject.select(Subject.code, Subject.id).where(Subject.code.in_(codes)).tuples())
        rows = {}
        for line, row in batch:
            subject_id = ids.get(row["code"])
            if subject_id is None:
                report.error(line, f"subject {row['code']} is not in the subject register（信用主体不存在）",
                             (row["code"], row["severity"], row["reason"], row["authority"], row["start"], row["end"] or ""))
                continue
            fp = record_fingerprint(row["code"], row["severity"], row["authority"], row["start"],
                                    row["reason"])
            rows[fp] = {"subject": subject_id, "severity": row["severity"], "reason": row["reason"],
                        "authority": row["authority"], "start": row["start"], "end": row["end"],
                        "fingerprint": fp, "created_at": now()}
        if not rows:
            continue
        with unit_of_work(actor, IMPORT) as unit:
            unit.watch_credit_many(sorted({row["subject"] for row in rows.values()}), cause=IMPORT,
                                   reason="信用平台导入失信记录")
            (DishonestyRecord.insert_many(list(rows.values()))
             .on_conflict(conflict_target=[DishonestyRecord.fingerprint],
                          preserve=[DishonestyRecord.end])
             .execute())
            unit.audit("dishonesty_record.import", rows=len(rows))
            unit.emit("records.imported", rows=len(rows))
        report.imported += len(rows)
    return report
