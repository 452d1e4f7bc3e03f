"""The effective tier: computed here and nowhere else ("逢报必查").

The effective tier starts from the subject's imported tier (mapped onto the
active scheme when it was imported under another one, or the scheme's default
tier when the subject has none), and an active severe dishonesty record caps it
at the worst tier and puts the subject on the blacklist. General (一般) records
do not move the tier, but they count as a dishonesty record: diagrams see them
as `has_dishonesty_record`, and the negative list may close matters on them.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math

import peewee as pw

from plugin import clock
from plugin.credit.models import SEVERE, DishonestyRecord, Subject, Tier, TierScheme
from plugin.db import ReferenceCache, in_list


class NoActiveScheme(RuntimeError):
    def __init__(self):
        super().__init__("没有启用的信用等级体系：请在“信用等级体系”中启用一个（或运行 xinyipi seed）")


@dataclasses.dataclass(frozen=True)
class TierInfo:
    id: int
    scheme_id: int
    code: str
    label: str
    colour: str
    rank: int


@dataclasses.dataclass(frozen=True)
class SchemeInfo:
    """A tier scheme and its tiers, worst first (index = rank)."""

    id: int
    code: str
    name: str
    default_tier_code: str
    active: bool
    tiers: tuple[TierInfo, ...]

    @property
    def ranks(self) -> dict[str, int]:
        return {t.code: t.rank for t in self.tiers}

    def tier(self, code: str) -> TierInfo | None:
        return next((t for t in self.tiers if t.code == code), None)


_schemes = ReferenceCache()


def _load_schemes() -> dict[int, SchemeInfo]:
    tiers: dict[int, list[TierInfo]] = {}
    for t in Tier.select().order_by(Tier.rank):
        tiers.setdefault(t.scheme_id, []).append(
            TierInfo(t.id, t.scheme_id, t.code, t.label, t.colour, t.rank))
    return {s.id: SchemeInfo(s.id, s.code, s.name, s.default_tier_code, s.active, tuple(tiers.get(s.id, ())))
            for s in TierScheme.select()}


def schemes() -> dict[int, SchemeInfo]:
    """Every scheme with its tiers, by id (cached; see ReferenceCache)."""
    return _schemes.get("all", _load_schemes)


def tier_info(tier_id: int) -> TierInfo:
    """The tier with id `tier_id`, of any scheme (re-reading once if it is newer than the cache)."""
    for _ in range(2):
        for scheme in schemes().values():
            for tier in scheme.tiers:
                if tier.id == tier_id:
                    return tier
        _schemes.clear()
    raise LookupError(f"信用等级 {tier_id} 不存在")


def active_scheme_info() -> SchemeInfo:
    found = next((s for s in schemes().values() if s.active and s.tiers), None)
    if found is None:
        raise NoActiveScheme()
    return found


def active_scheme() -> TierScheme:
    scheme = TierScheme.get_or_none(TierScheme.active == True)  # noqa: E712
    if scheme is None:
        raise NoActiveScheme()
    return scheme


def activate_scheme(code: str) -> TierScheme:
    """Make the scheme `code` the only active one."""
    scheme = TierScheme.get(TierScheme.code == code)
    with TierScheme._meta.database.atomic():
        TierScheme.update(active=False).where(TierScheme.id != scheme.id).execute()
        TierScheme.update(active=True).where(TierScheme.id == scheme.id).execute()
    ReferenceCache.clear_all()
    scheme.active = True
    return scheme


def map_tier(tier: TierInfo, scheme: SchemeInfo) -> TierInfo:
    """Map a tier of another scheme onto `scheme` by its relative position (best↔best, worst↔worst)."""
    if tier.scheme_id == scheme.id:
        return tier
    source_top = len(schemes()[tier.scheme_id].tiers) - 1
    target_top = len(scheme.tiers) - 1
    # ties go down (a middle tier maps to the lower of two candidates), never up by banker's rounding
    rank = tier.rank if source_top == 0 else math.floor(tier.rank * target_top / source_top + 0.5 - 1e-9)
    return scheme.tiers[rank]


@dataclasses.dataclass(frozen=True)
class EffectiveTier:
    """A subject's effective tier at one moment, and why."""

    subject_code: str
    subject_name: str
    subject_kind: str
    scheme: str
    code: str
    label: str
    colour: str
    rank: int
    top_rank: int
    imported: str | None
    source: str
    updated_at: str | None
    blacklisted: bool
    has_dishonesty_record: bool
    records: tuple[dict, ...]
    reasons: tuple[str, ...]
    checked_at: str
    scheme_ranks: dict = dataclasses.field(default_factory=dict, hash=False)

    def at_least(self, rank: int) -> bool:
        return self.rank >= rank

    @property
    def is_worst(self) -> bool:
        return self.rank == 0

    def snapshot(self) -> dict:
        """What is stored on every application: the credit check as it was."""
        data = dataclasses.asdict(self)
        data["records"] = list(self.records)
        data["reasons"] = list(self.reasons)
        return data


def _record_dict(r: DishonestyRecord) -> dict:
    return {"id": r.id, "severity": r.severity, "reason": r.reason, "authority": r.authority,
            "start": r.start.isoformat(), "end": r.end.isoformat() if r.end else None}


_SUBJECT_FIELDS = list(Subject._meta.sorted_fields)
_RECORD_FIELDS = list(DishonestyRecord._meta.sorted_fields)
_DAY_SLOT, _CODE_SLOT = _dt.date(1900, 1, 2), "\x00subject-code"
_statements: dict[type, tuple[str, tuple[str, ...]]] = {}


def _hydrate(model, fields, values):
    instance = model(**{f.name: f.python_value(v) for f, v in zip(fields, values)})
    instance._dirty.clear()
    return instance


def _subject_with_records_statement(db) -> tuple[str, tuple[str, ...]]:
    """The SQL of the subject+active-records query, built by peewee once per kind of database
    (from `DishonestyRecord.active_clause`, the one definition of an active record), and which
    parameter slot takes the day and which the code."""
    found = _statements.get(type(db))
    if found is None:
        query = (Subject.select(Subject, DishonestyRecord)
                 .join(DishonestyRecord, pw.JOIN.LEFT_OUTER,
                       on=((DishonestyRecord.subject == Subject.id) & DishonestyRecord.active_clause(_DAY_SLOT)))
                 .where(Subject.code == _CODE_SLOT).order_by(DishonestyRecord.start))
        sql, params = query.sql()
        day = DishonestyRecord.start.db_value(_DAY_SLOT)
        slots = tuple("code" if p == _CODE_SLOT else "day" for p in params)
        assert all(p == _CODE_SLOT or p == day for p in params), params
        found = _statements[type(db)] = (sql, slots)
    return found


def subject_with_records(code: str, on: _dt.date | None = None):
    """(subject, its records active on `on`) in one query, or (None, []) for an unknown code.

    Runs on every application, so its SQL is built once rather than by peewee on every call.
    """
    on = on or clock.today()
    db = Subject._meta.database.obj
    sql, slots = _subject_with_records_statement(db)
    day = DishonestyRecord.start.db_value(on)
    rows = db.execute_sql(sql, [code if slot == "code" else day for slot in slots]).fetchall()
    if not rows:
        return None, []
    n = len(_SUBJECT_FIELDS)
    subject = _hydrate(Subject, _SUBJECT_FIELDS, rows[0][:n])
    records = [_hydrate(DishonestyRecord, _RECORD_FIELDS, row[n:]) for row in rows if row[n] is not None]
    return subject, records


def _scheme_info(scheme: TierScheme | SchemeInfo | None) -> SchemeInfo:
    if scheme is None:
        return active_scheme_info()
    if isinstance(scheme, TierScheme):
        return schemes()[scheme.id]
    return scheme


def _base_tier(tier_id: int | None, scheme: SchemeInfo) -> TierInfo:
    """The tier a subject has under `scheme` before its records count: its imported tier (mapped
    onto `scheme` when it was imported under another), or the scheme's default tier."""
    if tier_id is None:
        return scheme.tier(scheme.default_tier_code) or scheme.tiers[len(scheme.tiers) // 2]
    return map_tier(tier_info(tier_id), scheme)


def _caps(severity: str) -> bool:
    """Whether an active record of this severity caps the tier at the worst and blacklists."""
    return severity == SEVERE


@dataclasses.dataclass(frozen=True)
class CreditState:
    """What a tier change compares: a subject's effective tier code and blacklisting under a scheme."""

    subject_code: str
    scheme: str
    tier: str
    blacklisted: bool


def credit_states(subject_ids, on: _dt.date | None = None, scheme: TierScheme | SchemeInfo | None = None,
                  ) -> dict[int, CreditState]:
    """The effective tier (code and blacklisting) of many subjects at once, by subject id: the same
    rule as `effective_tier`, in two queries per 5,000 subjects instead of one or two per
    subject (units of work compare these before and after a change, imports for a whole batch).
    Unknown ids are left out."""
    on = on or clock.today()
    scheme = _scheme_info(scheme)
    worst = scheme.tiers[0]
    ids = list(dict.fromkeys(subject_ids))
    out: dict[int, CreditState] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        capped = {sid for sid, severity in DishonestyRecord.select(DishonestyRecord.subject, DishonestyRecord.severity)
                  .where(in_list(DishonestyRecord.subject, chunk) & DishonestyRecord.active_clause(on)).tuples()
                  if _caps(severity)}
        for sid, code, tier_id in Subject.select(Subject.id, Subject.code, Subject.tier).where(
                in_list(Subject.id, chunk)).tuples():
            blacklisted = sid in capped
            tier = worst if blacklisted else _base_tier(tier_id, scheme)
            out[sid] = CreditState(code, scheme.code, tier.code, blacklisted)
    return out


def effective_tier(subject: Subject, on: _dt.date | None = None,
                   scheme: TierScheme | SchemeInfo | None = None,
                   records: list[DishonestyRecord] | None = None) -> EffectiveTier:
    """The effective tier of `subject` under the active scheme (or `scheme`) on date `on` (today).

    `records` are the subject's records active on `on`, when the caller already has them
    (see `subject_with_records`).
    """
    on = on or clock.today()
    scheme = _scheme_info(scheme)
    tiers = scheme.tiers
    worst, top = tiers[0], tiers[-1]
    reasons: list[str] = []

    if subject.tier_id is None:
        tier = _base_tier(None, scheme)
        reasons.append(f"未导入信用等级，按{scheme.name}默认等级“{tier.label}”")
        imported = None
    else:
        imported_tier = tier_info(subject.tier_id)
        imported = imported_tier.code
        tier = _base_tier(subject.tier_id, scheme)
        if tier.id != imported_tier.id:
            reasons.append(f"导入等级“{imported_tier.label}”属于{schemes()[imported_tier.scheme_id].name}，"
                           f"按相对位置对应为“{tier.label}”")
        else:
            reasons.append(f"导入等级“{tier.label}”（来源：{subject.source or '未注明'}）")

    if records is None:
        records = list(DishonestyRecord.select().where((DishonestyRecord.subject == subject.id)
                                                       & DishonestyRecord.active_clause(on))
                       .order_by(DishonestyRecord.start))
    severe = [r for r in records if _caps(r.severity)]
    if severe:
        if tier.id != worst.id:
            reasons.append(f"存在 {len(severe)} 条生效的严重失信记录，等级降为“{worst.label}”")
        else:
            reasons.append(f"存在 {len(severe)} 条生效的严重失信记录")
        reasons.append("列入严重失信主体名单")
        tier = worst
    general = len(records) - len(severe)
    if general:
        reasons.append(f"存在 {general} 条生效的一般失信记录（不适用容缺受理和告知承诺的事项可能受限）")

    return EffectiveTier(
        subject_code=subject.code, subject_name=subject.name, subject_kind=subject.kind,
        scheme=scheme.code, code=tier.code, label=tier.label, colour=tier.colour,
        rank=tier.rank, top_rank=top.rank, imported=imported, source=subject.source,
        updated_at=subject.tier_updated_at.isoformat() if subject.tier_updated_at else None,
        blacklisted=bool(severe), has_dishonesty_record=bool(records),
        records=tuple(_record_dict(r) for r in records), reasons=tuple(reasons),
        checked_at=clock.now().isoformat(timespec="seconds"),
        scheme_ranks=scheme.ranks,
    )
