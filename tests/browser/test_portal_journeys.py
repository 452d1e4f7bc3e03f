"""Citizen journeys through the portal (办事大厅) in Debian's Chromium, with screenshots saved
under test-artifacts/screenshots/: red (instant approval end to end, on a 375 px phone), orange
(tolerated acceptance, then the supplement), blue (standard review, a reviewer and an approver
working the case in the admin), black (a negative-list matter refused with its legal basis)."""
from __future__ import annotations

import re

import pytest

from plugin import assets
from plugin.applications import service
from plugin.applications.materials import CaseMaterial, Commitment
from plugin.applications.models import Application
from tests.helpers import actor_for, bound_account, demo_code, values_for

PASSWORD = "portal-pass-1"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INSTANT = "000117006000-HK"      # 公共场所卫生许可证核发
TOLERANCE = "000128001000-HK"    # 户外广告设施设置审批
STANDARD = "000117003000-HK"     # 医疗机构执业登记
NEGATIVE = "000122001000-HK"     # 道路普通货物运输经营许可 (negative list, severe)
REPAIR = "000105009000-HK"       # 信用修复


def _account(code: str) -> None:
    bound_account(code, PASSWORD)


def _login(page, live_server, code: str) -> None:
    page.goto(f"{live_server.url}/portal/login")
    page.get_by_label("统一社会信用代码或身份证号").fill(code)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert page.url.endswith("/portal/cases"), page.url


def _pdf(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF + name.encode()}


def _fill_and_submit_draft(page) -> str:
    page.get_by_label("经办人姓名").fill("王小明")
    page.get_by_label("联系电话").fill("0898-66668888")
    for code in re.findall(r'name="file_(\w+)"[^>]*aria-required="true"', page.content()):
        page.set_input_files(f"#m-{code}", files=[_pdf(f"{code}.pdf")])
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()
    return page.locator('[data-testid="case-number"]').inner_text()


def _errors(page) -> list[str]:
    """The page's script and console errors, less Chromium's note of a refused form's status
    (422 invalid input, 403 refusal: the pages the test asked for)."""
    return [e for e in page.xyp_errors if not re.search(r"status of (422|403)", e)]


def _fits(page, width: int = 375) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _diagram_marks(page, element_id: str, marker: str) -> None:
    if not assets.bundle_built():
        pytest.fail("bpmn-js bundle not built (make frontend): the case page cannot show its diagram")
    page.locator(f'.xyp-diagram .djs-element.{marker}[data-element-id="{element_id}"]').wait_for()


def test_red_instant_approval_on_a_phone(live_server, phone_page, shot, caplog):
    import logging
    from plugin.credit.models import Subject
    caplog.set_level(logging.INFO, logger="xinyipi.notifications")
    page = phone_page
    red = demo_code("red")
    # the credit library holds the company's contact (as `xinyipi import-subjects` brings it)
    Subject.update(contact_email="boss@yecheng.example.cn").where(Subject.code == red).execute()
    page.goto(f"{live_server.url}/")                              # the standalone home leads to the portal
    assert page.url.endswith("/portal/")
    page.get_by_label("搜索事项").fill("公共场所卫生")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()
    shot(page, "search")
    _fits(page)
    with page.expect_navigation():
        page.get_by_role("link", name="公共场所卫生许可证核发").click()

    # register through the form: a wrong check character is refused with the rule that failed
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="注册").click()
    page.get_by_label("统一社会信用代码或身份证号").fill(red[:-1] + ("0" if red[-1] != "0" else "1"))
    page.get_by_label("名称或姓名").fill("海口椰城餐饮管理有限公司")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="注册").click()
    assert "第18位校验码" in page.locator("#f-code-error").inner_text()
    assert page.locator("#f-code").get_attribute("aria-invalid") == "true"
    assert page.get_by_role("alert").first.is_visible()
    shot(page, "register-error")
    page.get_by_label("统一社会信用代码或身份证号").fill(red)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="注册").click()
    # the public code and name prove nothing: the activation code went to the library's contact
    assert page.url.endswith("/portal/activate")
    assert "bo***@yecheng.example.cn" in page.locator('[data-testid="binding-code-sent"]').inner_text()
    shot(page, "activate")
    _fits(page)
    code = re.findall(r"激活码：(\d{8})", "\n".join(r.getMessage() for r in caplog.records
                                                  if r.name == "xinyipi.notifications"))[-1]
    page.get_by_label("激活码（8 位数字）").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="绑定", exact=True).click()
    assert page.url.endswith(f"/portal/matters/{INSTANT}")       # back to the guide it came from

    assert "秒批" in page.locator('[data-testid="path"]').inner_text()
    assert page.locator('[data-testid="promised"]').inner_text().startswith("1 个工作日")
    assert "卫生管理制度" in page.locator('ul[data-disposition="waived"]').inner_text()
    shot(page, "guide")
    _fits(page)
    with page.expect_navigation():
        page.get_by_role("button", name="在线申请").click()
    shot(page, "draft")
    _fits(page)
    number = _fill_and_submit_draft(page)
    assert page.locator('[data-testid="status"]').inner_text() == "准予许可"
    assert page.locator('[data-testid="decision"]').is_visible()
    _diagram_marks(page, "End_InstantApproved", "xyp-done")
    shot(page, "approved")
    _fits(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="下载准予许可决定书（PDF）").click()
    data = open(download.value.path(), "rb").read()
    assert data.startswith(b"%PDF-") and download.value.suggested_filename.endswith(".pdf")
    case = Application.get(Application.number == number)
    assert case.status == "approved" and case.path == "instant" and case.decided_at is not None
    assert _errors(page) == []


def test_orange_tolerated_acceptance_then_supplement(live_server, page, shot):
    orange = demo_code("orange")
    _account(orange)
    _login(page, live_server, orange)
    page.goto(f"{live_server.url}/portal/matters/{TOLERANCE}")
    assert "容缺受理" in page.locator('[data-testid="path"]').inner_text()
    assert "房屋产权证明或租赁合同" in page.locator('ul[data-disposition="defer"]').inner_text()
    shot(page, "guide")
    with page.expect_navigation():
        page.get_by_role("button", name="在线申请").click()
    number = _fill_and_submit_draft(page)                       # without the deferred lease
    assert "尚需补正的材料" in page.locator('[data-testid="owed"]').inner_text()
    shot(page, "submitted")

    with page.expect_navigation():
        page.get_by_role("link", name="去办理：签署容缺受理承诺书").click()
    text = page.locator('[data-testid="commitment-text"]').inner_text()
    assert "容缺受理承诺书" in text and "房屋产权证明或租赁合同" in text and number in text
    shot(page, "commitment")
    page.get_by_label("本人已阅读并承诺所填信息及承诺事项真实有效").check()
    with page.expect_navigation():
        page.get_by_role("button", name="签署并提交").click()
    assert "容缺受理承诺书已签署" in page.get_by_role("status").first.inner_text()
    _diagram_marks(page, "Task_ToleranceReview", "xyp-current")

    # the reviewer and the approver decide (their own pages are covered by the admin's journeys)
    for _ in range(2):
        case = service.get(number)
        [task] = service.ready_tasks(case)
        service.complete_task(number, task["id"], values_for(task), actor_for(case, task["lane"]))
    page.reload()
    due = service.supplement_deadline(service.get(number))
    assert f"补正期限：{due.isoformat()}" in page.locator('[data-testid="owed"]').inner_text()
    _diagram_marks(page, "Task_Supplement", "xyp-current")
    shot(page, "approved-owing")

    with page.expect_navigation():
        page.get_by_role("link", name="去办理：补正容缺材料").click()
    page.set_input_files("#m-M006", files=[_pdf("租赁合同.pdf")])
    page.get_by_label("补正说明").fill("补交房屋租赁合同")
    shot(page, "supplement")
    with page.expect_navigation():
        page.get_by_role("button", name="提交补正").click()
    assert page.locator('[data-testid="owed"]').count() == 0
    assert "已补正" in page.locator('li[data-material="M006"]').inner_text()
    _diagram_marks(page, "End_Supplemented", "xyp-done")
    shot(page, "supplemented")
    case = Application.get(Application.number == number)
    assert case.status == "approved" and case.next_due_at is None
    assert CaseMaterial.get((CaseMaterial.application == case) & (CaseMaterial.material_code == "M006")).state == "supplied"
    assert Commitment.get(Commitment.application == case).kind == "tolerance"
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert open(download.value.path(), "rb").read().startswith(b"%PDF-")
    assert _errors(page) == []


def test_blue_standard_review_with_staff_in_the_admin(live_server, phone_page, page, shot, staff_login):
    applicant, staff = phone_page, page
    blue = demo_code("blue")
    _account(blue)
    _login(applicant, live_server, blue)
    applicant.goto(f"{live_server.url}/portal/matters/{STANDARD}")
    assert "标准审批" in applicant.locator('[data-testid="path"]').inner_text()
    with applicant.expect_navigation():
        applicant.get_by_role("button", name="在线申请").click()
    number = _fill_and_submit_draft(applicant)
    assert applicant.locator('[data-testid="current-step"]').inner_text() == "等待审查人员办理：受理"
    assert "还剩" in applicant.locator('[data-testid="due-date"]').inner_text()
    _diagram_marks(applicant, "Task_Accept", "xyp-current")
    shot(applicant, "waiting")
    _fits(applicant)

    # the reviewer accepts and reviews, the approver decides, each on the admin's case page
    steps = [("reviewer", "受理", "受理结论", "受理", "受理意见", "材料齐全，予以受理"),
             ("reviewer", "审查", "审查结论", "审查通过", "审查意见", "符合执业登记条件"),
             ("approver", "决定", "许可决定", "准予许可", "决定意见", "同意准予执业登记")]
    for username, name, choice_label, choice, opinion_label, opinion in steps:
        staff.context.clear_cookies()
        staff_login(staff, live_server, username)
        staff.goto(f"{live_server.url}/admin/xinyipi_application/case/{number}/")
        task = staff.locator(".xyp-task", has_text=name)
        task.get_by_label(choice_label).select_option(label=choice)
        task.get_by_label(opinion_label).fill(opinion)
        with staff.expect_navigation():
            task.get_by_role("button", name=f"提交“{name}”").click()
        assert staff.locator(".alert", has_text=f"已完成“{name}”").count() == 1
        shot(staff, f"admin-{name}")
        if name == "受理":
            applicant.reload()
            assert applicant.locator('[data-testid="current-step"]').inner_text() == "等待审查人员办理：审查"
            _diagram_marks(applicant, "Task_Review", "xyp-current")

    applicant.reload()
    assert applicant.locator('[data-testid="status"]').inner_text() == "准予许可"
    reasons = applicant.locator("ul.opinions").inner_text()
    assert "同意准予执业登记" in reasons and "符合执业登记条件" in reasons
    shot(applicant, "approved")
    _fits(applicant)
    with applicant.expect_download() as download:
        applicant.get_by_role("link", name="下载准予许可决定书（PDF）").click()
    assert open(download.value.path(), "rb").read().startswith(b"%PDF-")
    assert Application.get(Application.number == number).status == "approved"
    assert _errors(applicant) == []


def test_black_is_refused_on_a_negative_list_matter(live_server, phone_page, shot):
    page = phone_page
    black = demo_code("black", "严重")
    _account(black)
    _login(page, live_server, black)
    page.goto(f"{live_server.url}/portal/matters/{NEGATIVE}")
    closed = page.locator('[data-testid="closed"]')
    assert "本事项对您关闭" in closed.inner_text()
    assert "发改财金〔2016〕141号" in closed.inner_text() and "严重失信" in closed.inner_text()
    assert page.get_by_role("button", name="在线申请").count() == 0
    assert page.get_by_role("heading", name="如何进行信用修复").is_visible()
    shot(page, "guide-closed")
    _fits(page)

    # an application sent anyway (an old page, a bookmark) is refused with the same reason, and nothing is stored
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    with page.expect_navigation():
        page.evaluate("""([url, token]) => {
            const f = document.createElement('form'); f.method = 'post'; f.action = url;
            const i = document.createElement('input'); i.type = 'hidden'; i.name = 'csrf_token'; i.value = token;
            f.appendChild(i); document.body.appendChild(f); f.submit(); }""",
                      [f"/portal/matters/{NEGATIVE}/apply", token])
    assert page.get_by_role("heading", level=1).inner_text().startswith("不予受理")
    assert "发改财金〔2016〕141号" in page.locator('[data-testid="closed"]').inner_text()
    shot(page, "refused")
    assert Application.select().join(Application.subject.rel_model).where(
        Application.subject.rel_model.code == black).count() == 0

    # the way back: credit repair is one click away and open to them
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("信用修复.*办事指南")).click()
    assert page.url.endswith(f"/portal/matters/{REPAIR}")
    assert page.locator('[data-testid="closed"]').count() == 0
    assert page.get_by_role("button", name="在线申请").is_visible()
    shot(page, "repair-guide")
