"""The supervision pages (批后监管) and the credit archive (信用档案) in the admin: listing items,
recording a pass and a failure (the case revoked, dishonesty recorded, the tier changed, all shown),
who may record, bad input, drawing inspections (the system's seed, never a typed one; every preview
audited; the committed draw is the previewed one; the replay check), the archive page and its CSV and JSON downloads, and the
dashboard's supervision figures."""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import random
import re

import pytest

from plugin.applications import service
from plugin.applications.materials import Commitment, text_hash
from plugin.applications.models import AuditEntry
from plugin.applications.progress import business_today
from plugin.credit.codes import make_credit_code
from plugin.credit.models import DishonestyRecord, TierChange
from plugin.credit.tiers import effective_tier
from plugin.engine.scripting import frozen_clock
from plugin.supervision.models import InspectionDraw, SupervisionItem
from tests.helpers import demo_code, matter_with, sign_in, work_through

ITEMS = "/admin/xinyipi_supervision/"
DRAWS = "/admin/xinyipi_inspection_draw/"
ARCHIVE = "/admin/xinyipi_credit_archive/"


def _client(app, username, role):
    client = app.test_client()
    sign_in(client, username, role)
    return client


def _committed(tier: str = "orange"):
    """A notification-commitment case, signed through the service as the portal signs it: approved,
    with its verification item open."""
    case = service.apply(matter_with("commitment").code, demo_code(tier))
    [task] = service.ready_tasks(case)
    _kind, text = service.pending_commitment(case, task)
    service.complete_applicant_task(case.number, task["id"], {"agree": True},
                                    service.Actor.applicant(case.subject.code), shown_sha256=text_hash(text))
    case = service.get(case.number)
    assert case.status == "approved" and case.path == "commitment"
    return case


def _approved(tier: str):
    case, _done = work_through(service.apply(matter_with("standard_review").code, demo_code(tier)))
    assert case.status == "approved"
    return case


def _verification(case) -> SupervisionItem:
    return SupervisionItem.get((SupervisionItem.application == case.id) & (SupervisionItem.kind == "verification"))


@pytest.fixture
def committed(seeded):
    return _committed()


def _numbers(page: str, table_id: str) -> list[str]:
    table = page[page.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    return re.findall(r'<tr data-number="(\w+)"', table)


# --- items and results ----------------------------------------------------------------------

def test_items_are_listed_with_filters(committed, app):
    with frozen_clock(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=60)):
        old = _committed("orange")
    client = _client(app, "supervisor", "supervisor")
    page = client.get(ITEMS).get_data(as_text=True)
    ids = {int(i) for i in re.findall(r'<tr data-item="(\d+)"', page)}
    assert ids == {_verification(committed).id, _verification(old).id}
    assert committed.number in page and "告知承诺核查" in page and committed.matter.name in page
    overdue = client.get(ITEMS + "?overdue=1").get_data(as_text=True)
    assert re.findall(r'<tr data-item="(\d+)"', overdue) == [str(_verification(old).id)]
    assert "已超期" in overdue
    assert re.findall(r'<tr data-item="(\d+)"', client.get(ITEMS + "?kind=inspection").get_data(as_text=True)) == []
    assert re.findall(r'<tr data-item="(\d+)"', client.get(ITEMS + "?state=passed").get_data(as_text=True)) == []
    # reviewers and approvers may read; the catalog's and the designers' roles may not
    assert _client(app, "reviewer", "reviewer").get(ITEMS).status_code == 200
    for role in ("catalog_admin", "process_designer"):
        assert _client(app, f"sv_{role}", role).get(ITEMS).status_code == 403


def test_the_item_page_shows_the_case_and_the_signed_commitment(committed, app):
    item = _verification(committed)
    page = _client(app, "supervisor", "supervisor").get(f"{ITEMS}item/{item.id}/").get_data(as_text=True)
    signed = Commitment.get(Commitment.application == committed.id)
    assert committed.number in page and committed.subject.name in page and committed.matter.name in page
    assert signed.text_sha256 in page and signed.text.splitlines()[0] in page
    assert 'id="xyp-result-form"' in page and 'name="note"' in page
    assert '<option value="严重" selected>' in page                          # the default severity
    assert "撤销该办件的许可" in page and "记录失信" in page and "重新计算其信用等级" in page


def test_a_supervisor_records_a_pass(committed, app):
    item = _verification(committed)
    client = _client(app, "supervisor", "supervisor")
    r = client.post(f"{ITEMS}item/{item.id}/result", data={"result": "passed", "note": "现场核查，承诺属实"})
    assert r.status_code == 302
    item = SupervisionItem.get_by_id(item.id)
    assert item.state == "passed" and item.recorded_by == "supervisor" and item.note == "现场核查，承诺属实"
    assert service.get(committed.number).status == "approved"
    assert not DishonestyRecord.select().where(DishonestyRecord.case_number == committed.number).exists()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已记录：告知承诺核查合格" in page and 'data-state="passed"' in page
    assert 'id="xyp-result-form"' not in page
    case_page = client.get(f"/admin/xinyipi_application/case/{committed.number}/").get_data(as_text=True)
    assert "告知承诺核查合格" in case_page                                     # the timeline's label


def test_a_failure_revokes_the_case_records_dishonesty_and_lowers_the_tier(committed, app):
    item = _verification(committed)
    subject = committed.subject
    before = effective_tier(subject)
    client = _client(app, "supervisor", "supervisor")
    r = client.post(f"{ITEMS}item/{item.id}/result",
                    data={"result": "failed", "note": "经营场所与承诺不符", "severity": "严重"})
    assert r.status_code == 302
    case = service.get(committed.number)
    assert case.status == "revoked" and case.revoked_at is not None
    assert "经营场所与承诺不符" in case.revocation_reason
    [record] = DishonestyRecord.select().where(DishonestyRecord.case_number == case.number)
    assert record.severity == "严重" and record.subject_id == subject.id
    [change] = TierChange.select().where(TierChange.case_number == case.number)
    after = effective_tier(subject)
    assert (change.from_code, change.to_code) == (before.code, after.code) and after.blacklisted
    assert after.code != before.code

    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已撤销许可" in page and 'data-status="revoked"' in page
    assert case.revocation_reason in page and 'id="xyp-breach-records"' in page and record.reason in page
    assert 'id="xyp-breach-changes"' in page and "违约失信" in page
    case_page = client.get(f"/admin/xinyipi_application/case/{case.number}/").get_data(as_text=True)
    assert 'id="xyp-revocation-reason"' in case_page and case.revocation_reason in case_page
    for label in ("告知承诺核查不合格", "撤销许可", "记录失信", "信用等级变动"):
        assert label in case_page, label
    assert 'id="xyp-case-breach-records"' in case_page and 'id="xyp-case-tier-changes"' in case_page

    # recorded once: a second submission of the same form changes nothing
    audit = AuditEntry.select().count()
    again = client.post(f"{ITEMS}item/{item.id}/result", data={"result": "failed", "note": "再次提交"})
    assert again.status_code == 409 and "已由 supervisor 记录" in again.get_data(as_text=True)
    assert AuditEntry.select().count() == audit
    assert DishonestyRecord.select().where(DishonestyRecord.case_number == case.number).count() == 1


def test_a_general_severity_is_recorded_as_chosen(committed, app):
    item = _verification(committed)
    client = _client(app, "supervisor2", "supervisor")
    assert client.post(f"{ITEMS}item/{item.id}/result",
                       data={"result": "failed", "note": "部分承诺未履行", "severity": "一般"}).status_code == 302
    assert DishonestyRecord.get(DishonestyRecord.case_number == committed.number).severity == "一般"


def test_bad_input_is_refused_with_a_message_and_keeps_what_was_typed(committed, app):
    item = _verification(committed)
    client = _client(app, "supervisor", "supervisor")
    r = client.post(f"{ITEMS}item/{item.id}/result", data={"note": "已核查营业场所"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "请选择核查（检查）结果" in page and "已核查营业场所</textarea>" in page
    r = client.post(f"{ITEMS}item/{item.id}/result", data={"result": "failed", "note": " ", "severity": "一般"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "请填写核查（检查）情况" in page
    assert 'id="result-failed" value="failed" checked' in page and '<option value="一般" selected>' in page
    r = client.post(f"{ITEMS}item/{item.id}/result", data={"result": "failed", "note": "不符", "severity": "极严重"})
    assert r.status_code == 400 and "失信严重程度只能是" in r.get_data(as_text=True)
    assert SupervisionItem.get_by_id(item.id).state == "pending"
    assert service.get(committed.number).status == "approved"
    assert client.get(f"{ITEMS}item/999999/").status_code == 404


def test_only_supervisors_record_results(committed, app):
    item = _verification(committed)
    for username, role in (("reviewer", "reviewer"), ("approver", "approver")):
        client = _client(app, username, role)
        page = client.get(f"{ITEMS}item/{item.id}/").get_data(as_text=True)
        assert 'id="xyp-result-form"' not in page and "只有监管人员可以记录" in page
        r = client.post(f"{ITEMS}item/{item.id}/result", data={"result": "failed", "note": "越权记录"})
        assert r.status_code == 403
    r = _client(app, "sv_catalog", "catalog_admin").post(f"{ITEMS}item/{item.id}/result",
                                                         data={"result": "failed", "note": "越权记录"})
    assert r.status_code == 403
    assert SupervisionItem.get_by_id(item.id).state == "pending"
    assert service.get(committed.number).status == "approved"


# --- draws ----------------------------------------------------------------------------------

@pytest.fixture
def population(committed):
    """Approved cases of several tiers (the committed one included) to draw inspections from."""
    return [committed] + [_approved(t) for t in ("blue", "blue", "red", "orange")]


def _draw_form(on=None, matter=""):
    return {"matter": matter, "on_date": (on or business_today()).isoformat()}


def _preview(client, **form) -> tuple[str, str]:
    """(the preview page, the preview id its confirm form carries)."""
    page = client.post(f"{DRAWS}preview", data=_draw_form(**form)).get_data(as_text=True)
    return page, re.search(r'name="preview" value="(\d+)"', page).group(1)


def _draw(client, **form):
    """Preview, then confirm: the way a supervisor draws."""
    _page, preview_id = _preview(client, **form)
    return client.post(f"{DRAWS}new", data={"preview": preview_id})


def test_the_committed_draw_is_the_previewed_one_with_the_systems_seed(population, app):
    client = _client(app, "supervisor", "supervisor")
    preview = client.post(f"{DRAWS}preview", data=_draw_form())
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert 'name="seed"' not in page                                            # nobody types a seed
    seed = int(re.search(r'id="xyp-preview-seed">(\d+)<', page).group(1))
    previewed = _numbers(page, "xyp-preview-cases")
    assert previewed and set(previewed) <= {c.number for c in population}
    assert InspectionDraw.select().count() == 0                               # a preview draws nothing
    assert not SupervisionItem.select().where(SupervisionItem.kind == "inspection").exists()
    tiers = {t: (int(p), int(d)) for t, p, d in
             re.findall(r'<tr data-tier="(\w+)"><td>.*?</td><td>[\d.]+%</td><td>(\d+)</td><td>(\d+)</td>', page)}
    assert tiers == {"black": (0, 0), "blue": (2, 1), "orange": (2, 1), "red": (1, 1)}   # ratios rounded up
    assert len(previewed) == 3
    preview_id = re.search(r'name="preview" value="(\d+)"', page).group(1)

    r = client.post(f"{DRAWS}new", data={"preview": preview_id})
    assert r.status_code == 302
    record = InspectionDraw.get()
    assert record.seed == seed and record.created_by == "supervisor"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert _numbers(page, "xyp-drawn") == previewed
    assert str(seed) in page and 'id="xyp-previews" data-count="1"' in page
    items = list(SupervisionItem.select().where(SupervisionItem.draw == record.id))
    assert {i.application.number for i in items} == set(previewed)
    assert {i.assignee for i in items} <= {"supervisor", "supervisor2", "supervisor3"}

    checked = client.get(f"{DRAWS}draw/{record.id}/?replay=1").get_data(as_text=True)
    assert 'id="xyp-replay-result" data-same="1"' in checked and f"相同的 {len(items)} 件" in checked
    listing = client.get(DRAWS).get_data(as_text=True)
    assert f'<tr data-draw="{record.id}">' in listing and str(seed) in listing
    assert AuditEntry.select().where(AuditEntry.action == "inspection_drawn").count() == len(items)
    drawn = AuditEntry.get(AuditEntry.action == "inspection.draw")
    assert drawn.detail["draw"] == record.id and drawn.detail["preview"] == int(preview_id)
    # the same preview cannot be drawn twice
    again = client.post(f"{DRAWS}new", data={"preview": preview_id})
    assert again.status_code == 409 and "已经抽取过" in again.get_data(as_text=True)
    assert InspectionDraw.select().count() == 1


def test_every_preview_leaves_an_audit_row_of_who_scope_day_and_seed(population, app):
    client = _client(app, "supervisor", "supervisor")
    matter = population[0].matter.code
    seeds = []
    for form in ({}, {"matter": matter}, {}):
        page, preview_id = _preview(client, **form)
        seeds.append(int(re.search(r'id="xyp-preview-seed">(\d+)<', page).group(1)))
    rows = list(AuditEntry.select().where(AuditEntry.action == "inspection.preview").order_by(AuditEntry.id))
    assert [r.actor for r in rows] == ["supervisor"] * 3
    assert [r.detail["seed"] for r in rows] == seeds
    assert [r.detail["matter"] for r in rows] == [None, matter, None]
    assert {r.detail["on_date"] for r in rows} == {business_today().isoformat()}
    assert all(len(r.detail["population_sha256"]) == 64 and r.detail["population"] >= 1 for r in rows)
    assert len(set(seeds)) == 3                                                # the system's, each new
    assert InspectionDraw.select().count() == 0
    # the shopping shows: the draw's page counts the previews of its scope and day before it
    r = client.post(f"{DRAWS}new", data={"preview": str(rows[-1].id)})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="xyp-previews" data-count="2"' in page
    # and the audit log lists them
    auditor = _client(app, "root", "sysadmin")
    log = auditor.get("/admin/xinyipi_audit_entry/?flt0_0=inspection.preview").get_data(as_text=True)
    assert log.count("预览双随机抽取") >= 3


@pytest.mark.parametrize("seed", ["20261123", "0", "12ab", str(2 ** 63)])
def test_a_typed_seed_is_refused_and_nothing_is_previewed_or_drawn(population, app, seed):
    """The attack: a supervisor posts a seed of their choosing (to pick which cases get inspected)."""
    client = _client(app, "supervisor", "supervisor")
    r = client.post(f"{DRAWS}preview", data=dict(_draw_form(), seed=seed))
    assert r.status_code == 400 and "随机种子由系统生成，不能指定" in r.get_data(as_text=True)
    assert not AuditEntry.select().where(AuditEntry.action == "inspection.preview").exists()
    _page, preview_id = _preview(client)
    r = client.post(f"{DRAWS}new", data={"preview": preview_id, "seed": seed})
    assert r.status_code == 400 and "随机种子由系统生成，不能指定" in r.get_data(as_text=True)
    assert InspectionDraw.select().count() == 0
    # nor do the scope and day of the confirm form count: the preview's are drawn
    r = client.post(f"{DRAWS}new", data={"preview": preview_id, "matter": population[0].matter.code,
                                         "on_date": "2020-01-01"})
    assert r.status_code == 302
    record = InspectionDraw.get()
    assert record.matter_code is None and record.on_date == business_today()
    # the refusal in English under en
    client.get(f"{DRAWS}?lang=en")
    r = client.post(f"{DRAWS}preview", data=dict(_draw_form(), seed=seed))
    assert r.status_code == 400 and "the random seed is generated by the system" in r.get_data(as_text=True)
    client.get(f"{DRAWS}?lang=zh_CN")


def test_only_ones_own_preview_can_be_drawn(population, app):
    supervisor = _client(app, "supervisor", "supervisor")
    _page, preview_id = _preview(supervisor)
    other = _client(app, "supervisor2", "supervisor")
    for data in ({"preview": preview_id}, {"preview": "99999999999999999999"}, {"preview": "x"}, {}):
        r = other.post(f"{DRAWS}new", data=data)
        assert r.status_code == 400 and "没有找到您的这次预览" in r.get_data(as_text=True), data
    assert InspectionDraw.select().count() == 0


def test_a_draw_whose_population_changed_since_the_preview_is_not_made(population, app):
    client = _client(app, "supervisor", "supervisor")
    _page, preview_id = _preview(client)
    _approved("red")                                                          # approved meanwhile
    r = client.post(f"{DRAWS}new", data={"preview": preview_id})
    assert r.status_code == 409 and "抽取范围发生了变化" in r.get_data(as_text=True)
    assert InspectionDraw.select().count() == 0


def test_bad_draw_input_is_refused_and_nothing_is_drawn(population, app):
    client = _client(app, "supervisor", "supervisor")
    for form, message in (({"on_date": "2026-13-40"}, "请填写有效的抽查基准日"),
                          ({"on_date": (business_today() + _dt.timedelta(days=3)).isoformat()}, "不能晚于今天"),
                          ({"matter": "NO-SUCH-MATTER"}, "事项 NO-SUCH-MATTER 不存在")):
        data = dict(_draw_form(), **form)
        r = client.post(f"{DRAWS}preview", data=data)
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and message in page, form
        for key, value in form.items():
            if key != "matter":                                                 # a choice, named in the message
                assert f'value="{value}"' in page, form                         # what was typed is kept
    assert InspectionDraw.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action == "inspection.preview").exists()


def test_only_supervisors_draw(population, app):
    reviewer = _client(app, "reviewer", "reviewer")
    page = reviewer.get(DRAWS).get_data(as_text=True)
    assert 'id="xyp-preview-form"' not in page
    assert reviewer.post(f"{DRAWS}preview", data=_draw_form()).status_code == 403
    _page, preview_id = _preview(_client(app, "supervisor", "supervisor"))
    assert reviewer.post(f"{DRAWS}new", data={"preview": preview_id}).status_code == 403
    assert _client(app, "dr_catalog", "catalog_admin").get(DRAWS).status_code == 403
    assert InspectionDraw.select().count() == 0
    assert _draw(_client(app, "root", "sysadmin")).status_code == 302


def test_only_the_assigned_inspector_records_an_inspection(population, app):
    _draw(_client(app, "supervisor", "supervisor"))
    item = SupervisionItem.select().where(SupervisionItem.kind == "inspection").order_by(SupervisionItem.id).first()
    other = next(u for u in ("supervisor", "supervisor2", "supervisor3") if u != item.assignee)
    client = _client(app, other, "supervisor")
    page = client.get(f"{ITEMS}item/{item.id}/").get_data(as_text=True)
    assert 'id="xyp-result-form"' not in page and "指派给了" in page
    r = client.post(f"{ITEMS}item/{item.id}/result", data={"result": "failed", "note": "不是我的抽查"})
    assert r.status_code == 403 and "只有被指派的检查人员可以记录结果" in r.get_data(as_text=True)
    assert SupervisionItem.get_by_id(item.id).state == "pending"
    # the workbench of the assignee lists it; the other's does not
    assert f'data-item="{item.id}"' not in client.get("/admin/xinyipi_workbench/").get_data(as_text=True)
    assignee = _client(app, item.assignee, "supervisor")
    assert f'data-item="{item.id}"' in assignee.get("/admin/xinyipi_workbench/").get_data(as_text=True)
    mine = assignee.get(ITEMS + "?mine=1&kind=inspection").get_data(as_text=True)
    assert str(item.id) in re.findall(r'<tr data-item="(\d+)"', mine)
    r = assignee.post(f"{ITEMS}item/{item.id}/result", data={"result": "passed", "note": "抽查合格"})
    assert r.status_code == 302 and SupervisionItem.get_by_id(item.id).state == "passed"


# --- the credit archive ---------------------------------------------------------------------

def _fail(app, case):
    item = _verification(case)
    r = _client(app, "supervisor", "supervisor").post(
        f"{ITEMS}item/{item.id}/result", data={"result": "failed", "note": "承诺的场地不存在"})
    assert r.status_code == 302
    return service.get(case.number)


def test_the_archive_page_shows_the_history(committed, app):
    case = _fail(app, committed)
    code = case.subject.code
    client = _client(app, "designer_x", "process_designer")               # every staff role may read it
    r = client.get(f"{ARCHIVE}?code={code.lower()}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"{ARCHIVE}{code}/")
    page = client.get(f"{ARCHIVE}{code}/").get_data(as_text=True)
    assert case.subject.name in page and "严重失信主体" in page
    for reason in effective_tier(case.subject).reasons:
        assert reason in page
    events = page[page.index('id="xyp-archive-events"'):]
    for what in ("提交申请", "签署告知承诺书", "撤销许可", "严重失信记录", "告知承诺核查：不合格（违约）"):
        assert what in events, what
    assert f'<tr data-number="{case.number}" data-status="revoked">' in page
    assert 'id="xyp-archive-changes"' in page and 'id="xyp-archive-supervision"' in page
    record = DishonestyRecord.get(DishonestyRecord.case_number == case.number)
    assert f'<tr data-record="{record.id}">' in page
    # the subject's own page links here
    from plugin.credit.models import Subject
    subject_page = _client(app, "reviewer", "reviewer").get(
        f"/admin/xinyipi_subject/details/?id={Subject.get(Subject.code == code).id}").get_data(as_text=True)
    assert f'href="{ARCHIVE}{code}/"' in subject_page


def test_the_archive_downloads_as_csv_and_json(committed, app):
    case = _fail(app, committed)
    code = case.subject.code
    client = _client(app, "approver", "approver")
    r = client.get(f"{ARCHIVE}{code}/archive.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == f'attachment; filename="credit-archive-{code}.csv"'
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["时间", "类别", "事件", "办件编号", "事项编码", "事项名称", "详情"]
    revocation = [row for row in rows if row[2] == "撤销许可"]
    assert len(revocation) == 1 and revocation[0][3] == case.number and "承诺的场地不存在" in revocation[0][6]
    assert any(row[1] == "等级变动" and row[3] == case.number for row in rows)

    r = client.get(f"{ARCHIVE}{code}/archive.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"] == f'attachment; filename="credit-archive-{code}.json"'
    data = json.loads(r.get_data(as_text=True))
    assert data["subject"]["code"] == code and data["tier"]["blacklisted"] is True
    [app_row] = [a for a in data["applications"] if a["number"] == case.number]
    assert app_row["status"] == "revoked" and "承诺的场地不存在" in app_row["revocation_reason"]
    assert len(data["tier_changes"]) == 1 and data["supervision"][0]["state"] == "failed"
    assert len(data["events"]) == len(rows) - 1


def test_the_archive_refuses_bad_and_unknown_codes(seeded, app):
    client = _client(app, "reviewer", "reviewer")
    r = client.get(f"{ARCHIVE}?code=12345")
    assert r.status_code == 400 and "证件号码无效" in r.get_data(as_text=True)
    unknown = make_credit_code(random.Random("nobody-here"))
    for url in (f"{ARCHIVE}{unknown}/", f"{ARCHIVE}{unknown}/archive.csv", f"{ARCHIVE}{unknown}/archive.json"):
        r = client.get(url)
        assert r.status_code == 404 and f"信用主体 {unknown} 不存在" in r.get_data(as_text=True), url
    assert app.test_client().get(f"{ARCHIVE}{unknown}/").status_code == 302         # anonymous: sign in


# --- the dashboard ----------------------------------------------------------------------------

def test_the_dashboard_counts_supervision_and_revocations(committed, app):
    from admin.workbench import workload_figures
    with frozen_clock(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=60)):
        _committed("orange")                                                   # its verification is overdue
    figures = workload_figures()
    assert (figures["supervision_pending"], figures["supervision_overdue"], figures["revocations_count"]) == (2, 1, 0)
    case = _fail(app, committed)
    figures = workload_figures()
    assert (figures["supervision_pending"], figures["supervision_overdue"], figures["revocations_count"]) == (1, 1, 1)
    page = _client(app, "reviewer", "reviewer").get("/admin/").get_data(as_text=True)
    assert re.search(r'id="kpi-supervision"><span class="xyp-kpi-n">1</span>待办监管事项（其中 1 项已超期）', page)
    assert re.search(r'id="kpi-revocations"><span class="xyp-kpi-n text-danger">1</span>', page)
    revoked = page[page.index('id="list-revocations"'):]
    assert case.number in revoked[:2000] and case.revocation_reason in revoked[:2000]


# --- Chinese first ----------------------------------------------------------------------------

def test_the_supervision_pages_show_no_english(committed, app):
    """The pages the admin's crawl (tests/admin/test_admin_i18n.py) does not reach, with data in them."""
    from plugin.accounts import StaffUser
    from tests.admin.test_admin_i18n import _leaks
    client = _client(app, "supervisor", "supervisor")
    _approved("blue")
    _draw(client)
    case = _fail(app, committed)
    record = InspectionDraw.get()
    from plugin.engine.models import ProcessDefinition
    # data, as the admin's crawl counts it: usernames, tier and scheme codes, the words of process keys
    data = {u for (u,) in StaffUser.select(StaffUser.username).tuples()} | {"haikou", "orange", "black", "blue"} | {
        word for (k,) in ProcessDefinition.select(ProcessDefinition.key).tuples() for word in k.split("_")}
    # the case page's timeline quotes the process version, its element ids and form field ids as they are
    data |= {"commitment v", "Task", "SignCommitment", "agree"}
    urls = [f"{ITEMS}item/{_verification(case).id}/", f"{DRAWS}draw/{record.id}/?replay=1", DRAWS, ITEMS + "?state=all",
            f"{ARCHIVE}{case.subject.code}/", f"/admin/xinyipi_application/case/{case.number}/", "/admin/xinyipi_workbench/"]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        assert not _leaks(r.get_data(as_text=True), data), (url, _leaks(r.get_data(as_text=True), data))
    preview = client.post(f"{DRAWS}preview", data=_draw_form()).get_data(as_text=True)
    assert not _leaks(preview, data)
    english = client.get(f"{ITEMS}item/{_verification(case).id}/?lang=en").get_data(as_text=True)
    assert "Commitment verification" in english and "Findings" in english
    client.get("/admin/?lang=zh_CN")
