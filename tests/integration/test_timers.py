"""Timers: working-day deadlines, `tick` firing what is due, breach, and concurrent tickers."""
from __future__ import annotations

import datetime as _dt
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo


from helpers import actor_for, demo_code, matter_with, new_subject, values_for
from plugin import db as dbmod
from plugin.applications import service
from plugin.applications.models import Application, AuditEntry, HumanTask
from plugin.engine.publish import publish
from plugin.engine.scripting import frozen_clock, working_days

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_working_days_in_a_timer_skips_national_day_and_counts_the_adjusted_sunday(seeded):
    # Friday 26 Sep 2025. Official schedule: Sun 28 Sep is a working day; 1–8 Oct are off.
    # Working days after the 26th: 28, 29, 30 Sep, 9, 10 Oct → the 5th is Fri 10 Oct.
    with frozen_clock(_dt.datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)):
        assert working_days(5) == "2025-10-10T23:59:59+08:00"
        assert working_days(3) == "2025-09-30T23:59:59+08:00"


def test_tolerance_supplement_missed_across_the_holiday_is_a_breach(seeded):
    """The approval was given on 26 Sep 2025; the supplement deadline passed long ago → revoked.
    (The deadline and its firing read one clock: at the frozen moment the deadline lies ahead, so
    the supplement is offered; today's tick finds it passed.)"""
    subject = new_subject("orange", seed=11)
    app = service.apply(matter_with("tolerance", negative=False).code, subject.code)
    with frozen_clock(_dt.datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)):
        for _ in range(3):  # 签署容缺受理承诺书, 审查, 决定
            [task] = service.ready_tasks(service.get(app.number))
            service.complete_task(app.number, task["id"], values_for(task), actor_for(app, task["lane"]))
        assert [t["name"] for t in service.ready_tasks(service.get(app.number))] == ["补正容缺材料"]
    assert service.tick().fired == 1
    case = service.get(app.number)
    assert (case.status, case.decision) == ("revoked", "rejected")
    assert case.next_due_at is None
    breach = AuditEntry.get((AuditEntry.application == case) & (AuditEntry.action == "breach"))
    assert breach.to_status == "revoked" and "补正" in breach.detail["reason"]
    assert not HumanTask.select().where((HumanTask.application == case) & (HumanTask.state == "ready")).exists()
    assert service.ready_tasks(case) == []


def test_a_supplement_deadline_in_the_future_is_indexed_and_not_fired(seeded):
    app = service.apply(matter_with("tolerance", negative=False).code, demo_code("orange"))
    for _ in range(3):
        [task] = service.ready_tasks(service.get(app.number))
        service.complete_task(app.number, task["id"], values_for(task), actor_for(app, task["lane"]))
    case = service.get(app.number)
    assert case.status == "approved" and case.next_due_at is not None
    assert case.next_due_at > dbmod.now()
    report = service.tick()
    assert report.fired == 0
    assert [t["name"] for t in service.ready_tasks(service.get(app.number))] == ["补正容缺材料"]


def _reminder_cases(count: int) -> list[str]:
    matter = matter_with("standard_review")
    publish((FIXTURES / "supplement_reminder.bpmn").read_text(encoding="utf-8"), source="test", matter=matter)
    numbers = []
    for i in range(count):
        app = service.apply(matter.code, new_subject("orange", seed=100 + i).code)
        assert app.next_due_at is not None and app.status == "approved"
        numbers.append(app.number)
    return numbers


def test_tick_fires_what_is_due(seeded):
    [number] = _reminder_cases(1)
    time.sleep(1.2)
    report = service.tick()
    assert (report.fired, report.errors) == (1, [])
    case = service.get(number)
    assert case.status == "revoked" and case.next_due_at is None
    assert service.tick().fired == 0  # nothing left


def test_several_tickers_never_fire_a_timer_twice(seeded, database_url):
    numbers = _reminder_cases(12)
    time.sleep(1.2)
    fired: list[int] = []
    errors: list[str] = []

    def ticker():
        try:
            report = service.tick(limit=3)
            fired.append(report.fired)
            errors.extend(report.errors)
        finally:
            if not dbmod.database.is_closed():
                dbmod.database.close()

    threads = [threading.Thread(target=ticker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(fired) == len(numbers)
    for number in numbers:
        case = Application.get(Application.number == number)
        assert case.status == "revoked"
        fires = AuditEntry.select().where((AuditEntry.application == case) & (AuditEntry.action == "timer_fired"))
        assert fires.count() == 1, number


def test_tick_command(seeded, cli_runner):
    _reminder_cases(2)
    time.sleep(1.2)
    result = cli_runner("tick")
    assert result.exit_code == 0, result.output
    assert "fired 2" in result.output
