"""Timers (`xinyipi tick`, DESIGN §3.8): fire the due timers of every case, each case in a unit of
work of its own, so that one case's conflict or error leaves the others fired.
"""
from __future__ import annotations

import dataclasses

from plugin.applications import incidents, lifecycle
from plugin.applications.errors import ApplicationError, Conflict
from plugin.applications.lifecycle import Trail
from plugin.applications.models import FINAL, REVOKED, Application
from plugin.db import database, is_postgres
from plugin.engine import runtime
from plugin.work import Actor, unit_of_work


@dataclasses.dataclass
class TickReport:
    checked: int = 0
    fired: int = 0
    revoked: int = 0
    conflicts: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def _due_query(limit: int, exclude: set[int]):
    query = (Application.select()
             .where(Application.next_due_at.is_null(False) & (Application.next_due_at <= runtime.business_utc())
                    & Application.status.not_in(list(FINAL)))
             .order_by(Application.next_due_at).limit(limit))
    return query.where(Application.id.not_in(list(exclude))) if exclude else query


def _fire(app: Application, report: TickReport, unit) -> None:
    """Fire the due timers of one case, in `unit`."""
    version = app.version
    workflow = lifecycle.load_workflow(app)
    before = runtime.timer_due_times(workflow)
    runtime.fire_timers(workflow)
    if runtime.timer_due_times(workflow) == before:
        return  # nothing was due yet after all
    system = Actor.system()
    before = app.status
    trail = Trail(app)
    lifecycle.apply_outcome(app, workflow, system, "timer_fired", trail)
    lifecycle.consequences(app, workflow, before, system, trail)
    lifecycle.save(app, workflow, version)
    trail.write(unit)
    lifecycle.sync_tasks(app, workflow)
    report.fired += 1
    report.revoked += app.status == REVOKED and before != REVOKED


def tick(limit: int = 100) -> TickReport:
    """Fire every timer that is due. Safe to run from several processes at once: on PostgreSQL
    each ticker locks the rows it takes (SKIP LOCKED, so the others pass them by), and each case's
    unit is a savepoint inside that locking transaction; everywhere the version counter refuses a
    second firing."""
    report = TickReport()
    seen: set[int] = set()
    while True:
        if is_postgres():
            with database.atomic():
                batch = list(_due_query(limit, seen).for_update("FOR UPDATE SKIP LOCKED"))
                for app in batch:
                    seen.add(app.id)
                    _tick_one(app, report)
        else:
            batch = list(_due_query(limit, seen))
            for app in batch:
                seen.add(app.id)
                _tick_one(app, report)
        if len(batch) < limit:
            return report


def _tick_one(app: Application, report: TickReport) -> None:
    report.checked += 1
    try:
        with unit_of_work(Actor.system(), "tick") as unit:
            _fire(app, report, unit)
    except Conflict:
        report.conflicts += 1
    except (runtime.EngineError, ApplicationError) as e:
        if isinstance(e, runtime.EngineError):
            incidents.record("timer", str(e), application=app)
        report.errors.append(f"{app.number}: {e}")
