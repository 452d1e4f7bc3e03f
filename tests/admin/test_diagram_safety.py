"""Attacks on stored diagrams (issue #12): a diagram carrying something a browser would run is refused
at every way in (upload, designer save, designer import, CLI publish), and every route that sends a
stored diagram back sends it so that no browser renders or runs it (text/plain + nosniff,
attachment, CSP sandbox), while the bpmn-js viewer and modeler still read it. Real databases."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from plugin.engine.definitions import DiagramError, parse_xml
from plugin.engine.drafts import ProcessDraft, UploadRefused, check_upload
from plugin.engine.models import ProcessDefinition
from plugin.portal import views as portal_views
from tests.admin.test_processes import client_as, text_of
from tests.helpers import demo_code
from tests.portal.conftest import make_app, sign_in_applicant, start_draft, submit

ROOT = Path(__file__).resolve().parents[2]
STANDARD = (ROOT / "bpmn" / "standard_review.bpmn").read_text(encoding="utf-8")
BASE = "/admin/processes"
XHTML = "http://www.w3.org/1999/xhtml"
SVG = "http://www.w3.org/2000/svg"


def _in_documentation(fragment: str) -> str:
    """The shipped diagram with `fragment` inside the process's first documentation element."""
    assert "<bpmn:documentation>" in STANDARD
    return STANDARD.replace("<bpmn:documentation>", f"<bpmn:documentation>{fragment}", 1)


def _in_extension_elements(fragment: str) -> str:
    assert "<bpmn:extensionElements>" in STANDARD
    return STANDARD.replace("<bpmn:extensionElements>", f"<bpmn:extensionElements>{fragment}", 1)


# Each attack, and a word the refusal must name.
ATTACKS = {
    "xhtml script in documentation": (
        _in_documentation(f'<html:script xmlns:html="{XHTML}">alert(document.cookie)</html:script>'), "<html:script>"),
    "svg onload in extensionElements": (
        _in_extension_elements(f'<svg:svg xmlns:svg="{SVG}" onload="alert(1)"/>'), "<svg:svg>"),
    "default-namespace xhtml": (
        _in_extension_elements(f'<div xmlns="{XHTML}"><img src="x" onerror="alert(1)"/></div>'), "<div>"),
    "element without a namespace": (
        _in_extension_elements('<script xmlns="">alert(1)</script>'), "<script>"),
    "event handler on a BPMN element": (
        STANDARD.replace("<bpmn:userTask ", '<bpmn:userTask onmouseover="alert(1)" ', 1), "onmouseover"),
    "xlink href attribute": (
        STANDARD.replace("<bpmn:userTask ", '<bpmn:userTask xmlns:xlink="http://www.w3.org/1999/xlink" '
                                            'xlink:href="javascript:alert(1)" ', 1), "href"),
    "javascript uri in a camunda attribute": (
        STANDARD.replace("<bpmn:userTask ", '<bpmn:userTask camunda:formKey=" JaVaScRiPt:alert(1)" ', 1),
        "javascript:"),
    "xml-stylesheet processing instruction": (
        STANDARD.replace("<bpmn:definitions", '<?xml-stylesheet type="text/xsl" href="data:,x"?>\n<bpmn:definitions', 1),
        "xml-stylesheet"),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_parse_refuses_active_content_naming_the_element(name):
    xml, named = ATTACKS[name]
    with pytest.raises(DiagramError) as refused:
        parse_xml(xml)
    assert named in str(refused.value) and "已拒绝" in str(refused.value), str(refused.value)
    with pytest.raises(UploadRefused):
        check_upload("attack.bpmn", xml.encode("utf-8"))


def test_the_shipped_templates_and_the_designers_blank_diagram_pass():
    from plugin.engine.drafts import blank_diagram
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        parse_xml(path.read_bytes())
    parse_xml(blank_diagram())
    # what bpmn-js writes for a coloured element (bioc) and Camunda Modeler for its platform stays fine
    parse_xml(STANDARD.replace("<bpmn:userTask ", '<bpmn:userTask xmlns:bioc="http://bpmn.io/schema/bpmn/biocolor/1.0" '
                                                  'bioc:stroke="#1e88e5" bioc:fill="#bbdefb" ', 1))


@pytest.mark.parametrize("name", ["xhtml script in documentation", "svg onload in extensionElements"])
def test_upload_save_and_import_of_an_attack_are_refused_and_nothing_is_kept(seeded, app, name):
    xml, named = ATTACKS[name]
    client = client_as(app, "process_designer")
    r = client.post(f"{BASE}/upload", data={"file": (io.BytesIO(xml.encode()), "attack.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and named in text_of(r)
    r = client.post(f"{BASE}/designer/save", data=json.dumps({"xml": xml}), content_type="application/json")
    assert r.status_code == 400 and named in r.get_json()["error"]
    r = client.post(f"{BASE}/designer/import", data={"file": (io.BytesIO(xml.encode()), "attack.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and named in r.get_json()["error"]
    assert ProcessDraft.select().count() == 0
    # nor saved over an existing draft
    good = client.post(f"{BASE}/designer/save", data=json.dumps({"xml": STANDARD}), content_type="application/json")
    draft = good.get_json()
    r = client.post(f"{BASE}/designer/save", data=json.dumps({"xml": xml, "draft": draft["draft"],
                                                              "revision": draft["revision"]}),
                    content_type="application/json")
    assert r.status_code == 400 and ProcessDraft.get_by_id(draft["draft"]).xml == STANDARD


def test_the_refusal_is_english_under_en(seeded, app):
    xml, _named = ATTACKS["xhtml script in documentation"]
    client = client_as(app, "process_designer")
    client.get(f"{BASE}/?lang=en")
    r = client.post(f"{BASE}/designer/save", data=json.dumps({"xml": xml}), content_type="application/json")
    message = r.get_json()["error"]
    assert r.status_code == 400 and "<html:script>" in message
    assert not re.search(r"[\u4e00-\u9fff]", message), message


def test_cli_publish_of_an_attack_is_refused(seeded, cli_runner, tmp_path):
    xml, named = ATTACKS["svg onload in extensionElements"]
    path = tmp_path / "attack.bpmn"
    path.write_text(xml, encoding="utf-8")
    before = ProcessDefinition.select().count()
    result = cli_runner("process", "publish", str(path))
    assert result.exit_code != 0 and named in result.output
    assert ProcessDefinition.select().count() == before


# ---------------------------------------------------------------------------------------------
# every route that sends a stored diagram
# ---------------------------------------------------------------------------------------------
#: endpoint → how the test reaches it. A new diagram route of ours must be added here (see below).
DIAGRAM_ENDPOINTS = {
    "xinyipi_processes.draft_xml", "xinyipi_processes.version_xml", "xinyipi_processes.template_xml",
    "xinyipi_processes.designer_blank", "xinyipi_application.process_xml", "xinyipi_portal.diagram_xml",
}


def _assert_inert(response, url):
    assert response.status_code == 200, url
    assert response.mimetype == "text/plain", (url, response.mimetype)
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["Content-Disposition"].startswith("attachment;"), url
    csp = [d.strip() for d in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (url, csp)
    assert response.data.lstrip().startswith(b"<?xml") or b"<bpmn:definitions" in response.data, url


def test_every_diagram_route_is_known_to_this_test(app):
    """A route that looks like it sends a diagram (…/xml, ….bpmn, ….xml) must be one checked below."""
    looks_like = {rule.endpoint for rule in app.url_map.iter_rules()
                  if re.search(r"(/xml|\.bpmn|\.xml)$", rule.rule)}
    assert looks_like == DIAGRAM_ENDPOINTS


def test_every_diagram_route_sends_inert_downloads(seeded, database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    designer = client_as(app, "process_designer")
    draft_id = designer.post(f"{BASE}/designer/save", data=json.dumps({"xml": STANDARD, "filename": "审查.bpmn"}),
                             content_type="application/json").get_json()["draft"]
    version = ProcessDefinition.get(ProcessDefinition.key == "standard_review")
    urls = {
        "xinyipi_processes.draft_xml": f"{BASE}/drafts/{draft_id}/xml",
        "xinyipi_processes.version_xml": f"{BASE}/versions/{version.id}/xml",
        "xinyipi_processes.template_xml": f"{BASE}/templates/standard_review/xml",
        "xinyipi_processes.designer_blank": f"{BASE}/designer/blank.bpmn",
    }
    for endpoint, url in urls.items():
        for suffix in ("", "?download=1"):
            _assert_inert(designer.get(url + suffix), url + suffix)
    # a non-ASCII file name is sent as RFC 6266 filename* (and an ASCII fallback)
    disposition = designer.get(urls["xinyipi_processes.draft_xml"]).headers["Content-Disposition"]
    assert "filename*=UTF-8''%E5%AE%A1%E6%9F%A5.bpmn" in disposition

    citizen = app.test_client()
    sign_in_applicant(citizen, demo_code("blue"))
    number = start_draft(citizen, "000117003000-HK")
    assert submit(citizen, number).status_code == 302
    _assert_inert(citizen.get(f"/portal/cases/{number}/diagram.xml"), "portal diagram.xml")
    reviewer = client_as(app, "reviewer")
    _assert_inert(reviewer.get(f"/admin/xinyipi_application/case/{number}/process.bpmn"), "admin process.bpmn")
    assert set(urls) | {"xinyipi_portal.diagram_xml", "xinyipi_application.process_xml"} == DIAGRAM_ENDPOINTS
    assert portal_views.diagram_xml  # the portal route the test reached


def test_a_version_download_is_conditional_on_its_checksum(seeded, app):
    client = client_as(app, "reviewer")
    version = ProcessDefinition.get(ProcessDefinition.key == "standard_review")
    url = f"{BASE}/versions/{version.id}/xml"
    first = client.get(url)
    assert first.headers["ETag"] == f'"{version.checksum}"'
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
