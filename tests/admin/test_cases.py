"""The cases (办件) pages and the audit log: list filters and search on real cases of each tier, the
case page (snapshot, timeline, diagram data), working a task from it (errors, conflicts, roles),
the read-only progress functions, and who may read the audit log."""
from __future__ import annotations

import datetime as _dt
import html
import logging
import re

import pytest

from plugin.applications import progress, service
from plugin.applications.models import FINAL, Application, AuditEntry, HumanTask
from plugin.calendar import working_days_between
from plugin.credit.models import SEVERE
from plugin.engine.models import ProcessDefinition
from plugin.engine.scripting import frozen_clock
from tests.helpers import demo_code, matter_with, sign_in, values_for, work_through

ROLES = ["sysadmin", "catalog_admin", "process_designer", "reviewer", "approver", "supervisor"]
NUMBER = re.compile(r"/case/(XYP\w+)/")
LIST = "/admin/xinyipi_application/"


def _client(app, username, role):
    client = app.test_client()
    sign_in(client, username, role)
    return client


def _case_url(app_or_number) -> str:
    number = getattr(app_or_number, "number", app_or_number)
    return f"/admin/xinyipi_application/case/{number}/"


def _listed(client, query: str = "") -> set[str]:
    r = client.get(LIST + ("?" + query if query else "") + ("&" if query else "?") + "page_size=500")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return set(NUMBER.findall(r.get_data(as_text=True)))


def _filter(app, name: str, kind: str = "Equals") -> str:
    """The query-string key Flask-Admin gives the filter called `name` (of class `kind`)."""
    view = next(v for v in app.extensions["xinyipi"].admin._views if v.endpoint == "xinyipi_application")
    index = next(i for i, f in enumerate(view._filters) if str(f.name) == name and type(f).__name__ == kind)
    return f"flt1_{index}"


def _awaiting(a: Application) -> bool:
    return a.status not in FINAL and a.decided_at is None


@pytest.fixture
def cases(seeded):
    """Real cases, through the service: one per Haikou tier and path, an overdue one, a refused one."""
    made = {
        "red": service.apply(matter_with("instant_approval").code, demo_code("red")),
        "orange": service.apply(matter_with("tolerance", negative=False).code, demo_code("orange")),
        "blue": service.apply(matter_with("standard_review").code, demo_code("blue")),
        "blue_instant_matter": service.apply(matter_with("instant_approval").code, demo_code("blue")),
        "black_refused": service.apply(matter_with("tolerance", negative=True).code, demo_code("black", SEVERE)),
    }
    with frozen_clock(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=40)):
        made["overdue"] = service.apply(matter_with("standard_review").code, demo_code("blue"))
    return {k: service.get(a.number) for k, a in made.items()}


def test_the_cases_made_cover_what_the_filters_tell_apart(cases):
    assert cases["red"].status == "approved" and cases["red"].path == "instant"
    assert cases["orange"].path == "tolerance" and cases["orange"].status == "in_review"
    assert cases["blue"].path == "standard" and cases["blue"].status == "in_review"
    assert cases["black_refused"].status == "refused"
    assert cases["overdue"].due_date < progress.business_today() and cases["overdue"].status == "in_review"


def test_list_filters_return_exactly_the_right_cases(cases, app):
    client = _client(app, "reviewer", "reviewer")
    everything = list(cases.values())
    today = progress.business_today()

    assert _listed(client) == {a.number for a in everything}
    assert _listed(client, f"{_filter(app, '状态')}=in_review") == {
        a.number for a in everything if a.status == "in_review"}
    assert _listed(client, f"{_filter(app, '状态')}=refused") == {cases["black_refused"].number}
    for tier in ("red", "orange", "blue", "black"):
        assert _listed(client, f"{_filter(app, '信用等级')}={tier}") == {
            a.number for a in everything if a.tier_code == tier}, tier
    assert _listed(client, f"{_filter(app, '办理路径')}=standard") == {
        a.number for a in everything if a.path == "standard"}
    overdue = {a.number for a in everything if _awaiting(a) and a.due_date < today}
    assert overdue == {cases["overdue"].number}
    assert _listed(client, f"{_filter(app, '已超期', 'Flag')}=1") == overdue
    due_soon = {a.number for a in everything
                if _awaiting(a) and a.due_date >= today and working_days_between(today, a.due_date) <= 2}
    assert _listed(client, f"{_filter(app, '即将到期（2个工作日内）', 'Flag')}=1") == due_soon
    matter = cases["orange"].matter
    assert _listed(client, f"{_filter(app, '事项编码')}={matter.code}") == {
        a.number for a in everything if a.matter_id == matter.id}
    assert _listed(client, f"{_filter(app, '实施机关')}={matter.department}") == {
        a.number for a in everything if a.matter.department == matter.department}
    # two filters at once: both apply
    assert _listed(client, f"{_filter(app, '状态')}=in_review&flt2_{_filter(app, '信用等级')[5:]}=blue") == {
        a.number for a in everything if a.status == "in_review" and a.tier_code == "blue"}


def test_search_by_number_applicant_and_matter(cases, app):
    client = _client(app, "approver", "approver")
    everything = list(cases.values())
    red = cases["red"]
    assert _listed(client, f"search={red.number}") == {red.number}
    assert _listed(client, f"search={red.subject.code}") == {
        a.number for a in everything if a.subject_id == red.subject_id}
    assert _listed(client, f"search={red.subject.name}") == {
        a.number for a in everything if a.subject.name == red.subject.name}
    name = cases["orange"].matter.name
    assert _listed(client, f"search={name}") == {a.number for a in everything if name in a.matter.name}
    assert _listed(client, "search=没有这样的办件XYZ") == set()
    # fragments: the end of a number (any case), the middle of a code, part of a Chinese name
    tail = red.number[-6:]
    assert _listed(client, f"search={tail.lower()}") == {a.number for a in everything if tail in a.number}
    middle = red.subject.code[4:12]
    assert _listed(client, f"search={middle}") == {a.number for a in everything if middle in a.subject.code}
    part = red.subject.name[2:5]
    assert _listed(client, f"search={part}") == {
        a.number for a in everything if part in a.subject.name or part in a.matter.name}
    # two words: both must match
    assert _listed(client, f"search={red.subject.code} {cases['blue'].number}") == set()


def test_list_shows_tier_swatch_status_and_overdue_flag(cases, app):
    client = _client(app, "supervisor", "supervisor")
    page = client.get(LIST).get_data(as_text=True)
    assert 'class="xyp-swatch" style="background:#1677ff"' in page           # blue, from the active scheme
    assert "不予受理" in page and "审查中" in page and "秒批" in page
    row = page[page.index(cases["overdue"].number):]
    row = row[:row.index("</tr>")]
    assert "已超期" in row


def _case_queries(caplog, client, url) -> int:
    """SELECTs on the case, matter and subject tables while rendering `url` (cached reference data
    such as tiers and the calendar may or may not be re-read; they are not counted)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        assert client.get(url).status_code == 200
    tables = ('FROM "application"', 'FROM "matter"', 'FROM "subject"')
    return sum(1 for r in caplog.records if r.name == "peewee" and any(t in str(r.msg) for t in tables))


def test_list_queries_do_not_grow_with_the_rows(cases, app, caplog):
    client = _client(app, "reviewer", "reviewer")
    few = _case_queries(caplog, client, LIST)
    for _ in range(6):
        service.apply(matter_with("standard_review").code, demo_code("orange"))
    many = _case_queries(caplog, client, LIST)
    assert Application.select().count() == len(cases) + 6
    assert many == few <= 3          # a COUNT, the joined page query, the department choices


def test_list_is_read_only(cases, app):
    client = _client(app, "admin_user", "sysadmin")
    before = Application.select().count()
    assert client.get(LIST + "new/").status_code in (302, 403, 404)
    client.post(LIST + "delete/", data={"id": cases["blue"].id})
    client.post(LIST + "edit/?id=%d" % cases["blue"].id, data={"status": "approved"})
    assert Application.select().count() == before
    assert service.get(cases["blue"].number).status == "in_review"


def test_anonymous_is_sent_to_sign_in(cases, app):
    client = app.test_client()
    for url in (LIST, _case_url(cases["blue"]), _case_url(cases["blue"]) + "process.bpmn"):
        r = client.get(url)
        assert r.status_code == 302 and "/admin/login" in r.headers["Location"], url


def test_case_page_shows_snapshot_timeline_tasks_and_diagram(cases, app):
    client = _client(app, "reviewer", "reviewer")
    blue = cases["blue"]
    r = client.get(_case_url(blue))
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    snapshot = blue.tier_snapshot
    assert blue.number in page and blue.matter.name in page and blue.subject.name in page
    for reason in snapshot["reasons"]:
        assert reason in page
    assert "海口" in page                                   # the scheme by its name
    assert f"承诺时限" in page and blue.due_date.isoformat() in page
    left = working_days_between(progress.business_today(), blue.due_date)
    assert f"剩余 {left} 个工作日" in page
    # timeline: every audit row of the case, in Chinese
    for label in ("提交申请", "受理", "启动流程"):
        assert label in page
    assert page.count('<li data-action="') == len(service.timeline(blue))
    # the ready task's form, the human-task table, the diagram wired to the case's own XML
    assert 'name="f-acceptance"' in page and 'name="f-opinion"' in page
    assert f'name="expected_version" value="{blue.version}"' in page
    assert "当前环节：受理" in page
    assert f"/admin/xinyipi_application/case/{blue.number}/process.bpmn" in page
    assert "Task_Accept" in page                            # passed to the viewer as the current step
    # materials and commitments: none yet for this case
    materials = page[page.index('id="xyp-materials"'):]
    assert "无" in materials[:materials.index("</section>")]


def test_case_page_of_a_refused_case_shows_the_reason_and_no_diagram(cases, app):
    client = _client(app, "supervisor", "supervisor")
    refused = cases["black_refused"]
    page = client.get(_case_url(refused)).get_data(as_text=True)
    assert refused.refusal_reason in page
    assert "严重失信" in page                                # the snapshot's records and reasons
    assert "无（本办件未启动流程）" in page and "process.bpmn" not in page


def test_unknown_case_is_404_with_a_message(seeded, app):
    client = _client(app, "reviewer", "reviewer")
    r = client.get(_case_url("XYP00000000NOSUCH"))
    assert r.status_code == 404 and "办件 XYP00000000NOSUCH 不存在" in r.get_data(as_text=True)


def test_process_xml_is_the_version_the_case_runs_on(cases, app):
    client = _client(app, "approver", "approver")
    blue = cases["blue"]
    r = client.get(_case_url(blue) + "process.bpmn")
    assert r.status_code == 200 and r.mimetype == "text/plain"       # never rendered as XML (issue #12)
    assert r.get_data(as_text=True) == ProcessDefinition.get_by_id(blue.process_id).xml


def _accept_form(page: str) -> tuple[str, dict]:
    action = re.search(r'<form method="post" action="([^"]+/task/[^"]+)"', page).group(1)
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    return action, {"expected_version": version, "f-acceptance": "accepted", "f-opinion": "材料齐全，予以受理"}


def test_reviewer_completes_accept_then_the_stale_form_gets_a_conflict(cases, app):
    client = _client(app, "reviewer", "reviewer")
    blue = cases["blue"]
    action, form = _accept_form(client.get(_case_url(blue)).get_data(as_text=True))

    r = client.post(action, data=form)
    assert r.status_code == 302 and r.headers["Location"].endswith(_case_url(blue))
    after = service.get(blue.number)
    assert after.version == blue.version + 1
    done = HumanTask.get((HumanTask.application == after) & (HumanTask.name == "受理"))
    assert done.state == "completed" and done.completed_by == "staff:reviewer(reviewer)"
    assert [t["name"] for t in service.ready_tasks(after)] == ["审查"]
    page = client.get(_case_url(blue)).get_data(as_text=True)
    assert "已完成“受理”" in page
    audit_rows = AuditEntry.select().where(AuditEntry.application == after).count()

    again = client.post(action, data=form)                  # the same stale page, submitted twice
    text = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "提交未保存" in text and "请刷新后重试" in text
    still = service.get(blue.number)
    assert still.version == after.version and still.state == after.state
    assert AuditEntry.select().where(AuditEntry.application == after).count() == audit_rows


def test_form_errors_are_shown_by_field_and_keep_the_typed_values(cases, app):
    client = _client(app, "reviewer", "reviewer")
    blue = cases["blue"]
    action, form = _accept_form(client.get(_case_url(blue)).get_data(as_text=True))
    form["f-opinion"] = "   "
    r = client.post(action, data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "“受理意见”为必填项" in page and 'aria-invalid="true"' in page
    assert '<option value="accepted" selected>' in page       # the choice made is kept
    assert service.get(blue.number).version == blue.version

    form.update({"f-acceptance": "no-such-choice", "f-opinion": "意见" * 300})
    page = client.post(action, data=form).get_data(as_text=True)
    assert "不是可选值之一" in page and "最多 500 个字" in page
    assert "意见" * 300 in page
    assert service.get(blue.number).version == blue.version


def test_a_supervisor_cannot_complete_a_reviewer_task(cases, app):
    blue = cases["blue"]
    client = _client(app, "supervisor", "supervisor")
    page = client.get(_case_url(blue)).get_data(as_text=True)
    assert 'name="f-acceptance"' not in page and "须由审查人员办理" in page
    task_id = service.ready_tasks(blue)[0]["id"]
    r = client.post(f"{_case_url(blue)}task/{task_id}",
                    data={"expected_version": blue.version, "f-acceptance": "accepted", "f-opinion": "越权"})
    assert r.status_code == 403 and "无权访问" in r.get_data(as_text=True)
    assert service.get(blue.number).version == blue.version


def test_sysadmin_may_act_in_a_staff_lane(cases, app):
    blue = cases["blue"]
    client = _client(app, "root", "sysadmin")
    action, form = _accept_form(client.get(_case_url(blue)).get_data(as_text=True))
    assert client.post(action, data=form).status_code == 302
    done = HumanTask.get((HumanTask.application == blue) & (HumanTask.name == "受理"))
    assert done.completed_by == "staff:root(reviewer)"


def test_applicant_tasks_wait_for_the_applicant(cases, app):
    orange = cases["orange"]
    client = _client(app, "root", "sysadmin")
    page = client.get(_case_url(orange)).get_data(as_text=True)
    assert "等待申请人办理" in page and 'name="f-agree"' not in page
    task_id = service.ready_tasks(orange)[0]["id"]
    r = client.post(f"{_case_url(orange)}task/{task_id}", data={"expected_version": orange.version, "f-agree": "true"})
    assert r.status_code == 403
    assert service.get(orange.number).version == orange.version


def test_progress_functions_follow_the_case(cases):
    blue = cases["blue"]
    assert progress.current_element_ids(blue) == ["Task_Accept"]
    assert "StartEvent_Submit" in progress.completed_element_ids(blue)
    assert progress.process_xml(blue) == ProcessDefinition.get_by_id(blue.process_id).xml
    task = service.ready_tasks(blue)[0]
    service.complete_task(blue.number, task["id"], values_for(task), service.Actor.staff("reviewer", "reviewer"))
    blue = service.get(blue.number)
    assert progress.current_element_ids(blue) == ["Task_Review"]
    assert "Task_Accept" in progress.completed_element_ids(blue)
    current, done = progress.diagram_state(blue)
    assert current == ["Task_Review"] and "Task_Accept" in done and "Task_Review" not in done
    assert [t.state for t in progress.human_tasks(blue)] == ["completed", "ready"]

    finished, _names = work_through(blue)
    assert progress.current_element_ids(finished) == []
    assert "End_Approved" in progress.completed_element_ids(finished)
    refused = cases["black_refused"]
    assert progress.current_element_ids(refused) == [] and progress.completed_element_ids(refused) == []
    assert progress.process_xml(refused) is not None        # the matter's process, never started


def test_deadline_in_working_days(cases):
    today = progress.business_today()
    overdue = progress.deadline(cases["overdue"], today)
    assert overdue.overdue and overdue.days_overdue == max(1, working_days_between(cases["overdue"].due_date, today))
    blue = progress.deadline(cases["blue"], today)
    assert not blue.overdue and blue.days_left == working_days_between(today, cases["blue"].due_date)
    red = progress.deadline(cases["red"], today)
    assert not red.awaiting and red.days_left is None and red.days_taken == 0


# --- the audit log ---------------------------------------------------------------------------

AUDIT = "/admin/xinyipi_audit_entry/"


@pytest.mark.parametrize("role,allowed", [("sysadmin", True), ("supervisor", True), ("catalog_admin", True),
                                          ("reviewer", False), ("approver", False), ("process_designer", False)])
def test_who_may_read_the_audit_log(seeded, app, role, allowed):
    client = _client(app, f"audit_{role}", role)
    r = client.get(AUDIT)
    assert r.status_code == (200 if allowed else 403)
    if allowed:
        assert "工作人员登录" in r.get_data(as_text=True)   # the sign-in just made is there


def _audit_filter(app, name, kind="Equals"):
    view = next(v for v in app.extensions["xinyipi"].admin._views if v.endpoint == "xinyipi_audit_entry")
    index = next(i for i, f in enumerate(view._filters) if str(f.name) == name and type(f).__name__ == kind)
    return f"flt1_{index}"


def test_audit_log_filters_by_case_action_and_actor(cases, app):
    client = _client(app, "auditor", "supervisor")
    r = app.test_client().post("/admin/login", data={"username": "auditor", "password": "wrong-password"})
    assert r.status_code == 401
    blue = cases["blue"]

    def rows(query):
        text = client.get(AUDIT + "?page_size=500&" + query).get_data(as_text=True)
        return text, text.count('<td class="list-buttons-column">')

    text, n = rows(f"{_audit_filter(app, '办件编号')}={blue.number}")
    assert n == AuditEntry.select().where(AuditEntry.application == blue).count() == 3
    assert blue.number in text and cases["red"].number not in text

    text, n = rows(f"search={blue.number}")
    assert n == 3 and cases["red"].number not in text

    text, n = rows(f"{_audit_filter(app, '操作')}=staff.login_failed")
    assert n == AuditEntry.select().where(AuditEntry.action == "staff.login_failed").count() >= 1
    assert "工作人员登录失败" in text

    text, n = rows(f"{_audit_filter(app, '操作人')}=auditor")
    assert n == AuditEntry.select().where(AuditEntry.actor == "auditor").count() >= 2   # sign-in and failure


def test_audit_detail_is_readable_json(cases, app):
    client = _client(app, "auditor", "sysadmin")
    refused = AuditEntry.get((AuditEntry.application == cases["black_refused"]) & (AuditEntry.action == "refused"))
    r = client.get(f"{AUDIT}details/?id={refused.id}")
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 200
    assert '<pre class="xyp-json">' in page and '\n  "legal_basis": ' in page      # indented, one key a line
    assert refused.detail["reason"] in page                 # Chinese as it is, not \\u escapes
