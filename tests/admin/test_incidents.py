"""Staff see the incidents a failed diagram leaves (系统 → 流程异常) and mark them handled."""
from __future__ import annotations

import pytest

from helpers import csrf_of, demo_code, matter_with, script_diagram, sign_in, store_unchecked
from plugin.applications import service
from plugin.applications.models import AuditEntry, Incident

URL = "/admin/xinyipi_incident/"


@pytest.fixture
def incident(seeded):
    matter = matter_with("standard_review")
    matter.process = store_unchecked(script_diagram("x = 0\nfor i in range(100000):\n    for j in range(100000):\n        x += 1"))
    matter.save()
    with pytest.raises(service.ApplicationError):
        service.apply(matter.code, demo_code("red"))
    return Incident.get(Incident.matter == matter.id)


def test_every_staff_role_sees_the_incident(incident, app):
    client = app.test_client()
    sign_in(client, "rev", "reviewer")
    page = client.get(URL).get_data(as_text=True)
    assert "Script_Evil" in page and "计算量限制" in page and "提交申请" in page


def test_only_a_designer_or_sysadmin_marks_it_handled(incident, app):
    reviewer = app.test_client()
    sign_in(reviewer, "rev", "reviewer")
    token = csrf_of(reviewer, URL)
    r = reviewer.post(URL + "action/", data={"action": "resolve", "rowid": [incident.id], "csrf_token": token})
    assert r.status_code == 403
    assert Incident.get_by_id(incident.id).resolved_at is None

    designer = app.test_client()
    sign_in(designer, "des", "process_designer")
    token = csrf_of(designer, URL)
    r = designer.post(URL + "action/", data={"action": "resolve", "rowid": [incident.id], "csrf_token": token})
    assert r.status_code == 302
    done = Incident.get_by_id(incident.id)
    assert done.resolved_at is not None and done.resolved_by == "des"
    assert AuditEntry.select().where(AuditEntry.action == "incident.resolve").count() == 1
