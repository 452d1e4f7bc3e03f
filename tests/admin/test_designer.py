"""The BPMN designer's server side and the version diff page (admin/processes.py): who may open and
save, the upload's checks on a save, stale saves, import, publishing a designed draft, the diff,
and no English on these pages under zh_CN. Real databases (SQLite and PostgreSQL), real engine."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from lxml import html as lhtml

from plugin import assets
from plugin.accounts import ROLES
from plugin.catalog.models import Matter
from plugin.engine.drafts import ProcessDraft, from_template
from plugin.engine.models import ProcessDefinition
from plugin.engine.publish import publish
from tests.admin.test_admin_i18n import _leaks
from tests.admin.test_processes import BAD_FILES, client_as, text_of
from tests.helpers import csrf_of, matter_with, sign_in

ROOT = Path(__file__).resolve().parents[2]
STANDARD = (ROOT / "bpmn" / "standard_review.bpmn").read_text(encoding="utf-8")
BASE = "/admin/processes"
READERS = sorted(set(ROLES) - {"process_designer", "sysadmin"})


def save(client, xml, draft=None, revision=None, **extra):
    return client.post(f"{BASE}/designer/save", data=json.dumps({"xml": xml, "draft": draft, "revision": revision, **extra}),
                       content_type="application/json")


def designer_pages(seeded_version_id):
    return [f"{BASE}/designer/new", f"{BASE}/designer/templates/standard_review",
            f"{BASE}/designer/versions/{seeded_version_id}"]


@pytest.mark.parametrize("role", READERS)
def test_other_roles_may_not_open_or_save(seeded, app, role):
    client = client_as(app, role)
    definition = ProcessDefinition.select().first()
    draft = from_template("standard_review", "designer")
    for url in designer_pages(definition.id) + [f"{BASE}/designer/drafts/{draft.id}", f"{BASE}/designer/blank.bpmn"]:
        assert client.get(url).status_code == 403, url
    r = save(client, STANDARD)
    assert r.status_code == 403
    r = client.post(f"{BASE}/designer/import", data={"file": (io.BytesIO(STANDARD.encode()), "a.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 403
    assert ProcessDraft.select().count() == 1
    # readers still see the diff of versions
    assert client.get(f"{BASE}/diff").status_code == 200


def test_anonymous_is_sent_to_sign_in(seeded, app):
    client = app.test_client()
    r = client.get(f"{BASE}/designer/new")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    r = save(client, STANDARD)
    assert r.status_code == 302 and ProcessDraft.select().count() == 0


def test_designer_pages_open_on_versions_templates_drafts_and_new(seeded, app):
    client = client_as(app, "process_designer")
    definition = ProcessDefinition.get(ProcessDefinition.key == "standard_review")
    draft = from_template("tolerance", "designer")
    for url, source in [(f"{BASE}/designer/new", f"{BASE}/designer/blank.bpmn"),
                        (f"{BASE}/designer/templates/standard_review", f"{BASE}/templates/standard_review/xml"),
                        (f"{BASE}/designer/versions/{definition.id}", f"{BASE}/versions/{definition.id}/xml"),
                        (f"{BASE}/designer/drafts/{draft.id}", f"{BASE}/drafts/{draft.id}/xml")]:
        r = client.get(url)
        page = r.get_data(as_text=True)
        assert r.status_code == (200 if assets.bundle_built(assets.MODELER_FILES) else 503), url
        if r.status_code == 200:
            assert json.dumps(source) in page and "bpmn-modeler.js" in page
            assert '"locale": ' not in page and 'locale: "zh-CN"' in page
    page = client.get(f"{BASE}/designer/drafts/{draft.id}").get_data(as_text=True)
    assert f'revision: "{draft.revision}"' in page
    blank = client.get(f"{BASE}/designer/blank.bpmn")
    assert blank.mimetype == "text/plain" and b'name="applicant"' in blank.data


def test_save_creates_then_updates_a_draft_and_returns_the_report(seeded, app):
    client = client_as(app, "process_designer", "designer2")
    r = save(client, STANDARD, filename="standard_review.bpmn")
    assert r.status_code == 200
    data = r.get_json()
    draft = ProcessDraft.get_by_id(data["draft"])
    assert draft.xml == STANDARD and draft.uploaded_by == draft.updated_by == "designer2"
    assert data["revision"] == draft.revision and data["report"]["ok"] is True
    assert {(run["tier"], run["has_record"]) for run in data["report"]["runs"]} == {
        (t, rec) for t in ("red", "orange", "blue", "black") for rec in (False, True)}
    assert data["urls"]["designer"] == f"{BASE}/designer/drafts/{draft.id}"
    changed = STANDARD.replace('acceptance == "accepted"', '${acceptance == "accepted"}')
    r = save(client, changed, draft=draft.id, revision=data["revision"])
    assert r.status_code == 200 and ProcessDraft.select().count() == 1
    report = r.get_json()["report"]
    assert report["ok"] is False and report["error_ids"] == ["Flow_Gateway_Accept_Task_Review"]
    assert "JUEL" in report["errors"][0]["message"]
    assert ProcessDraft.get_by_id(draft.id).xml == changed


def test_a_stale_save_is_a_conflict_and_changes_nothing(seeded, app):
    first, second = client_as(app, "process_designer", "designer"), client_as(app, "process_designer", "designer2")
    data = save(first, STANDARD).get_json()
    mine = save(second, STANDARD.replace("标准审批（受理→审查→决定）", "二号的修改"), draft=data["draft"],
                revision=data["revision"]).get_json()
    r = save(first, STANDARD.replace("标准审批（受理→审查→决定）", "一号的修改"), draft=data["draft"],
             revision=data["revision"])
    assert r.status_code == 409
    body = r.get_json()
    assert body["conflict"] is True and body["revision"] == mine["revision"] and body["updated_by"] == "designer2"
    assert "designer2" in body["error"] and "本次未保存" in body["error"]
    assert "二号的修改" in ProcessDraft.get_by_id(data["draft"]).xml
    # saving as a new draft keeps both
    r = save(first, STANDARD.replace("标准审批（受理→审查→决定）", "一号的修改"), draft=data["draft"],
             revision=data["revision"], as_new=True)
    assert r.status_code == 200 and r.get_json()["draft"] != data["draft"]
    # a save without the revision of an existing draft is stale too
    assert save(first, STANDARD, draft=data["draft"]).status_code == 409


@pytest.mark.parametrize("case", [c for c in BAD_FILES if c not in ("wrong extension", "no extension", "binary",
                                                                        "utf-16", "gbk")])
def test_bad_saves_get_the_upload_message_and_store_nothing(db, app, case):
    _name, data, message = BAD_FILES[case]
    client = client_as(app, "process_designer")
    r = save(client, data.decode("utf-8", "replace"))
    assert r.status_code == 400
    assert message in r.get_json()["error"] and "仍保留在本页" in r.get_json()["error"]
    assert ProcessDraft.select().count() == 0


def test_bad_requests_and_unknown_drafts(db, app):
    client = client_as(app, "process_designer")
    r = client.post(f"{BASE}/designer/save", data="not json", content_type="application/json")
    assert r.status_code == 400 and "没有收到流程图" in r.get_json()["error"]
    r = save(client, STANDARD, draft=999)
    assert r.status_code == 404 and r.get_json()["missing"] is True
    assert ProcessDraft.select().count() == 0


def test_a_save_over_the_request_limit_answers_in_json(db, app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    client = client_as(app, "process_designer")
    r = save(client, STANDARD + "<!--" + "x" * (100 * 1024) + "-->")
    assert r.status_code == 413 and "未保存" in r.get_json()["error"]


def test_save_and_import_need_the_csrf_token_in_the_header(seeded, database_url):
    from plugin import create_app
    app = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test"})
    client = app.test_client()
    sign_in(client, "designer3", "process_designer")
    assert save(client, STANDARD).status_code == 400
    assert ProcessDraft.select().count() == 0
    token = client.get(f"{BASE}/designer/token").get_json()["csrf_token"]
    assert token and csrf_of(client, f"{BASE}/")
    r = client.post(f"{BASE}/designer/save", data=json.dumps({"xml": STANDARD}), content_type="application/json",
                    headers={"X-CSRFToken": token})
    assert r.status_code == 200 and ProcessDraft.select().count() == 1


def test_import_checks_the_file_and_stores_nothing(db, app):
    client = client_as(app, "process_designer")
    for case in ("xxe", "utf-16", "binary", "wrong extension", "malformed"):
        name, data, message = BAD_FILES[case]
        r = client.post(f"{BASE}/designer/import", data={"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")
        assert r.status_code == 400 and message in r.get_json()["error"], case
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):  # the shipped templates, made in Camunda Modeler
        r = client.post(f"{BASE}/designer/import", data={"file": (io.BytesIO(path.read_bytes()), path.name)},
                        content_type="multipart/form-data")
        assert r.status_code == 200 and r.get_json()["xml"] == path.read_text(encoding="utf-8")
    assert ProcessDraft.select().count() == 0


def test_publishing_a_designed_draft_checks_its_revision(seeded, app):
    client = client_as(app, "process_designer")
    data = save(client, STANDARD.replace("标准审批（受理→审查→决定）", "标准审批（设计器）")).get_json()
    matter = matter_with("standard_review")
    before = ProcessDefinition.select().count()
    r = client.post(f"{BASE}/drafts/{data['draft']}/publish", data={"matter": str(matter.id), "revision": "stale"})
    assert r.status_code == 409 and "未发布" in text_of(r)
    assert ProcessDefinition.select().count() == before
    r = client.post(f"{BASE}/drafts/{data['draft']}/publish", data={"matter": str(matter.id), "revision": data["revision"]})
    assert r.status_code == 302
    new = ProcessDefinition.select().order_by(ProcessDefinition.id.desc()).get()
    assert new.name == "标准审批（设计器）" and Matter.get_by_id(matter.id).process_id == new.id


def test_the_diff_page_lists_what_changed_between_two_versions(seeded, app):
    old = ProcessDefinition.get(ProcessDefinition.key == "standard_review")
    new = publish(STANDARD.replace('acceptance == "accepted"', 'acceptance == "accepted" and not blacklisted')
                  .replace('name="受理" sourceRef', 'name="予以受理" sourceRef'), publisher="designer")
    client = client_as(app, "reviewer")
    r = client.get(f"{BASE}/diff?key=standard_review")
    assert r.status_code == 200
    tree = lhtml.fromstring(r.get_data(as_text=True))
    rows = tree.xpath('//table[contains(@class, "xyp-changed")]//tr[@data-element]')
    got = {(row.get("data-element"), row.get("data-property")): (
        row.xpath('.//td[contains(@class, "xyp-before")]')[0].text_content(),
        row.xpath('.//td[contains(@class, "xyp-after")]')[0].text_content()) for row in rows}
    assert got == {("Flow_Gateway_Accept_Task_Review", "name"): ("受理", "予以受理"),
                   ("Flow_Gateway_Accept_Task_Review", "condition"): (
                       'acceptance == "accepted"', 'acceptance == "accepted" and not blacklisted')}
    assert f"v{old.version}" in text_of(r) and f"v{new.version}" in text_of(r)
    # the same version against itself: nothing
    r = client.get(f"{BASE}/diff?key=standard_review&a={new.id}&b={new.id}")
    assert "两个版本的元素没有差别" in text_of(r)
    # unknown keys and ids fall back to what exists
    assert client.get(f"{BASE}/diff?key=nope&a=999&b=abc").status_code == 200
    version_page = client_as(app, "process_designer").get(f"{BASE}/versions/{new.id}").get_data(as_text=True)
    assert f"{BASE}/diff?key=standard_review&amp;b={new.id}" in version_page
    assert f"{BASE}/designer/versions/{new.id}" in version_page


def test_no_english_on_the_designer_and_diff_pages(seeded, app):
    """The crawl of test_admin_i18n covers model views; these pages are checked here."""
    publish(STANDARD.replace('name="受理" sourceRef', 'name="予以受理" sourceRef'), publisher="designer")
    draft = from_template("standard_review", "designer")
    definition = ProcessDefinition.get(ProcessDefinition.key == "standard_review")
    client = client_as(app, "process_designer", "designer")
    data = {"Python", "standard", "review", "designer", "python", "working", "days", "applicant", "reviewer", "approver",
            "supervisor", "bpmn", "formData", "tier", "blacklisted", "acceptance", "accepted"}
    # data shown as it is: process keys and element ids
    data |= {w for (k,) in ProcessDefinition.select(ProcessDefinition.key).tuples() for w in k.split("_")}
    data |= {w for i in re.findall(r'id="([^"]+)"', STANDARD) for w in i.split("_")}
    for url in designer_pages(definition.id) + [f"{BASE}/designer/drafts/{draft.id}", f"{BASE}/diff?key=standard_review",
                                                ]:
        page = client.get(url).get_data(as_text=True)
        # code shown as data: conditions and scripts in the diff's cells
        page = re.sub(r'<td class="xyp-(before|after)">.*?</td>', "", page, flags=re.S)
        leaks = _leaks(page, data)
        assert not leaks, f"{url}: {sorted(set(leaks))}"
    english = client.get(f"{BASE}/designer/new?lang=en").get_data(as_text=True)
    assert "BPMN designer" in english and 'locale: "en"' in english
