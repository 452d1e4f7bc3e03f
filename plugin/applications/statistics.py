"""Figures for the dashboard (智能看板), computed with aggregate SQL.

Every figure is a GROUP BY or a COUNT over the case table (with the matter joined where its
legal time limit is needed); no query loads one row per case. Working days come from the
calendar, applied once per distinct (submission day, decision day) pair rather than per case.

"Overdue" and "due soon" concern the promised deadline of a case still waiting for its
decision (`progress.AWAITING_DECISION`): a case that was decided, refused or returned is not
overdue whatever its due date. A case is overdue when its due date is before today, and due
soon when at most two working days are left (the due day itself included).
"""
from __future__ import annotations

import collections
import datetime as _dt

import peewee as pw

from plugin import clock
from plugin.applications.models import APPROVED, DRAFT, STATUSES, Application
from plugin.applications.progress import AWAITING_DECISION, PATHS, business_today
from plugin.calendar import WorkingCalendar
from plugin.catalog.models import Matter
from plugin.credit.models import Subject
from plugin.credit.tiers import active_scheme_info, schemes
from plugin.db import is_postgres

DUE_SOON_DAYS = 2
DAILY_DAYS = 30
LIST_LIMIT = 20


def _offset_minutes() -> int:
    """Minutes between stored UTC timestamps and the business time zone (see progress.business_today)."""
    return int(clock.now().utcoffset().total_seconds() // 60)


def _local_day(field: pw.Field):
    """SQL for the business-zone date of a stored UTC timestamp."""
    minutes = _offset_minutes()
    if is_postgres():
        return pw.fn.DATE(field + pw.SQL(f"INTERVAL '{minutes} minutes'")).coerce(False)
    return pw.fn.DATE(field, f"{minutes:+d} minutes").coerce(False)


def _as_date(value) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if value is None or isinstance(value, _dt.date):
        return value
    return _dt.date.fromisoformat(str(value)[:10])


def _utc_start_of(day: _dt.date) -> _dt.datetime:
    """The stored (naive UTC) timestamp at which business day `day` begins."""
    return _dt.datetime.combine(day, _dt.time()) - _dt.timedelta(minutes=_offset_minutes())


def due_soon_limit(today: _dt.date, calendar: WorkingCalendar | None = None) -> _dt.date:
    """Due dates before this day have at most DUE_SOON_DAYS working days left."""
    return (calendar or WorkingCalendar()).add_working_days(today, DUE_SOON_DAYS + 1)


def overdue_clause(today: _dt.date):
    return Application.status.in_(AWAITING_DECISION) & (Application.due_date < today)


def due_soon_clause(today: _dt.date, calendar: WorkingCalendar | None = None):
    return (Application.status.in_(AWAITING_DECISION) & (Application.due_date >= today)
            & (Application.due_date < due_soon_limit(today, calendar)))


def _case_list(clause, order) -> list[dict]:
    query = (Application.select(Application.id, Application.number, Application.status, Application.tier_code,
                                Application.due_date, Matter.id, Matter.name, Subject.id, Subject.name)
             .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
             .join(Subject, on=(Application.subject == Subject.id))
             .where(clause).order_by(*order).limit(LIST_LIMIT))
    return [{"number": a.number, "matter": a.matter.name, "applicant": a.subject.name,
             "tier_code": a.tier_code, "status": a.status, "due_date": a.due_date} for a in query]


def _tier_rows(counts: dict[str, int]) -> list[dict]:
    """Counts by tier code, best tier of the active scheme first, with its label and colour."""
    try:
        active = active_scheme_info()
    except RuntimeError:
        active = None
    known = {}
    for scheme in schemes().values():  # codes of other schemes, for cases snapshotted under them
        for tier in scheme.tiers:
            known.setdefault(tier.code, tier)
    if active is not None:
        known.update({t.code: t for t in active.tiers})
    order = [t.code for t in reversed(active.tiers)] if active is not None else []
    rows = []
    for code in order + sorted(c for c in counts if c not in order):
        tier = known.get(code)
        rows.append({"code": code, "label": tier.label if tier else code,
                     "colour": tier.colour if tier else "#999999", "count": counts.get(code, 0)})
    return rows


def dashboard_figures(today: _dt.date | None = None) -> dict:
    """Everything the dashboard shows, as plain data. `today` is a business-zone date."""
    today = today or business_today()
    calendar = WorkingCalendar()

    # One pass over the cases for the counts by status, tier, approved path and deadline.
    deadline = pw.Case(None, [(overdue_clause(today), "overdue"), (due_soon_clause(today, calendar), "soon")], "")
    status_counts: collections.Counter = collections.Counter()
    tier_counts: collections.Counter = collections.Counter()
    approved_paths: collections.Counter = collections.Counter()
    deadlines: collections.Counter = collections.Counter()
    for status, tier, path, decision, due, n in (
            Application.select(Application.status, Application.tier_code, Application.path, Application.decision,
                               deadline.alias("deadline"), pw.fn.COUNT(Application.id))
            .group_by(pw.SQL("1, 2, 3, 4, 5")).tuples()):  # by position: PostgreSQL would not match
        status_counts[status] += n                            # the CASE's parameters to the select's
        tier_counts[tier] += n
        if decision == APPROVED:
            approved_paths[path] += n
        deadlines[due] += n
    by_status = [{"status": s, "label": label, "count": status_counts.get(s, 0)}
                 for s, label in STATUSES.items() if s != DRAFT or status_counts.get(s)]
    total = sum(status_counts.values())
    approved = sum(approved_paths.values())
    instant = approved_paths.get("instant", 0)
    overdue_count, due_soon_count = deadlines["overdue"], deadlines["soon"]

    # Working days from submission to decision: one calendar count per distinct pair of days.
    submitted_day, decided_day = _local_day(Application.submitted_at), _local_day(Application.decided_at)
    groups = (Application.select(Application.path, submitted_day.alias("s"), decided_day.alias("d"),
                                 pw.fn.COUNT(Application.id).alias("n"),
                                 pw.fn.SUM(Matter.legal_days).alias("legal"))
              .join(Matter, on=(Application.matter == Matter.id))
              .where(Application.decided_at.is_null(False) & Application.decision.is_null(False))
              .group_by(Application.path, submitted_day, decided_day).tuples())
    timing: dict[str, dict] = {}
    taken_cache: dict[tuple, int] = {}
    for path, s, d, n, legal in groups:
        pair = (_as_date(s), _as_date(d))
        if pair not in taken_cache:
            taken_cache[pair] = calendar.working_days_between(*pair)
        row = timing.setdefault(path or "", {"cases": 0, "taken": 0, "legal": 0})
        row["cases"] += n
        row["taken"] += taken_cache[pair] * n
        row["legal"] += int(legal or 0)
    by_path = []
    for path in list(PATHS) + sorted(p for p in timing if p not in PATHS):
        row = timing.get(path)
        if not row:
            continue
        by_path.append({"path": path, "label": PATHS.get(path, path or "—"), "cases": row["cases"],
                        "avg_taken": row["taken"] / row["cases"], "avg_legal": row["legal"] / row["cases"],
                        "saved": row["legal"] - row["taken"]})
    decided = sum(r["cases"] for r in by_path)

    first_day = today - _dt.timedelta(days=DAILY_DAYS - 1)
    day = _local_day(Application.submitted_at)
    per_day = {_as_date(d): n for d, n in
               Application.select(day, pw.fn.COUNT(Application.id))
               .where((Application.submitted_at >= _utc_start_of(first_day))
                      & (Application.submitted_at < _utc_start_of(today + _dt.timedelta(days=1))))
               .group_by(day).tuples()}
    daily = [{"day": first_day + _dt.timedelta(days=i),
              "count": per_day.get(first_day + _dt.timedelta(days=i), 0)} for i in range(DAILY_DAYS)]

    return {
        "today": today,
        "total": total,
        "by_status": by_status,
        "by_tier": _tier_rows(tier_counts),
        "approved": approved,
        "instant": instant,
        "instant_rate": instant / approved if approved else None,
        "overdue_count": overdue_count,
        "overdue": _case_list(overdue_clause(today), (Application.due_date, Application.id)),
        "due_soon_count": due_soon_count,
        "due_soon": _case_list(due_soon_clause(today, calendar), (Application.due_date, Application.id)),
        "due_soon_limit": due_soon_limit(today, calendar),
        "by_path": by_path,
        "decided": decided,
        "days_saved": sum(r["saved"] for r in by_path),
        "daily": daily,
    }
