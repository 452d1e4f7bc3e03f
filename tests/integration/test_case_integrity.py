"""Forms, permissions, stale forms and two people completing one task (SQLite and PostgreSQL)."""
from __future__ import annotations

import threading

import pytest

from helpers import actor_for, demo_code, matter_with, values_for
from plugin import db as dbmod
from plugin import work
from plugin.applications import service
from plugin.applications.models import Application, AuditEntry, HumanTask
from plugin.engine.forms import FormErrors


def _standard_case():
    app = service.apply(matter_with("standard_review").code, demo_code("blue"))
    [task] = service.ready_tasks(app)
    return app, task


def test_form_values_are_validated_one_message_per_field_and_nothing_is_saved(seeded):
    app, task = _standard_case()
    before = (app.version, app.state)
    with pytest.raises(FormErrors) as caught:
        service.complete_task(app.number, task["id"], {"acceptance": "maybe", "opinion": "", "bogus": 1},
                              actor_for(app, "reviewer"))
    errors = caught.value.errors
    assert set(errors) == {"acceptance", "opinion", "bogus"}
    assert "可选值" in errors["acceptance"] and "必填" in errors["opinion"]
    again = service.get(app.number)
    assert (again.version, again.state) == before
    assert AuditEntry.select().where((AuditEntry.application == app)
                                     & (AuditEntry.action == "task_completed")).count() == 0


def test_opinion_longer_than_maxlength_is_refused(seeded):
    app, task = _standard_case()
    opinion = next(f for f in task["fields"] if f["id"] == "opinion")
    assert opinion["maxlength"]
    with pytest.raises(FormErrors) as caught:
        service.complete_task(app.number, task["id"], {"acceptance": "accepted",
                                                       "opinion": "长" * (opinion["maxlength"] + 1)},
                              actor_for(app, "reviewer"))
    assert "最多" in caught.value.errors["opinion"]


def test_only_the_lane_role_may_complete_a_task(seeded):
    app, task = _standard_case()
    values = values_for(task)
    with pytest.raises(service.NotAllowed):
        service.complete_task(app.number, task["id"], values, service.Actor.applicant(app.subject.code))
    with pytest.raises(service.NotAllowed):
        service.complete_task(app.number, task["id"], values, service.Actor.staff("approver", "approver"))
    service.complete_task(app.number, task["id"], values, actor_for(app, "reviewer"))


def test_a_stale_form_gets_a_conflict(seeded):
    app, task = _standard_case()
    service.complete_task(app.number, task["id"], values_for(task), actor_for(app, "reviewer"),
                          expected_version=app.version)
    with pytest.raises(service.Conflict, match="刷新"):
        service.complete_task(app.number, task["id"], values_for(task), actor_for(app, "reviewer"),
                              expected_version=app.version)


def test_completing_a_task_already_done_says_who_did_it(seeded):
    app, task = _standard_case()
    service.complete_task(app.number, task["id"], values_for(task), actor_for(app, "reviewer"))
    with pytest.raises(service.Conflict, match="已由"):
        service.complete_task(app.number, task["id"], values_for(task), actor_for(app, "reviewer"))


def test_two_workers_completing_the_same_task_one_wins(seeded, database_url):
    """Both load the case at the same version; exactly one save lands, the other changes nothing."""
    app, task = _standard_case()
    start_version = app.version
    barrier = threading.Barrier(2)
    outcomes: list = []
    original_transaction = work.write_transaction  # the unit of work opens the case's transaction

    def racing_transaction():
        barrier.wait(timeout=10)  # both have loaded the case and run the task before either writes
        return original_transaction()

    def worker(opinion):
        try:
            service.complete_task(app.number, task["id"], {"acceptance": "accepted", "opinion": opinion},
                                  actor_for(app, "reviewer"))
            outcomes.append(("ok", opinion))
        except service.Conflict as e:
            outcomes.append(("conflict", str(e)))
        finally:
            if not dbmod.database.is_closed():
                dbmod.database.close()

    work.write_transaction = racing_transaction
    try:
        threads = [threading.Thread(target=worker, args=(f"意见{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        work.write_transaction = original_transaction
    kinds = sorted(k for k, _ in outcomes)
    assert kinds == ["conflict", "ok"], outcomes
    winner = next(o for k, o in outcomes if k == "ok")
    case = Application.get(Application.number == app.number)
    assert case.version == start_version + 1
    completed = list(AuditEntry.select().where((AuditEntry.application == case)
                                               & (AuditEntry.action == "task_completed")))
    assert len(completed) == 1 and completed[0].detail["values"]["opinion"] == winner
    rows = list(HumanTask.select().where(HumanTask.application == case).order_by(HumanTask.id))
    assert [(r.name, r.state) for r in rows] == [("受理", "completed"), ("审查", "ready")]
    assert [t["name"] for t in service.ready_tasks(case)] == ["审查"]
