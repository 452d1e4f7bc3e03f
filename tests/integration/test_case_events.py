"""A case's domain events (plugin.applications.events): written to the outbox with the change they
announce, by the unit of work that makes it, and never by a change that was refused."""
from __future__ import annotations

import datetime as _dt
import json
from zoneinfo import ZoneInfo

import pytest

from helpers import actor_for, demo_code, matter_with, new_subject, values_for, work_through
from plugin import work
from plugin.accounts import StaffUser
from plugin.applications import events, materials, service
from plugin.applications.models import AuditEntry
from plugin.engine.scripting import frozen_clock
from plugin.supervision import service as supervision
from plugin.supervision.models import SupervisionItem

SHANGHAI = ZoneInfo("Asia/Shanghai")


def outbox(number: str) -> list[tuple[str, dict]]:
    rows = (work.DomainEvent.select().where(work.DomainEvent.case_number == number)
            .order_by(work.DomainEvent.id))
    return [(e.name, json.loads(e.payload)) for e in rows]


def test_an_instant_approval_announces_its_submission_and_its_decision(seeded):
    seen = []
    work.subscribe(events.DECIDED, seen.append)
    subject = new_subject("red", seed=41)
    matter = matter_with("instant_approval", negative=False)
    app = service.apply(matter.code, subject.code)
    assert app.status == "approved"
    assert outbox(app.number) == [
        ("case.submitted", {"matter": matter.code, "tier": "red", "status": "accepted"}),
        ("case.decided", {"matter": matter.code, "decision": "approved", "status": "approved", "path": "instant",
                          "tier": "red"}),
    ]
    [row] = work.DomainEvent.select().where((work.DomainEvent.case_number == app.number)
                                            & (work.DomainEvent.name == events.DECIDED))
    assert row.subject_code == subject.code and row.delivered_at is None and row.attempts == 0
    assert [e["case_number"] for e in seen if e["case_number"] == app.number] == [app.number]


def test_a_refusal_by_the_negative_list_is_a_submission_with_its_reason(seeded):
    matter = matter_with("standard_review", negative=True)
    app = service.apply(matter.code, demo_code("black", "严重"))
    assert app.status == "refused"
    [(name, payload)] = outbox(app.number)
    assert name == "case.submitted" and payload["status"] == "refused" and payload["reason"] == app.refusal_reason


def test_a_reviewed_case_is_decided_once_when_its_last_task_decides(seeded):
    app = service.apply(matter_with("standard_review").code, new_subject("blue", seed=42).code)
    assert [name for name, _p in outbox(app.number)] == ["case.submitted"]
    case, done = work_through(app)
    assert case.status == "approved" and len(done) >= 2
    assert [name for name, _p in outbox(app.number)] == ["case.submitted", "case.decided"]
    assert outbox(app.number)[-1][1] == {"matter": case.matter.code, "decision": "approved", "status": "approved",
                                         "path": "standard", "tier": "blue"}


def test_a_task_completion_that_conflicts_announces_nothing(seeded):
    app = service.apply(matter_with("standard_review").code, new_subject("blue", seed=43).code)
    [task] = service.ready_tasks(app)
    before = work.DomainEvent.select().count(), AuditEntry.select().count()
    with pytest.raises(service.Conflict):
        service.complete_task(app.number, task["id"], values_for(task), actor_for(app, "reviewer"),
                              expected_version=app.version - 1)
    assert (work.DomainEvent.select().count(), AuditEntry.select().count()) == before


def test_a_failed_verification_announces_the_revocation(seeded):
    subject = new_subject("orange", seed=44)
    app = service.apply(matter_with("commitment", negative=False).code, subject.code)
    [task] = service.ready_tasks(app)
    _kind, text = service.pending_commitment(app, task)
    service.complete_applicant_task(app.number, task["id"], values_for(task), actor_for(app, "applicant"),
                                    shown_sha256=materials.text_hash(text))
    [item] = SupervisionItem.select().where(SupervisionItem.application == app.id)
    user = StaffUser.get(StaffUser.username == "supervisor")
    supervision.record_result(item.id, False, "经营场所与承诺不符", service.Actor.staff(user.username, user.role))
    name, payload = outbox(app.number)[-1]
    assert name == "case.revoked"
    assert (payload["cause"], payload["path"], payload["tier"]) == ("verification", "commitment", "orange")
    assert "经营场所与承诺不符" in payload["reason"]


def test_a_missed_supplement_announces_the_revocation(seeded):
    subject = new_subject("orange", seed=45)
    app = service.apply(matter_with("tolerance", negative=False).code, subject.code)
    with frozen_clock(_dt.datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)):
        for _ in range(3):
            [task] = service.ready_tasks(service.get(app.number))
            service.complete_task(app.number, task["id"], values_for(task), actor_for(app, task["lane"]))
    assert [name for name, _p in outbox(app.number)] == ["case.submitted", "case.decided"]
    assert service.tick().fired == 1
    name, payload = outbox(app.number)[-1]
    assert (name, payload["cause"], payload["path"]) == ("case.revoked", "supplement", "tolerance")
