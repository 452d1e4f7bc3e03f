"""Supervision in Chromium: a supervisor draws random inspections in the admin with the system's seed
(preview first, then the draw, then the replay check), opens the inspection assigned to them from
the workbench, records 不合格 and sees the case revoked; then the applicant signs in to the portal
(on a phone) and sees the revocation and its reason. Screenshots under test-artifacts/screenshots/."""
from __future__ import annotations

import re

from plugin.accounts import StaffUser
from plugin.applications import service
from plugin.applications.progress import business_today, local_time
from plugin.credit.models import DishonestyRecord, Subject
from plugin.credit.tiers import effective_tier
from plugin.supervision.models import SupervisionItem
from tests.helpers import bound_account, demo_code, matter_with, work_through

PASSWORD = "portal-pass-1"
NOTE = "实地检查：经营场所已改作他用，与申请时承诺不符"


def _approved(tier: str):
    case, _done = work_through(service.apply(matter_with("standard_review").code, demo_code(tier)))
    assert case.status == "approved"
    return case


def test_supervisor_draws_fails_an_inspection_and_the_applicant_sees_the_revocation(
        live_server, page, phone_page, shot, staff_login):
    case = _approved("blue")                  # the only blue case: drawn whatever the seed (ratio rounded up)
    other = _approved("red")
    # the seed is the system's: with one active inspector, every drawn case is theirs
    StaffUser.update(active=False).where((StaffUser.role == "supervisor") & (StaffUser.username != "supervisor")).execute()
    code = case.subject.code
    before = effective_tier(case.subject)

    # -- the supervisor previews the draw, then makes it ------------------------------------
    staff_login(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/admin/xinyipi_inspection_draw/")
    page.get_by_label("抽查范围").select_option(value="")
    page.get_by_label("抽查基准日").fill(business_today().isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="预览").click()
    preview = page.locator("#xyp-preview")
    seed = page.locator("#xyp-preview-seed").inner_text()
    assert seed.isdigit()
    previewed = page.locator("#xyp-preview-cases tbody tr").evaluate_all("rows => rows.map(r => r.dataset.number)")
    assert case.number in previewed and other.number in previewed
    blue_row = preview.locator('#xyp-preview-tiers tr[data-tier="blue"]')
    assert re.search(r"蓝色\s+10%\s+1\s+1", blue_row.inner_text())
    assert SupervisionItem.select().count() == 0
    shot(page, "preview")

    with page.expect_navigation():
        page.get_by_role("button", name="确认抽取").click()
    assert "已完成抽取" in page.locator(".alert-success").inner_text()
    assert page.locator("#xyp-seed").inner_text() == seed
    drawn = page.locator("#xyp-drawn tbody tr").evaluate_all("rows => rows.map(r => r.dataset.number)")
    assert drawn == previewed
    with page.expect_navigation():
        page.get_by_role("link", name="重新抽取核验").click()
    assert page.locator("#xyp-replay-result").get_attribute("data-same") == "1"
    shot(page, "draw-replayed")

    # -- the inspection assigned to them, from the workbench ----------------------------------
    page.goto(f"{live_server.url}/admin/xinyipi_workbench/")
    row = page.locator("#xyp-supervision-table tbody tr", has_text=case.number)
    assert row.count() == 1 and "双随机抽查" in row.inner_text()
    shot(page, "workbench")
    with page.expect_navigation():
        row.get_by_role("link", name="记录结果").click()
    assert case.number in page.locator("h1").inner_text()
    assert "立即撤销该办件的许可" in page.locator("#xyp-failure-warning").inner_text()
    assert page.get_by_label("失信严重程度（仅不合格时适用）").input_value() == "严重"

    # an empty result is refused, and the typed note stays
    page.get_by_label("核查（检查）情况").fill(NOTE)
    with page.expect_navigation():
        page.get_by_role("button", name="保存结果").click()
    assert "请选择核查（检查）结果" in page.locator("#xyp-error").inner_text()
    assert page.get_by_label("核查（检查）情况").input_value() == NOTE
    assert service.get(case.number).status == "approved"

    page.get_by_label("不合格", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="保存结果").click()
    assert "已撤销许可" in page.locator(".alert").first.inner_text()
    assert page.locator("#xyp-item-case .xyp-status").inner_text() == "已撤销"
    assert NOTE in page.locator("#xyp-revocation-reason").inner_text()
    assert page.locator("#xyp-breach-records tbody tr").count() == 1
    shot(page, "recorded-failed")

    with page.expect_navigation():
        page.locator("#xyp-item-case").get_by_role("link", name=case.number).click()
    assert page.locator(".xyp-status").first.inner_text() == "已撤销"
    assert NOTE in page.locator("#xyp-revocation-reason").inner_text()
    assert "双随机抽查不合格" in page.locator("#xyp-timeline").inner_text()
    shot(page, "case-revoked")

    revoked = service.get(case.number)
    assert revoked.status == "revoked" and NOTE in revoked.revocation_reason
    assert DishonestyRecord.get(DishonestyRecord.case_number == case.number).severity == "严重"
    assert effective_tier(Subject.get(Subject.code == code)).code != before.code

    # -- the applicant, on a phone ------------------------------------------------------------
    bound_account(code, PASSWORD)
    phone = phone_page
    phone.goto(f"{live_server.url}/portal/login")
    phone.get_by_label("统一社会信用代码或身份证号").fill(code)
    phone.get_by_label("密码").fill(PASSWORD)
    with phone.expect_navigation():
        phone.get_by_role("button", name="登录").click()
    card = phone.locator(f'li[data-number="{case.number}"]')
    assert "已撤销" in card.inner_text() and NOTE in card.locator('[data-testid="revocation"]').inner_text()
    shot(phone, "portal-cases")
    with phone.expect_navigation():
        card.get_by_role("link").first.click()
    assert phone.get_by_test_id("status").inner_text() == "已撤销"
    assert NOTE in phone.get_by_test_id("revocation-reason").inner_text()
    assert phone.get_by_test_id("revoked-at").inner_text() == local_time(revoked.revoked_at).strftime("%Y-%m-%d")
    assert "双随机抽查不合格" in phone.locator(".timeline").inner_text()
    shot(phone, "portal-case-revoked")
