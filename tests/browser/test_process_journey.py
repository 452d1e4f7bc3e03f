"""A process designer's journey in Chromium: sign in, upload a diagram, read the per-tier report,
publish to a matter, open the new version and see its diagram; erroneous elements highlighted."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from plugin import assets
from plugin.catalog.models import Matter
from plugin.credit.tiers import active_scheme
from plugin.engine.models import ProcessDefinition
from plugin.engine.validate import validate_xml
from tests.helpers import matter_with

ROOT = Path(__file__).resolve().parents[2]
INSTANT = ROOT / "bpmn" / "instant_approval.bpmn"


@pytest.fixture
def viewer():
    """The bpmn-js viewer bundle must be built for the diagram to render."""
    if not assets.bundle_built(assets.VIEWER_FILES):
        message = "bpmn-js bundle not built: run `make frontend` (or make test)"
        if os.environ.get("XINYIPI_REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_designer_uploads_checks_publishes_and_sees_the_version(viewer, live_server, page, shot, staff_login,
                                                                 tmp_path):
    data = INSTANT.read_bytes().replace('name="秒批" isExecutable'.encode(), 'name="秒批（第二版）" isExecutable'.encode())
    diagram = tmp_path / "instant_approval_v2.bpmn"
    diagram.write_bytes(data)
    expected = validate_xml(data, scheme=active_scheme())
    matter = matter_with("instant_approval")
    old = matter.process

    staff_login(page, live_server, "designer")
    page.goto(f"{live_server.url}/admin/processes/")
    page.set_input_files("#xyp-file", str(diagram))
    with page.expect_navigation():
        page.click("form.xyp-upload button[type=submit]")
    assert re.search(r"/admin/processes/drafts/\d+$", page.url)
    assert "校验通过，可以发布" in page.locator(".xyp-verdict").inner_text()

    # one row per tier of the seeded Haikou scheme, with and without a record: what the engine found
    rows = page.locator("table.xyp-runs tbody tr")
    assert rows.count() == len(expected.runs)
    for run in expected.runs:
        row = page.locator(f'table.xyp-runs tr[data-tier="{run.tier}"][data-record="{"yes" if run.has_record else "no"}"]')
        assert row.get_attribute("data-path") == run.path
        assert row.locator("td.xyp-end").inner_text().strip() == run.end
    assert page.locator('tr[data-tier="red"][data-record="no"] td.xyp-path').inner_text() == "秒批（instant）"
    page.locator(".xyp-diagram svg").first.wait_for(state="visible")
    shot(page, "report")

    # show the red tier's run on the diagram: the instant-approval script is marked as passed
    with page.expect_navigation():
        page.click('tr[data-tier="red"][data-record="no"] a')
    page.locator('.xyp-diagram .djs-element.xyp-done[data-element-id="Script_PathInstant"]').wait_for()
    assert page.locator('.djs-element.xyp-done[data-element-id="Script_PathStandard"]').count() == 0

    # publish to the matter, found through the filter
    page.fill("#xyp-matter-filter", matter.code)
    visible = page.locator("#xyp-matter option:not([hidden])")
    assert visible.count() == 2  # "no binding" and the matter
    page.select_option("#xyp-matter", str(matter.id))
    shot(page, "publish")
    with page.expect_navigation():
        page.click("form.xyp-publish button[type=submit]")

    new = ProcessDefinition.get((ProcessDefinition.key == "instant_approval")
                                & (ProcessDefinition.version == old.version + 1))
    assert page.url.endswith(f"/admin/processes/versions/{new.id}")
    assert f"已发布 instant_approval 版本 v{new.version}，并绑定到事项“{matter.name}”" in page.content()
    assert page.locator(".xyp-version-number").inner_text() == f"v{new.version}"
    assert page.locator(f'table.xyp-matters tr[data-matter="{matter.code}"]').count() == 1
    assert Matter.get_by_id(matter.id).process_id == new.id
    svg = page.locator(".xyp-diagram svg").first
    svg.wait_for(state="visible")
    assert page.locator('.xyp-diagram .djs-element[data-element-id="Script_PathInstant"]').count() == 1
    assert page.xyp_errors == []
    shot(page, "version")


def test_erroneous_elements_are_highlighted_on_the_report(viewer, live_server, page, shot, staff_login, tmp_path):
    data = INSTANT.read_bytes().replace(b'acceptance == "accepted"', b'__import__("os").system("id")')
    diagram = tmp_path / "unsafe.bpmn"
    diagram.write_bytes(data)
    ids = sorted({p.element_id for p in validate_xml(data, scheme=active_scheme()).errors if p.element_id})
    assert ids

    staff_login(page, live_server, "designer")
    page.goto(f"{live_server.url}/admin/processes/")
    page.set_input_files("#xyp-file", str(diagram))
    with page.expect_navigation():
        page.click("form.xyp-upload button[type=submit]")
    assert "校验未通过" in page.locator(".xyp-verdict").inner_text()
    assert page.locator("form.xyp-publish").count() == 0
    for element_id in ids:
        assert page.locator(f'ul.xyp-errors li[data-element="{element_id}"]').count() >= 1
        page.locator(f'.xyp-diagram .djs-element.xyp-current[data-element-id="{element_id}"]').wait_for(state="attached")
    shot(page, "errors")


def test_a_bad_file_is_refused_in_the_browser(live_server, page, staff_login, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("不是流程图", encoding="utf-8")
    staff_login(page, live_server, "designer")
    page.goto(f"{live_server.url}/admin/processes/")
    page.set_input_files("#xyp-file", str(bad))
    with page.expect_navigation():
        page.click("form.xyp-upload button[type=submit]")
    assert "只接受 .bpmn 或 .xml 文件" in page.locator(".xyp-upload-error").inner_text()
