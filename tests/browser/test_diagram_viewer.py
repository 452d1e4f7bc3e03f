"""The process-diagram viewer (bpmn-js bundle + the `diagram` macro) in a real Chromium, and the macro
without a browser: its notice when the bundle is not built, and its markup when it is."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from flask import Response, render_template_string

from plugin import assets

ROOT = Path(__file__).resolve().parents[2]
STANDARD_REVIEW = ROOT / "bpmn" / "standard_review.bpmn"
CURRENT, DONE = "Task_Review", "Task_Accept"
MACRO = "{% from 'xinyipi/diagram.html' import diagram %}"


def _page(body: str) -> str:
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<link rel='icon' href='data:,'><title>流程图测试</title></head><body>" + body + "</body></html>")


def _test_routes(app):
    """Test-only pages: the shipped standard_review diagram, a missing one and an unparsable one."""
    def bpmn_xml():
        return Response(STANDARD_REVIEW.read_text(encoding="utf-8"), mimetype="application/xml")

    def not_xml():
        return Response("这不是 BPMN <<<", mimetype="application/xml")

    def diagram_page():
        return render_template_string(_page(MACRO + "<h1>办件流程</h1>{{ diagram(url_for('xyp_test_bpmn'), "
                                            "current=[current, 'No_Such_Element'], done=[done]) }}"),
                                      current=CURRENT, done=DONE)

    def broken_page():
        return render_template_string(_page(
            MACRO + "{{ diagram('/_test/missing.bpmn', height='200px') }}"
                    "{{ diagram(url_for('xyp_test_not_xml'), height='200px') }}"))

    def modeler_page():
        return render_template_string(_page(
            "<link rel='stylesheet' href='{{ xinyipi_asset_url(\"vendor/bpmn-modeler.css\") }}'>"
            "<script src='{{ xinyipi_asset_url(\"vendor/bpmn-modeler.js\") }}'></script>"
            "<div style='display:flex;height:600px'><div id='canvas' style='flex:1'></div>"
            "<div id='properties' style='width:320px;overflow:auto'></div></div>"))

    app.add_url_rule("/_test/standard_review.bpmn", "xyp_test_bpmn", bpmn_xml)
    app.add_url_rule("/_test/not-xml.bpmn", "xyp_test_not_xml", not_xml)
    app.add_url_rule("/_test/diagram", "xyp_test_diagram", diagram_page)
    app.add_url_rule("/_test/broken", "xyp_test_broken", broken_page)
    app.add_url_rule("/_test/modeler", "xyp_test_modeler", modeler_page)


@pytest.fixture
def live_app_setup():
    return [_test_routes]


@pytest.fixture
def bundle():
    """The real bundle must have been built (`make test` does it) for the browser tests."""
    files = assets.VIEWER_FILES + assets.MODELER_FILES
    if not assets.bundle_built(files):
        message = "bpmn-js bundle not built: run `make frontend` (or make test)"
        if os.environ.get("XINYIPI_REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


# --------------------------------------------------------------------------- in Chromium

def test_diagram_shows_current_and_done_steps(bundle, live_server, page, shot):
    page.goto(f"{live_server.url}/_test/diagram")
    container = page.locator("#xyp-diagram-1")
    svg = container.locator("svg").first
    svg.wait_for(state="visible")
    current = container.locator(f'.djs-element[data-element-id="{CURRENT}"]')
    done = container.locator(f'.djs-element[data-element-id="{DONE}"]')
    pending = container.locator('.djs-element[data-element-id="Task_Decide"]')
    assert re.search(r"\bxyp-current\b", current.get_attribute("class"))
    assert re.search(r"\bxyp-done\b", done.get_attribute("class"))
    assert not re.search(r"\bxyp-(current|done)\b", pending.get_attribute("class"))

    # the markers' stylesheet is loaded: the current step is filled orange, the done one green-grey
    fill = "el => getComputedStyle(el.querySelector('.djs-visual > :first-child')).fill"
    assert current.evaluate(fill) == "rgb(255, 224, 178)"
    assert done.evaluate(fill) == "rgb(227, 239, 227)"
    assert pending.evaluate(fill) == "rgb(255, 255, 255)"

    # fitted to the viewport: the whole diagram lies inside the container
    box = container.bounding_box()
    diagram = page.evaluate("""() => document.querySelector('#xyp-diagram-1 .viewport').getBoundingClientRect()
                               .toJSON()""")
    assert diagram["width"] > 100 and diagram["width"] <= box["width"] + 1
    assert diagram["height"] <= box["height"] + 1

    # screen readers hear what the current step is; the unknown id was ignored without an error
    assert container.get_attribute("role") == "img"
    assert container.get_attribute("aria-label") == "流程图（当前步骤：审查）"
    assert page.locator("script[src*='bpmn-viewer.js']").count() == 1
    assert page.xyp_errors == []
    shot(page, "standard-review")


def test_bad_diagram_urls_show_a_chinese_error(bundle, live_server, page, shot):
    page.goto(f"{live_server.url}/_test/broken")
    missing = page.locator("#xyp-diagram-1 .xyp-diagram-error")
    unparsable = page.locator("#xyp-diagram-2 .xyp-diagram-error")
    missing.wait_for(state="visible")
    unparsable.wait_for(state="visible")
    assert missing.inner_text() == "流程图加载失败：服务器返回 404"
    assert missing.get_attribute("role") == "alert"
    assert re.fullmatch(r"流程图加载失败：不是有效的 BPMN 流程图（.*unparsable content.*）", unparsable.inner_text())
    assert page.locator(".xyp-diagram svg").count() == 0
    # the viewer is included once for the two diagrams
    assert page.locator("script[src*='bpmn-viewer.js']").count() == 1
    assert page.locator("link[href*='bpmn-viewer.css']").count() == 1
    shot(page, "errors")


def test_diagram_fits_a_phone_screen(bundle, live_server, phone_page, shot):
    phone_page.goto(f"{live_server.url}/_test/diagram")
    container = phone_page.locator("#xyp-diagram-1")
    container.locator(f'.djs-element.xyp-current[data-element-id="{CURRENT}"]').wait_for()
    assert container.bounding_box()["width"] <= 375
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone_page, "standard-review")


def test_modeler_bundle_builds_a_modeler_with_the_camunda_properties_panel(bundle, live_server, page, shot):
    page.goto(f"{live_server.url}/_test/modeler")
    xml = STANDARD_REVIEW.read_text(encoding="utf-8")
    result = page.evaluate("""async (xml) => {
        const modeler = XinYiPiBpmnModeler.create('#canvas', '#properties', xml);
        const imported = await modeler.xypImported;
        const task = modeler.get('elementRegistry').get('Task_Accept');
        const formData = task.businessObject.extensionElements.values.find(v => v.$type === 'camunda:FormData');
        const saved = await modeler.saveXML({format: true});
        return {warnings: imported.warnings.length, formFields: formData.fields.map(f => f.id),
                camunda: !!modeler.get('moddle').getPackage('camunda'), xml: saved.xml};
    }""", xml)
    assert result["camunda"]
    assert result["warnings"] == 0
    assert result["formFields"] == ["acceptance", "opinion"]
    assert '<camunda:formField id="acceptance"' in result["xml"]
    panel = page.locator("#properties .bio-properties-panel")
    panel.locator('[data-group-id="group-CamundaPlatform__ExtensionProperties"]').wait_for()
    # selecting a user task shows the Camunda platform provider's form fields group
    page.locator('#canvas .djs-element[data-element-id="Task_Accept"]').click()
    panel.locator('[data-group-id="group-CamundaPlatform__FormData"]').wait_for()
    assert "受理" in panel.locator(".bio-properties-panel-header").inner_text()
    assert page.xyp_errors == []
    shot(page, "modeler")


# --------------------------------------------------------------------------- without a browser

def _render(app, template: str) -> str:
    with app.test_request_context("/"):
        return render_template_string(MACRO + template)


def test_macro_shows_a_notice_when_the_bundle_is_not_built(seeded, app, tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "vendor_path", lambda filename: tmp_path / "missing" / filename)
    html = _render(app, "{{ diagram('/case/1.bpmn', current=['Task_Review']) }}")
    assert "流程图查看器尚未构建：请运行 make run 或 make test 完成前端构建" in html
    assert "<script" not in html and "XinYiPiBpmn" not in html and 'role="img"' not in html


def test_macro_includes_the_viewer_once_and_passes_the_markers(seeded, app, tmp_path, monkeypatch):
    for name in assets.VIEWER_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("/* built */")
    monkeypatch.setattr(assets, "vendor_path", lambda filename: tmp_path / filename)
    html = _render(app, "{{ diagram('/case/1.bpmn', current='Task_Review', done=['Task_Accept'], height='300px') }}"
                        "{{ diagram('/case/2.bpmn') }}")
    assert "尚未构建" not in html
    assert len(re.findall(r'<script src="/xinyipi/static/vendor/bpmn-viewer\.js\?v=\d+"', html)) == 1
    assert len(re.findall(r'<link rel="stylesheet" href="/xinyipi/static/vendor/bpmn-viewer\.css\?v=\d+"', html)) == 1
    assert html.count('role="img" aria-label="流程图"') == 2
    assert 'id="xyp-diagram-1"' in html and 'id="xyp-diagram-2"' in html
    assert 'style="height: 300px"' in html and 'style="height: 480px"' in html
    calls = re.findall(r'XinYiPiBpmn\.loadDiagram\(document\.getElementById\("(xyp-diagram-\d)"\), "([^"]+)", \{\s*'
                       r'current: (\[[^\]]*\]),\s*done: (\[[^\]]*\])', html)
    assert [(c[0], c[1], json.loads(c[2]), json.loads(c[3])) for c in calls] == [
        ("xyp-diagram-1", "/case/1.bpmn", ["Task_Review"], ["Task_Accept"]),
        ("xyp-diagram-2", "/case/2.bpmn", [], []),
    ]
