"""Whole cases through the portal: instant approval, commitment, tolerated acceptance and its
supplement, standard review with tracking, the negative list; PDFs are real PDFs."""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import re

from pypdf import PdfReader

from plugin.applications import service
from plugin.applications.materials import CaseMaterial, Commitment
from plugin.applications.models import Application, AuditEntry, HumanTask
from plugin.credit.models import Subject
from plugin.db import now as db_now
from tests.helpers import actor_for, add_record, values_for
from tests.portal.conftest import PDF, applicant_task_link, case_page, file, start_draft, submit

INSTANT = "000117006000-HK"       # 公共场所卫生许可证核发 (instant_approval)
TOLERANCE = "000128001000-HK"     # 户外广告设施设置审批 (tolerance; M006 容缺后补)
COMMITMENT = "000119001000-HK"    # 人力资源服务许可 (commitment; M006, M062 replaced)
STANDARD = "000117003000-HK"      # 医疗机构执业登记 (standard_review)
NEGATIVE = "000122001000-HK"      # 道路普通货物运输经营许可: negative list, severe records


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _staff_step(number: str, choice: str | None = None):
    case = service.get(number)
    [task] = service.ready_tasks(case)
    values = values_for(task, choice)
    service.complete_task(number, task["id"], values, actor_for(case, task["lane"]))
    return task["name"]


def _sign(client, number) -> str:
    task = applicant_task_link(case_page(client, number))
    page = client.get(task).get_data(as_text=True)
    digest = re.search(r'name="text_sha256" value="([0-9a-f]{64})"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = client.post(task, data={"agree": "true", "text_sha256": digest, "version": version})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return page


def test_guide_shows_what_the_tier_gets(portal_app, applicant):
    anonymous = portal_app.test_client().get(f"/portal/matters/{INSTANT}").get_data(as_text=True)
    assert "公共场所卫生许可证核发" in anonymous and "法定时限" in anonymous and "20 个工作日" in anonymous
    assert "登录后可查看您的信用等级" in anonymous
    red = applicant("red").get(f"/portal/matters/{INSTANT}").get_data(as_text=True)
    assert "秒批" in red and re.search(r'data-testid="promised">1 个工作日', red)
    waived = re.search(r'data-disposition="waived">(.*?)</ul>', red, re.S).group(1)
    assert "卫生管理制度" in waived and "公共场所卫生检测或评价报告" in waived
    fetched = re.search(r'data-disposition="elicence">(.*?)</ul>', red, re.S).group(1)
    assert "营业执照" in fetched
    orange = applicant("orange").get(f"/portal/matters/{TOLERANCE}").get_data(as_text=True)
    assert "容缺受理" in orange
    deferred = re.search(r'data-disposition="defer">(.*?)</ul>', orange, re.S).group(1)
    assert "房屋产权证明或租赁合同" in deferred and "5 个工作日内补正" in deferred
    commitment = applicant("orange").get(f"/portal/matters/{COMMITMENT}").get_data(as_text=True)
    replaced = re.search(r'data-disposition="commitment">(.*?)</ul>', commitment, re.S).group(1)
    assert "房屋产权证明或租赁合同" in replaced and "专职工作人员名单及学历证明" in replaced
    blue = applicant("blue").get(f"/portal/matters/{TOLERANCE}").get_data(as_text=True)
    assert "标准审批" in blue and 'data-disposition="defer"' not in blue


def test_search_finds_matters(portal_app):
    client = portal_app.test_client()
    page = client.get("/portal/?q=演出").get_data(as_text=True)
    assert "营业性演出审批" in page and "食品经营许可" not in page
    page = client.get("/portal/?q=没有这种事项").get_data(as_text=True)
    assert "没有找到相关事项" in page


def test_red_instant_approval_and_its_decision_pdf(applicant):
    client = applicant("red")
    number = start_draft(client, INSTANT)
    r = submit(client, number)
    assert r.status_code == 302
    case = Application.get(Application.number == number)
    assert case.status == "approved" and case.path == "instant" and case.form_data["contact_name"] == "王小明"
    states = {m.material_code: m.state for m in CaseMaterial.select().where(CaseMaterial.application == case)}
    assert states == {"M001": "provided", "M002": "fetched", "M003": "fetched", "M007": "provided",
                      "M008": "waived", "M009": "provided", "M012": "waived", "M004": "not_given"}
    page = case_page(client, number)
    assert "准予许可" in page and "下载准予许可决定书" in page and "秒批" in page
    r = client.get(f"/portal/cases/{number}/decision.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = _pdf_text(r.data)
    assert number in text and "准予行政许可决定书" in text and "海口椰城餐饮管理有限公司" in text
    assert "公共场所卫生许可证核发" in text and "准予许可" in text
    # the audit trail has the whole life, draft to decision
    actions = [a.action for a in AuditEntry.select().where(AuditEntry.application == case).order_by(AuditEntry.id)]
    assert actions == ["draft_created", "submitted", "accepted", "process_started"]


def test_commitment_is_signed_with_its_hash_and_downloadable(applicant):
    client = applicant("orange")
    number = start_draft(client, COMMITMENT)
    assert submit(client, number).status_code == 302
    case = Application.get(Application.number == number)
    assert case.status == "in_review" and case.path == "commitment"
    page = client.get(applicant_task_link(case_page(client, number))).get_data(as_text=True)
    text = re.search(r'data-testid="commitment-text"[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert "告知承诺书" in text and "海南琼州文化传媒有限公司" in text and number in text
    assert "房屋产权证明或租赁合同" in text and "专职工作人员名单及学历证明" in text

    # a text other than the one shown is not signed
    task = applicant_task_link(case_page(client, number))
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = client.post(task, data={"agree": "true", "text_sha256": "0" * 64, "version": version})
    assert r.status_code == 409 and "请重新阅读后再签署" in r.get_data(as_text=True)
    # not ticking the box is a field error
    digest = re.search(r'name="text_sha256" value="([0-9a-f]{64})"', page).group(1)
    r = client.post(task, data={"text_sha256": digest, "version": version})
    assert r.status_code == 422 and "请勾选“本人已阅读并承诺所填信息及承诺事项真实有效”" in r.get_data(as_text=True)
    assert Commitment.select().count() == 0 and Application.get(Application.number == number).status == "in_review"

    _sign(client, number)
    case = Application.get(Application.number == number)
    assert case.status == "approved"
    [signed] = Commitment.select().where(Commitment.application == case)
    assert signed.kind == "notification" and signed.signer_code == client.code
    assert signed.text_sha256 == hashlib.sha256(signed.text.encode("utf-8")).hexdigest() == digest
    import html
    assert signed.text == html.unescape(text)
    page = case_page(client, number)
    assert signed.text_sha256 in page
    r = client.get(f"/portal/cases/{number}/commitments/{signed.id}.pdf")
    pdf = _pdf_text(r.data)
    assert number in pdf and signed.text_sha256 in pdf and "告知承诺书" in pdf and "签署时间" in pdf
    states = {m.material_code: m.state for m in CaseMaterial.select().where(CaseMaterial.application == case)}
    assert states["M006"] == states["M062"] == "replaced"


def test_orange_tolerated_acceptance_then_supplement(applicant, portal_app):
    client = applicant("orange")
    number = start_draft(client, TOLERANCE)
    page = client.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    assert re.search(r'data-material="M006" data-disposition="defer"', page)
    assert submit(client, number).status_code == 302             # without the deferred M006
    case = Application.get(Application.number == number)
    assert case.path == "tolerance"
    m006 = CaseMaterial.get((CaseMaterial.application == case) & (CaseMaterial.material_code == "M006"))
    assert m006.state == "owed" and m006.due_date is None
    page = case_page(client, number)
    assert "尚需补正的材料" in page and "审批决定作出后开始计算补正期限" in page

    sign_page = _sign(client, number)
    assert "容缺受理承诺书" in sign_page and "房屋产权证明或租赁合同" in sign_page and "5 个工作日" in sign_page
    assert Commitment.get(Commitment.application == case).kind == "tolerance"
    assert "等待审查人员办理：审查" in case_page(client, number)
    assert _staff_step(number) == "审查"
    assert _staff_step(number) == "决定"
    case = Application.get(Application.number == number)
    assert case.status == "approved" and case.next_due_at is not None
    due = service.supplement_deadline(case)
    m006 = CaseMaterial.get((CaseMaterial.application == case) & (CaseMaterial.material_code == "M006"))
    assert m006.due_date == due and due > _dt.date.today()
    page = case_page(client, number)
    assert f"补正期限：{due.isoformat()}" in page and "还剩 5 个工作日" in page

    task = applicant_task_link(page)
    page = client.get(task).get_data(as_text=True)
    assert "需要补正的材料" in page and 'name="file_M006"' in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = client.post(task, data={"note": "补交租赁合同", "version": version}, content_type="multipart/form-data")
    assert r.status_code == 422 and "请上传“房屋产权证明或租赁合同”" in r.get_data(as_text=True)
    r = client.post(task, data={"note": "补" * 501, "version": version, "file_M006": file(PDF + b"lease", "租赁合同.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "“补正说明”最多 500 个字" in r.get_data(as_text=True)
    m006 = CaseMaterial.get_by_id(m006.id)
    assert m006.state == "supplied" and m006.filename == "租赁合同.pdf"      # the file was kept
    r = client.post(task, data={"note": "补交租赁合同", "version": version}, content_type="multipart/form-data")
    assert r.status_code == 302
    case = Application.get(Application.number == number)
    assert case.status == "approved" and case.next_due_at is None
    assert HumanTask.get((HumanTask.application == case) & (HumanTask.name == "补正容缺材料")).state == "completed"
    page = case_page(client, number)
    assert "尚需补正的材料" not in page and "已补正" in page and "完成“补正容缺材料”" in page


def test_blue_standard_review_is_tracked(applicant):
    client = applicant("blue")
    number = start_draft(client, STANDARD)
    assert submit(client, number).status_code == 302
    page = case_page(client, number)
    case = Application.get(Application.number == number)
    assert case.status == "in_review" and case.path == "standard"
    assert "等待审查人员办理：受理" in page
    assert re.search(rf'data-testid="due-date">{case.due_date.isoformat()}', page)
    assert "还剩 20 个工作日" in page                        # blue: the matter's own 20 days
    assert "diagram.xml" in page
    assert _staff_step(number) == "受理"
    assert "等待审查人员办理：审查" in case_page(client, number)
    _staff_step(number)
    _staff_step(number)
    page = case_page(client, number)
    assert "准予许可" in page and "材料齐全，符合条件" in page and "审批负责人" in page
    assert re.search(r'data-testid="days-taken">0 个工作日', page)
    assert "下载准予许可决定书" in page


def test_blue_rejection_shows_the_reasons_and_no_decision_pdf(applicant):
    client = applicant("blue")
    number = start_draft(client, STANDARD)
    submit(client, number)
    _staff_step(number)
    _staff_step(number, "rejected")
    _staff_step(number, "rejected")
    page = case_page(client, number)
    assert "不予许可" in page and "决定" in page
    assert client.get(f"/portal/cases/{number}/decision.pdf").status_code == 404


def test_negative_list_closes_the_matter_with_its_legal_basis(applicant):
    client = applicant("black", "严重")
    page = client.get(f"/portal/matters/{NEGATIVE}").get_data(as_text=True)
    assert 'data-testid="closed"' in page and "本事项对您关闭" in page
    assert "发改财金〔2016〕141号" in page and "如何进行信用修复" in page and "信用修复" in page
    assert f"/portal/matters/{NEGATIVE}/apply" not in page          # no apply button
    r = client.post(f"/portal/matters/{NEGATIVE}/apply")
    assert r.status_code == 403
    page = r.get_data(as_text=True)
    assert "不予受理" in page and "严重失信" in page and "发改财金〔2016〕141号" in page
    assert Application.select().count() == 0
    # credit repair is open to them
    page = client.get("/portal/matters/000105009000-HK").get_data(as_text=True)
    assert "本事项对您关闭" not in page and "/portal/matters/000105009000-HK/apply" in page


def test_a_record_that_appears_before_submission_refuses_it_on_the_record(applicant):
    client = applicant("orange")
    number = start_draft(client, NEGATIVE)
    add_record(Subject.get(Subject.code == client.code), "严重", reason="被人民法院列为失信被执行人")
    r = submit(client, number, codes=["M001", "M030"])
    assert r.status_code == 302
    case = Application.get(Application.number == number)
    assert case.status == "refused" and case.tier_code == "black"
    assert case.tier_snapshot["blacklisted"] is True
    page = case_page(client, number)
    assert 'data-testid="refusal"' in page and "被人民法院列为失信被执行人" in page
    assert "发改财金〔2016〕141号" in page and "如何进行信用修复" in page
    refused = AuditEntry.get((AuditEntry.application == case) & (AuditEntry.action == "refused"))
    assert refused.detail["legal_basis"] and refused.actor == "system:system"


def test_english_is_one_switch_away(portal_app):
    client = portal_app.test_client()
    assert '<html lang="zh-CN">' in client.get("/portal/").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/portal/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/portal/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/portal/?lang=zh_CN").get_data(as_text=True)


def test_standalone_home_leads_to_the_portal(portal_app):
    r = portal_app.test_client().get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/")


def test_a_supplement_after_its_deadline_is_refused(applicant):
    client = applicant("orange")
    number = start_draft(client, TOLERANCE)
    submit(client, number)
    _sign(client, number)
    _staff_step(number)
    _staff_step(number)
    task = applicant_task_link(case_page(client, number))
    page = client.get(task).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    # the deadline has passed and the ticker has not run yet
    past = db_now() - _dt.timedelta(minutes=1)
    Application.update(next_due_at=past).where(Application.number == number).execute()
    r = client.post(task, data={"note": "迟到的补正", "version": version, "file_M006": file(PDF, "租赁合同.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 409 and "补正期限已于" in r.get_data(as_text=True)
    case = Application.get(Application.number == number)
    assert case.status == "approved"
    assert CaseMaterial.get((CaseMaterial.application == case) & (CaseMaterial.material_code == "M006")).state == "owed"
