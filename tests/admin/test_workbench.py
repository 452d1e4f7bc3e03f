"""The workbench (工作台): ready tasks listed by the lanes of the role, with deadlines and claims;
claiming and releasing from the workbench and the case page (two reviewers, conflicts); a task
claimed by someone else cannot be completed by another; the dashboard's task figures."""
from __future__ import annotations

import datetime as _dt
import re

import pytest

from plugin.applications import progress, service
from plugin.applications.models import AuditEntry, HumanTask
from plugin.calendar import working_days_between
from plugin.engine.scripting import frozen_clock
from tests.helpers import demo_code, matter_with, sign_in, values_for

WORKBENCH = "/admin/xinyipi_workbench/"
ROW = re.compile(r'<tr data-task="([^"]+)" data-number="(\w+)" data-claimed-by="([^"]*)"')


def _client(app, username, role):
    client = app.test_client()
    sign_in(client, username, role)
    return client


def _case_url(number: str) -> str:
    return f"/admin/xinyipi_application/case/{number}/"


def _rows(client, query: str = "") -> dict[str, tuple[str, str]]:
    """task id → (case number, claimed by) of the workbench's task table."""
    r = client.get(WORKBENCH + query)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return {t: (n, c) for t, n, c in ROW.findall(r.get_data(as_text=True))}


def _task(number: str) -> HumanTask:
    return HumanTask.get((HumanTask.application == service.get(number)) & (HumanTask.state == "ready"))


def _advance(number: str) -> None:
    """Complete the case's ready staff task with approving values."""
    case = service.get(number)
    [task] = service.ready_tasks(case)
    service.complete_task(number, task["id"], values_for(task), service.Actor.staff(task["lane"], task["lane"]))


@pytest.fixture
def cases(seeded):
    """Standard-path cases: two waiting for 受理, one at 决定 (approver), one overdue, one approved."""
    standard = matter_with("standard_review").code
    made = {"blue": service.apply(standard, demo_code("blue")),
            "orange": service.apply(standard, demo_code("orange")),
            "deciding": service.apply(standard, demo_code("red")),
            "approved": service.apply(matter_with("instant_approval").code, demo_code("red"))}
    _advance(made["deciding"].number)   # 受理
    _advance(made["deciding"].number)   # 审查 → 决定 (approver)
    with frozen_clock(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=40)):
        made["overdue"] = service.apply(standard, demo_code("blue"))
    return {k: service.get(a.number) for k, a in made.items()}


def test_the_workbench_lists_the_ready_tasks_of_the_role_lanes(cases, app):
    reviewer = _rows(_client(app, "reviewer", "reviewer"))
    expected = {cases[k].number for k in ("blue", "orange", "overdue")}
    assert {n for n, _c in reviewer.values()} == expected
    assert {HumanTask.get(HumanTask.task_id == t).lane for t in reviewer} == {"reviewer"}

    approver = _rows(_client(app, "approver", "approver"))
    assert [n for n, _c in approver.values()] == [cases["deciding"].number]
    supervisor = _rows(_client(app, "supervisor", "supervisor"))
    assert supervisor == {}                              # no case waits in the supervisor lane
    everything = _rows(_client(app, "root", "sysadmin"))
    assert {n for n, _c in everything.values()} == expected | {cases["deciding"].number}
    assert cases["approved"].number not in {n for n, _c in everything.values()}

    for role in ("catalog_admin", "process_designer"):
        assert _client(app, f"wb_{role}", role).get(WORKBENCH).status_code == 403
    anonymous = app.test_client().get(WORKBENCH)
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]


def test_rows_show_case_matter_applicant_tier_task_and_deadline(cases, app):
    page = _client(app, "reviewer", "reviewer").get(WORKBENCH).get_data(as_text=True)
    blue = cases["blue"]
    row = page[page.index(f'data-number="{blue.number}"'):]
    row = row[:row.index("</tr>")]
    assert f'href="{_case_url(blue.number)}"' in row
    assert blue.matter.name in row and blue.subject.name in row and blue.subject.code in row
    assert "受理" in row and "蓝色" in row and blue.due_date.isoformat() in row
    left = working_days_between(progress.business_today(), blue.due_date)
    assert f"剩余 {left} 个工作日" in row and "未认领" in row

    overdue = cases["overdue"]
    row = page[page.index(f'data-number="{overdue.number}"'):]
    row = row[:row.index("</tr>")]
    late = max(1, working_days_between(overdue.due_date, progress.business_today()))
    assert f"已超期 {late} 个工作日" in row and "table-danger" in page[page.index(f'data-number="{overdue.number}"') - 200:
                                                                     page.index(f'data-number="{overdue.number}"') + 200]
    # the soonest due first: the overdue case leads
    assert page.index(overdue.number) < page.index(blue.number)


def test_the_overdue_filter_keeps_only_overdue_cases(cases, app):
    client = _client(app, "reviewer", "reviewer")
    assert {n for n, _c in _rows(client, "?flag=overdue").values()} == {cases["overdue"].number}
    today = progress.business_today()
    soon = {a.number for a in cases.values()
            if a.status == "in_review" and a.due_date >= today and working_days_between(today, a.due_date) <= 2
            and _task(a.number).lane == "reviewer"}
    assert {n for n, _c in _rows(client, "?flag=due_soon").values()} == soon


def test_two_reviewers_claim_release_and_conflict(cases, app):
    first, second = _client(app, "reviewer", "reviewer"), _client(app, "reviewer2", "reviewer")
    blue = cases["blue"]
    task = _task(blue.number)

    r = first.post(f"{WORKBENCH}claim/{task.task_id}", data={"next": WORKBENCH + "?scope=mine"})
    assert r.status_code == 302 and r.headers["Location"].endswith(WORKBENCH + "?scope=mine")
    assert HumanTask.get_by_id(task.id).claimed_by == "reviewer"
    assert "已认领“受理”" in first.get(WORKBENCH).get_data(as_text=True)
    assert AuditEntry.select().where((AuditEntry.application == blue) & (AuditEntry.action == "task_claimed")).count() == 1

    # the filters: mine / unclaimed / all
    assert set(_rows(first, "?scope=mine")) == {task.task_id}
    assert task.task_id not in _rows(second, "?scope=unclaimed")
    assert _rows(second, "?scope=mine") == {}
    assert _rows(second)[task.task_id] == (blue.number, "reviewer")

    # the second reviewer cannot take it, nor give it back
    audit = AuditEntry.select().count()
    r = second.post(f"{WORKBENCH}claim/{task.task_id}")
    assert r.status_code == 409 and "已由 reviewer 认领" in r.get_data(as_text=True)
    r = second.post(f"{WORKBENCH}release/{task.task_id}")
    assert r.status_code == 409 and "只有认领人可以释放" in r.get_data(as_text=True)
    assert HumanTask.get_by_id(task.id).claimed_by == "reviewer" and AuditEntry.select().count() == audit

    # released, the second may claim it
    assert first.post(f"{WORKBENCH}release/{task.task_id}").status_code == 302
    assert HumanTask.get_by_id(task.id).claimed_by is None
    assert second.post(f"{WORKBENCH}claim/{task.task_id}").status_code == 302
    assert HumanTask.get_by_id(task.id).claimed_by == "reviewer2"
    actions = [a for (a,) in AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.application == blue) & AuditEntry.action.in_(["task_claimed", "task_released"]))
        .order_by(AuditEntry.id).tuples()]
    assert actions == ["task_claimed", "task_released", "task_claimed"]


def test_a_task_claimed_by_someone_else_cannot_be_completed(cases, app):
    first, second = _client(app, "reviewer", "reviewer"), _client(app, "reviewer2", "reviewer")
    blue = cases["blue"]
    task = _task(blue.number)
    page = second.get(_case_url(blue.number)).get_data(as_text=True)     # opened before the claim
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    assert first.post(f"{_case_url(blue.number)}claim/{task.task_id}").status_code == 302

    page = second.get(_case_url(blue.number)).get_data(as_text=True)
    assert "已由 王海燕（reviewer） 认领" in page
    assert 'name="f-acceptance"' not in page                              # no form for the other reviewer
    before = service.get(blue.number)
    audit = AuditEntry.select().where(AuditEntry.application == blue).count()
    r = second.post(f"{_case_url(blue.number)}task/{task.task_id}",
                    data={"expected_version": version, "f-acceptance": "accepted", "f-opinion": "抢先办理"})
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "提交未保存" in text and "已由 reviewer 认领" in text
    after = service.get(blue.number)
    assert after.version == before.version and after.state == before.state
    assert AuditEntry.select().where(AuditEntry.application == blue).count() == audit
    assert HumanTask.get_by_id(task.id).state == "ready"

    # the claimant sees the form, "claimed by me", and completes it
    page = first.get(_case_url(blue.number)).get_data(as_text=True)
    assert "由我认领" in page and 'name="f-acceptance"' in page
    r = first.post(f"{_case_url(blue.number)}task/{task.task_id}",
                   data={"expected_version": version, "f-acceptance": "accepted", "f-opinion": "材料齐全"})
    assert r.status_code == 302
    assert HumanTask.get_by_id(task.id).completed_by == "staff:reviewer(reviewer)"


def test_the_case_page_claims_and_releases(cases, app):
    client = _client(app, "reviewer", "reviewer")
    blue = cases["blue"]
    task = _task(blue.number)
    page = client.get(_case_url(blue.number)).get_data(as_text=True)
    assert f'action="{_case_url(blue.number)}claim/{task.task_id}"' in page and 'name="f-acceptance"' in page
    r = client.post(f"{_case_url(blue.number)}claim/{task.task_id}")
    assert r.status_code == 302 and HumanTask.get_by_id(task.id).claimed_by == "reviewer"
    page = client.get(_case_url(blue.number)).get_data(as_text=True)
    assert "已认领“受理”" in page and f'action="{_case_url(blue.number)}release/{task.task_id}"' in page
    assert "认领任务" in page                                                 # the timeline's label
    assert client.post(f"{_case_url(blue.number)}release/{task.task_id}").status_code == 302
    assert HumanTask.get_by_id(task.id).claimed_by is None
    # a task id of another case is not this case's
    other = _task(cases["orange"].number)
    r = client.post(f"{_case_url(blue.number)}claim/{other.task_id}")
    assert r.status_code == 404 and HumanTask.get_by_id(other.id).claimed_by is None


def test_other_lanes_cannot_claim_and_sysadmin_may_force_a_release(cases, app):
    blue = cases["blue"]
    task = _task(blue.number)
    approver = _client(app, "approver", "approver")
    assert approver.post(f"{WORKBENCH}claim/{task.task_id}").status_code == 403
    assert HumanTask.get_by_id(task.id).claimed_by is None

    assert _client(app, "reviewer", "reviewer").post(f"{WORKBENCH}claim/{task.task_id}").status_code == 302
    root = _client(app, "root", "sysadmin")
    page = root.get(_case_url(blue.number)).get_data(as_text=True)
    assert "强制释放" in page
    assert root.post(f"{WORKBENCH}release/{task.task_id}").status_code == 302
    assert HumanTask.get_by_id(task.id).claimed_by is None
    released = AuditEntry.get((AuditEntry.application == blue) & (AuditEntry.action == "task_released"))
    assert released.actor == "staff:root(reviewer)" and released.detail["claimed_by"] == "reviewer"
    assert root.post(f"{WORKBENCH}claim/no-such-task").status_code == 404


def test_claims_need_the_csrf_token(seeded, database_url, tmp_path):
    from plugin import create_app
    from tests.helpers import csrf_of
    app = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": True})
    case = service.apply(matter_with("standard_review").code, demo_code("blue"))
    task = _task(case.number)
    client = app.test_client()
    sign_in(client, "reviewer", "reviewer")
    r = client.post(f"{WORKBENCH}claim/{task.task_id}")
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert HumanTask.get_by_id(task.id).claimed_by is None
    token = csrf_of(client, WORKBENCH)
    assert client.post(f"{WORKBENCH}claim/{task.task_id}", data={"csrf_token": token}).status_code == 302
    assert HumanTask.get_by_id(task.id).claimed_by == "reviewer"


def test_the_dashboard_counts_overdue_and_due_soon_tasks(cases, app):
    from admin.workbench import workload_figures
    today = progress.business_today()
    figures = workload_figures(today)
    ready = HumanTask.select().where((HumanTask.state == "ready") & HumanTask.lane.in_(["reviewer", "approver", "supervisor"]))
    assert figures["tasks_ready"] == ready.count() == 4
    assert figures["tasks_overdue"] == 1
    soon = sum(1 for a in cases.values() if a.status == "in_review" and a.due_date >= today
               and working_days_between(today, a.due_date) <= 2)
    assert figures["tasks_due_soon"] == soon
    page = _client(app, "approver", "approver").get("/admin/").get_data(as_text=True)
    kpi = re.search(r'id="kpi-tasks-overdue"><span class="xyp-kpi-n text-danger">(\d+)</span>', page)
    assert kpi and int(kpi.group(1)) == 1
    assert re.search(r'id="kpi-tasks-due-soon"><span class="xyp-kpi-n text-warning">(\d+)</span>', page).group(1) == str(soon)
