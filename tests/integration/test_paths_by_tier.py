"""End to end: applying to seeded matters, each Haikou tier reaches its path (DESIGN §3.6–3.7)."""
from __future__ import annotations

import json

import pytest

from helpers import add_record, demo_code, matter_with, new_subject, work_through
from plugin.applications import service
from plugin.applications.models import AuditEntry, HumanTask
from plugin.catalog.negative_list import is_on_negative_list
from plugin.credit.models import GENERAL, SEVERE


def test_red_is_approved_instantly_with_no_human_task(seeded):
    matter = matter_with("instant_approval")
    app = service.apply(matter.code, demo_code("red"))
    assert (app.status, app.path, app.decision) == ("approved", "instant", "approved")
    assert HumanTask.select().where(HumanTask.application == app).count() == 0
    actions = [a.action for a in AuditEntry.select().where(AuditEntry.application == app).order_by(AuditEntry.id)]
    assert actions == ["submitted", "accepted", "process_started"]
    snapshot = app.tier_snapshot
    assert snapshot["code"] == "red" and snapshot["scheme"] == "haikou" and snapshot["blacklisted"] is False
    assert app.promised_days == matter.promised_days_for("red") <= matter.promised_days


def test_red_with_a_dishonesty_record_is_not_instant(seeded):
    subject = new_subject("red", seed=7)
    add_record(subject, GENERAL)
    app = service.apply(matter_with("instant_approval").code, subject.code)
    assert app.path == "standard" and app.status == "in_review"


@pytest.mark.parametrize("process,path", [("tolerance", "tolerance"), ("commitment", "commitment")])
def test_orange_takes_tolerance_or_commitment(seeded, process, path):
    app = service.apply(matter_with(process, negative=False).code, demo_code("orange"))
    assert app.path == path
    app, done = work_through(app)
    assert app.status == "approved" and app.decision == "approved"
    assert done[0] in ("签署容缺受理承诺书", "签署告知承诺书")
    if path == "commitment":
        assert done == ["签署告知承诺书"]  # approved on the signed commitment, verified later
    else:
        assert done[-1] == "补正容缺材料"


def test_blue_goes_through_standard_review(seeded):
    app = service.apply(matter_with("instant_approval").code, demo_code("blue"))
    assert app.path == "standard" and app.status == "in_review"
    app, done = work_through(app)
    assert done == ["受理", "审查", "决定"]
    assert app.status == "approved"
    lanes = [t.lane for t in HumanTask.select().where(HumanTask.application == app).order_by(HumanTask.id)]
    assert lanes == ["reviewer", "reviewer", "approver"]


def test_blue_rejected_by_the_approver(seeded):
    app = service.apply(matter_with("standard_review").code, demo_code("blue"))
    app, done = work_through(app, {"决定": "rejected"})
    assert (app.status, app.decision) == ("rejected", "rejected")
    assert app.decided_at is not None


def test_black_on_a_negative_list_matter_is_refused_before_start(seeded):
    matter = matter_with("tolerance", negative=True)
    app = service.apply(matter.code, demo_code("black", SEVERE))
    assert app.status == "refused"
    assert app.state is None and app.path is None
    assert "负面清单" in app.refusal_reason and matter.name in app.refusal_reason
    refused = AuditEntry.get((AuditEntry.application == app) & (AuditEntry.action == "refused"))
    assert refused.detail["legal_basis"] and refused.to_status == "refused"
    assert HumanTask.select().where(HumanTask.application == app).count() == 0


def test_black_elsewhere_gets_standard_review_never_commitment_or_tolerance(seeded):
    code = demo_code("black", SEVERE)
    for process in ("instant_approval", "tolerance", "commitment", "standard_review"):
        matter = matter_with(process, negative=False)
        assert not is_on_negative_list(matter)
        app = service.apply(matter.code, code)
        assert app.status == "in_review", process
        assert app.path == "standard", process


def test_blacklisting_record_closes_negative_list_matter_to_an_orange_subject(seeded):
    subject = new_subject("orange", seed=3)
    matter = matter_with("tolerance", negative=True)
    assert service.apply(matter.code, subject.code).status != "refused"
    add_record(subject, SEVERE)
    again = service.apply(matter.code, subject.code)
    assert again.status == "refused"
    assert again.tier_snapshot["blacklisted"] is True and again.tier_code == "black"


def test_tolerance_supplement_then_approved(seeded):
    app = service.apply(matter_with("tolerance", negative=False).code, demo_code("orange"))
    app, done = work_through(app)
    assert done == ["签署容缺受理承诺书", "审查", "决定", "补正容缺材料"]
    assert app.status == "approved" and app.next_due_at is None


def test_stored_state_has_no_spec_and_is_smaller_than_the_raw_serialization(seeded):
    from plugin.engine.definitions import serializer
    app = service.apply(matter_with("standard_review").code, demo_code("blue"))
    state = json.loads(app.state)
    assert "spec" not in state and "subprocess_specs" not in state
    raw = serializer.serialize_json(service.load_workflow(app))
    assert len(app.state) < len(raw) * 0.7
    # and it restores to the same place
    assert [t["name"] for t in service.ready_tasks(app)] == ["受理"]


def test_invalid_applicant_code_names_the_rule(seeded):
    with pytest.raises(service.ApplicationError, match="GB 32100|GB 11643"):
        service.apply(matter_with("standard_review").code, "91460100QJWYLF5560")


def test_unknown_matter_and_unpublished_matter(seeded):
    with pytest.raises(service.NotFound):
        service.apply("NO-SUCH-MATTER", demo_code("red"))
    matter = matter_with("standard_review")
    matter.status = "draft"
    matter.save()
    with pytest.raises(service.ApplicationError, match="未发布"):
        service.apply(matter.code, demo_code("red"))


def test_a_reviewers_recommendation_does_not_decide_the_case(seeded):
    """Only the approver's 决定 (or a script at the end) decides; 受理 and 审查 leave the case in review."""
    from helpers import actor_for, values_for
    app = service.apply(matter_with("standard_review").code, demo_code("blue"))
    for expected in ("受理", "审查"):
        [task] = service.ready_tasks(service.get(app.number))
        assert task["name"] == expected
        service.complete_task(app.number, task["id"], values_for(task, "approved"), actor_for(app, task["lane"]))
        case = service.get(app.number)
        assert (case.status, case.decision, case.decided_at) == ("in_review", None, None), expected
    [task] = service.ready_tasks(service.get(app.number))
    assert task["name"] == "决定" and task["lane"] == "approver"
