"""A reviewer's journey in Chromium: sign in, find a blue-tier case in the list, open it, see the
diagram with the current step highlighted, complete 受理 through the generated form (after a
refused empty submission), and see the case move on to 审查."""
from __future__ import annotations

import re

import pytest

from plugin import assets
from plugin.applications import service
from plugin.applications.models import HumanTask
from tests.helpers import demo_code, matter_with


@pytest.fixture
def blue_case(live_server):
    """A blue-tier case on the standard path, applied through the service (the live server's database)."""
    case = service.apply(matter_with("standard_review").code, demo_code("blue"))
    assert case.tier_code == "blue" and case.status == "in_review"
    return case


def test_reviewer_opens_a_blue_case_and_accepts_it(live_server, blue_case, page, shot, staff_login):
    staff_login(page, live_server, "reviewer")

    # the list, filtered to the case by search, shows the tier's swatch and links the case page
    page.goto(f"{live_server.url}/admin/xinyipi_application/?search={blue_case.number}")
    row = page.locator("table tbody tr", has_text=blue_case.number)
    assert row.count() == 1 and "蓝色" in row.inner_text()
    shot(page, "list")
    with page.expect_navigation():
        row.get_by_role("link", name=blue_case.number).click()
    assert page.url.endswith(f"/case/{blue_case.number}/")
    assert page.locator("h1").inner_text() == f"办件 {blue_case.number}"

    if assets.bundle_built():
        current = page.locator('.xyp-diagram .djs-element.xyp-current[data-element-id="Task_Accept"]')
        current.wait_for()
        assert page.locator('.xyp-diagram .djs-element.xyp-done[data-element-id="StartEvent_Submit"]').count() == 1
    else:
        pytest.fail("bpmn-js bundle not built (make frontend): the case page cannot show its diagram")
    shot(page, "case-before")

    # an empty submission is refused field by field and saves nothing
    task = page.locator(".xyp-task", has_text="受理")
    with page.expect_navigation():
        task.get_by_role("button", name="提交“受理”").click()
    assert page.locator("#xyp-alert").inner_text() == "表单有误，请按提示修改后重新提交。"
    assert "“受理结论”为必填项" in page.locator(".invalid-feedback").all_inner_texts()
    assert service.get(blue_case.number).version == blue_case.version
    shot(page, "form-errors")

    task = page.locator(".xyp-task", has_text="受理")
    task.get_by_label("受理结论").select_option(label="受理")
    task.get_by_label("受理意见").fill("材料齐全，符合法定形式，予以受理")
    with page.expect_navigation():
        task.get_by_role("button", name="提交“受理”").click()

    assert page.locator(".alert", has_text="已完成“受理”").count() == 1
    page.locator('.xyp-diagram .djs-element.xyp-current[data-element-id="Task_Review"]').wait_for()
    assert page.locator(".xyp-task h3").first.inner_text().startswith("审查")
    assert re.search(r"受理\s+审查人员\s+已完成", page.locator("#xyp-human-tasks").inner_text())
    # the only console error is Chromium reporting the refused submission's 400 status
    assert [e for e in page.xyp_errors if "status of 400" not in e] == []
    shot(page, "case-after")

    done = HumanTask.get((HumanTask.application == blue_case.id) & (HumanTask.name == "受理"))
    assert done.state == "completed" and done.completed_by == "staff:reviewer(reviewer)"
    assert service.get(blue_case.number).version == blue_case.version + 1
