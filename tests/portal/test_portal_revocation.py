"""The applicant's side of supervision: a revoked case shows 已撤销 with its reason and date (case
page, my cases, timeline); the credit-repair form lists the applicant's own unrepaired records with
their numbers, and a wrong number is refused next to the field with nothing lost."""
from __future__ import annotations

import re

from plugin.applications import service
from plugin.applications.models import Application, HumanTask
from plugin.applications.progress import local_time
from plugin.credit.models import SEVERE, DishonestyRecord, Subject
from plugin.supervision import service as supervision
from plugin.supervision.models import SupervisionItem
from tests.helpers import add_record, demo_code, new_subject
from tests.portal.conftest import applicant_task_link, case_page, start_draft, submit

COMMITMENT = "000119001000-HK"    # 人力资源服务许可 (commitment path for orange)


def _signed_commitment_case(client) -> Application:
    number = start_draft(client, COMMITMENT)
    assert submit(client, number).status_code == 302
    task = applicant_task_link(case_page(client, number))
    page = client.get(task).get_data(as_text=True)
    digest = re.search(r'name="text_sha256" value="([0-9a-f]{64})"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert client.post(task, data={"agree": "true", "text_sha256": digest, "version": version}).status_code == 302
    case = service.get(number)
    assert case.status == "approved"
    return case


def test_a_revoked_case_shows_its_reason_and_date(applicant):
    client = applicant("orange")
    case = _signed_commitment_case(client)
    item = SupervisionItem.get((SupervisionItem.application == case.id) & (SupervisionItem.kind == "verification"))
    supervision.record_result(item.id, False, "实地核查：承诺的经营场所不存在", service.Actor.staff("supervisor", "supervisor"))
    case = service.get(case.number)
    assert case.status == "revoked"

    page = case_page(client, case.number)
    assert re.search(r'data-testid="status">已撤销<', page)
    revocation = re.search(r'data-testid="revocation">(.*?)</div>', page, re.S).group(1)
    assert case.revocation_reason in revocation and "实地核查：承诺的经营场所不存在" in revocation
    assert local_time(case.revoked_at).strftime("%Y-%m-%d") in revocation
    assert "容缺材料未在期限内补正" not in page                   # not the supplement breach's wording
    for label in ("告知承诺核查不合格", "撤销许可", "记入失信记录", "信用等级由“橙色”变为“黑色”"):
        assert label in page, label
    assert "认领" not in page                                      # staff-internal steps stay internal

    cases = client.get("/portal/cases").get_data(as_text=True)
    card = cases[cases.index(f'data-number="{case.number}"'):]
    card = card[:card.index("</li>")]
    assert "已撤销" in card and case.revocation_reason in card
    assert local_time(case.revoked_at).strftime("%Y-%m-%d") in card


def test_claims_by_staff_are_not_shown_to_the_applicant(applicant):
    client = applicant("blue")
    number = start_draft(client, "000117003000-HK")                   # 医疗机构执业登记, standard review
    assert submit(client, number).status_code == 302
    task = HumanTask.get((HumanTask.application == service.get(number).id) & (HumanTask.state == "ready"))
    service.claim_task(task.task_id, service.Actor.staff("reviewer", "reviewer"))
    page = case_page(client, number)
    assert "认领" not in page and "reviewer" not in page
    assert "等待审查人员办理：受理" in page


def _repair_task(client) -> tuple[str, str]:
    repair = service.repair_matter()
    number = start_draft(client, repair.code)
    r = submit(client, number)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    task = applicant_task_link(case_page(client, number))
    assert task is not None
    return number, task


def test_the_repair_form_lists_the_applicants_unrepaired_records(applicant):
    client = applicant("black", SEVERE)
    subject = Subject.get(Subject.code == demo_code("black", SEVERE))
    mine = list(DishonestyRecord.select().where((DishonestyRecord.subject == subject)
                                                & DishonestyRecord.repaired_at.is_null()))
    assert mine
    number, task = _repair_task(client)
    page = client.get(task).get_data(as_text=True)
    listed = re.search(r'data-testid="repair-records">(.*?)</section>', page, re.S).group(1)
    assert sorted(int(i) for i in re.findall(r'<tr data-record="(\d+)">', listed)) == sorted(r.id for r in mine)
    for record in mine:
        assert record.reason in listed
    others = DishonestyRecord.select().where(DishonestyRecord.subject != subject).first()
    assert others is None or f'data-record="{others.id}"' not in listed
    assert 'name="record_ids"' in page


def test_a_wrong_record_number_is_shown_next_to_the_field(applicant):
    client = applicant("black", SEVERE)
    subject = Subject.get(Subject.code == demo_code("black", SEVERE))
    mine = DishonestyRecord.select().where((DishonestyRecord.subject == subject)
                                           & DishonestyRecord.repaired_at.is_null()).first()
    stranger = add_record(new_subject("blue", seed=77), "一般", "他人的失信记录")
    number, task = _repair_task(client)
    version = re.search(r'name="version" value="(\d+)"', client.get(task).get_data(as_text=True)).group(1)
    form = {"correction": "已缴纳罚款并完成整改", "agree": "true", "version": version}

    for ids, message in ((f"{mine.id}，{stranger.id}", f"编号 {stranger.id} 不是本主体未修复的失信记录"),
                         ("第一条", "失信记录编号只能是数字")):
        r = client.post(task, data=dict(form, record_ids=ids))
        page = r.get_data(as_text=True)
        assert r.status_code == 422
        field = re.search(r'<div class="field has-error" data-field="record_ids">(.*?)</div>', page, re.S).group(1)
        assert 'aria-invalid="true"' in field and f'>{ids}</textarea>' in field
        assert re.search(rf'<p class="error" id="f-record_ids-error">[^<]*{re.escape(message)}', field), ids
        assert "已缴纳罚款并完成整改" in page                          # the other fields are kept too
        assert 'data-testid="repair-records"' in page
    case = service.get(number)
    assert case.version == int(version) and service.ready_tasks(case)[0]["id"] in task

    r = client.post(task, data=dict(form, record_ids=str(mine.id)))
    assert r.status_code == 302
    assert service.ready_tasks(service.get(number))[0]["lane"] == "reviewer"
