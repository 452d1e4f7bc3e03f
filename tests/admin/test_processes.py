"""流程定义 pages: who may see and change them, refused uploads, the per-tier report, publishing,
the read-only versions list, XML downloads and the shipped templates (admin/processes.py)."""
from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from lxml import html as lhtml

from plugin import create_app
from plugin.accounts import ROLES
from plugin.applications import service
from plugin.applications.models import AuditEntry
from plugin.catalog.models import Matter
from plugin.credit.tiers import active_scheme
from plugin.engine.drafts import ProcessDraft, upload as upload_draft
from plugin.engine.models import ProcessDefinition
from plugin.engine.validate import validate_xml
from tests.helpers import csrf_of, demo_code, matter_with, sign_in

ROOT = Path(__file__).resolve().parents[2]
INSTANT = ROOT / "bpmn" / "instant_approval.bpmn"
READERS = ("catalog_admin", "reviewer", "approver", "supervisor")
WRITERS = ("process_designer", "sysadmin")
BASE = "/admin/processes"


def css(node, selector: str):
    """Elements under `node` matching a small CSS subset: `tag.class`, `tag[attr="v"]`, descendants."""
    xpath = "."
    for step in selector.split():
        m = re.fullmatch(r"([a-z0-9]+|\*)?((?:\.[\w-]+)*)((?:\[[\w-]+(?:=\"[^\"]*\")?\])*)", step)
        tag, classes, attrs = m.group(1) or "*", m.group(2), m.group(3)
        conds = [f"contains(concat(' ', normalize-space(@class), ' '), ' {c} ')" for c in classes.split(".")[1:]]
        for name, value in re.findall(r'\[([\w-]+)(?:="([^"]*)")?\]', attrs):
            conds.append(f"@{name}='{value}'" if value else f"@{name}")
        xpath += f"//{tag}" + "".join(f"[{c}]" for c in conds)
    return node.xpath(xpath)


def revised_instant() -> bytes:
    """The shipped instant-approval diagram with another name: a new version of `instant_approval`."""
    return INSTANT.read_bytes().replace('name="秒批" isExecutable'.encode(), 'name="秒批（修订）" isExecutable'.encode())


def unsafe_instant() -> bytes:
    """The same diagram with an unsafe condition on one flow: validation names that flow."""
    return INSTANT.read_bytes().replace(b'acceptance == "accepted"', b'__import__("os").system("id")')


def post_file(client, name: str, data: bytes, **extra):
    return client.post(f"{BASE}/upload", data={"file": (io.BytesIO(data), name), **extra},
                       content_type="multipart/form-data")


def text_of(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def client_as(app, role: str, username: str | None = None):
    client = app.test_client()
    sign_in(client, username or f"u_{role}", role)
    return client


def counts() -> tuple[int, int, int]:
    return (ProcessDraft.select().count(), ProcessDefinition.select().count(),
            AuditEntry.select().where(AuditEntry.action == "process.publish").count())


# ---------------------------------------------------------------------------------------------
# who may see, who may change
# ---------------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(seeded, app):
    client = app.test_client()
    definition = ProcessDefinition.select().first()
    draft = upload_draft("instant_approval.bpmn", INSTANT.read_bytes(), "designer")
    for url in (f"{BASE}/", f"{BASE}/drafts/{draft.id}", f"{BASE}/drafts/{draft.id}/xml",
                f"{BASE}/versions/{definition.id}", f"{BASE}/versions/{definition.id}/xml",
                f"{BASE}/templates/instant_approval", "/admin/xinyipi_process_definition/"):
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/admin/login?next="), url
    before = counts()
    r = post_file(client, "x.bpmn", INSTANT.read_bytes())
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    r = client.post(f"{BASE}/drafts/{draft.id}/publish", data={"matter": ""})
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    assert counts() == before


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_staff_role_may_look(seeded, app, role):
    client = client_as(app, role)
    definition = ProcessDefinition.get(ProcessDefinition.key == "instant_approval")
    draft = upload_draft("instant_approval.bpmn", INSTANT.read_bytes(), "designer")
    for url in (f"{BASE}/", f"{BASE}/drafts/{draft.id}", f"{BASE}/drafts/{draft.id}/xml",
                f"{BASE}/versions/{definition.id}", f"{BASE}/versions/{definition.id}/xml",
                f"{BASE}/templates/instant_approval", f"{BASE}/templates/instant_approval/xml",
                "/admin/xinyipi_process_definition/"):
        assert client.get(url).status_code == 200, url
    index = client.get(f"{BASE}/").get_data(as_text=True)
    report = client.get(f"{BASE}/drafts/{draft.id}").get_data(as_text=True)
    if role in WRITERS:
        assert 'name="file"' in index and f"{BASE}/drafts/{draft.id}/publish" in report
    else:
        assert 'name="file"' not in index and "/publish" not in report
        assert "您的角色可以查看流程，不能上传或发布" in index


@pytest.mark.parametrize("role", READERS)
def test_readers_may_change_nothing(seeded, app, role):
    client = client_as(app, role)
    draft = upload_draft("instant_approval.bpmn", revised_instant(), "designer")
    matter = matter_with("instant_approval")
    before = counts()
    for url, data in ((f"{BASE}/upload", {"file": (io.BytesIO(INSTANT.read_bytes()), "a.bpmn")}),
                      (f"{BASE}/drafts/{draft.id}/publish", {"matter": str(matter.id)}),
                      (f"{BASE}/drafts/{draft.id}/validate", {}),
                      (f"{BASE}/drafts/{draft.id}/delete", {}),
                      (f"{BASE}/templates/tolerance/draft", {})):
        r = client.post(url, data=data, content_type="multipart/form-data")
        assert r.status_code == 403, url
        assert "无权访问" in r.get_data(as_text=True)
    assert counts() == before
    assert Matter.get_by_id(matter.id).process_id == matter.process_id


@pytest.mark.parametrize("role", WRITERS)
def test_designers_and_sysadmins_may_upload(seeded, app, role):
    client = client_as(app, role)
    r = post_file(client, "instant_approval.bpmn", INSTANT.read_bytes())
    assert r.status_code == 302
    draft = ProcessDraft.get()
    assert r.headers["Location"].endswith(f"{BASE}/drafts/{draft.id}")
    assert (draft.key, draft.name, draft.uploaded_by) == ("instant_approval", "秒批", f"u_{role}")
    assert draft.xml.encode("utf-8") == INSTANT.read_bytes()


def test_posts_need_the_csrf_token(seeded, database_url):
    app = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test"})
    client = app.test_client()
    sign_in(client, "designer2", "process_designer")
    r = post_file(client, "instant_approval.bpmn", INSTANT.read_bytes())
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert ProcessDraft.select().count() == 0
    token = csrf_of(client, f"{BASE}/")
    r = post_file(client, "instant_approval.bpmn", INSTANT.read_bytes(), csrf_token=token)
    assert r.status_code == 302 and ProcessDraft.select().count() == 1


# ---------------------------------------------------------------------------------------------
# refused uploads: a clear message each, nothing stored
# ---------------------------------------------------------------------------------------------
XXE = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')
BOMB = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
        b'&c;</bpmn:definitions>')
BAD_FILES = {
    "wrong extension": ("instant_approval.png", INSTANT.read_bytes(), "只接受 .bpmn 或 .xml 文件"),
    "no extension": ("diagram", INSTANT.read_bytes(), "只接受 .bpmn 或 .xml 文件"),
    "empty": ("empty.bpmn", b"", "是空的"),
    "blank": ("blank.bpmn", b" \n\t\n", "是空的"),
    "binary": ("picture.bpmn", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "是二进制文件"),
    "utf-16": ("utf16.bpmn", INSTANT.read_text(encoding="utf-8").encode("utf-16"), "UTF-16 编码"),
    "gbk": ("gbk.bpmn", '<?xml version="1.0" encoding="GBK"?><a>审批</a>'.encode("gbk"), "不是 UTF-8 编码的文本"),
    "malformed": ("broken.bpmn", b"<bpmn:definitions xmlns:bpmn='x'><unclosed>", "不是有效的 XML"),
    "not bpmn": ("page.xml", b"<html><body>hello</body></html>", "不是 BPMN 2.0 文件"),
    "xxe": ("xxe.bpmn", XXE, "不得包含 DTD 或实体声明"),
    "entity bomb": ("bomb.bpmn", BOMB, "不得包含 DTD 或实体声明"),
    "over size": ("big.bpmn", INSTANT.read_bytes().replace(b"</bpmn:definitions>", b"<!--"
                  + b"x" * (5 * 1024 * 1024) + b"--></bpmn:definitions>"), "文件过大"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_upload_gets_its_message_and_stores_nothing(db, app, case):
    name, data, message = BAD_FILES[case]
    client = client_as(app, "process_designer")
    r = post_file(client, name, data)
    assert r.status_code == 400
    page = text_of(r)
    assert message in page
    error = lhtml.fromstring(r.get_data(as_text=True)).find_class("xyp-upload-error")
    assert len(error) == 1 and message in error[0].text_content()
    assert ProcessDraft.select().count() == 0 and ProcessDefinition.select().count() == 0


def test_no_file_chosen(db, app):
    client = client_as(app, "process_designer")
    r = client.post(f"{BASE}/upload", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "请选择要上传的 BPMN 文件" in text_of(r)
    assert ProcessDraft.select().count() == 0


def test_request_over_the_server_limit_is_refused_in_chinese(db, app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    client = client_as(app, "process_designer")
    r = post_file(client, "big.bpmn", b"<a>" + b"x" * (100 * 1024) + b"</a>")
    assert r.status_code == 413
    assert "上传的内容过大（超过 64 KB）" in text_of(r)
    assert ProcessDraft.select().count() == 0
    reader = client_as(app, "reviewer")
    assert post_file(reader, "big.bpmn", b"x" * (100 * 1024)).status_code == 403


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def _runs_on_page(page_html: str) -> dict:
    tree = lhtml.fromstring(page_html)
    out = {}
    for row in css(tree, "table.xyp-runs tbody tr"):
        cells = css(row, "td")
        out[(row.get("data-tier"), row.get("data-record") == "yes")] = {
            "path": row.get("data-path") or None,
            "end": css(row, "td.xyp-end")[0].text_content().strip(),
            "tasks": css(row, "td.xyp-tasks")[0].text_content().strip(),
            "label": cells[0].text_content().strip(),
        }
    return out


def test_good_upload_shows_the_path_of_each_haikou_tier(seeded, app):
    client = client_as(app, "process_designer")
    r = post_file(client, "instant_approval.bpmn", INSTANT.read_bytes())
    r = client.get(r.headers["Location"])
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    scheme = active_scheme()
    assert scheme.code == "haikou"
    expected = validate_xml(INSTANT.read_bytes(), scheme=scheme)
    assert expected.ok and len(expected.runs) == 2 * len(scheme.ordered_tiers())
    shown = _runs_on_page(page)
    assert set(shown) == {(run.tier, run.has_record) for run in expected.runs}
    for run in expected.runs:
        row = shown[(run.tier, run.has_record)]
        assert row["path"] == run.path and row["end"] == run.end
        assert row["tasks"] == (" → ".join(run.human_tasks) if run.human_tasks else "无人工环节")
        assert row["label"] == f"{run.tier_label}（{run.tier}）"
    # the engine's answer for the seeded scheme, read back from the page: red → instant, nobody in the loop
    assert shown[("red", False)]["path"] == "instant" and shown[("red", False)]["tasks"] == "无人工环节"
    assert {row["path"] for (tier, record), row in shown.items() if tier != "red" or record} == {"standard"}
    text = text_of(r)
    assert "校验通过，可以发布" in text and "海口" in text
    # the designer may pick a matter to publish to
    matter = matter_with("instant_approval")
    assert f'value="{matter.id}"' in page and matter.name in page


def test_report_names_erroneous_elements_and_highlights_them(seeded, app):
    client = client_as(app, "process_designer")
    r = post_file(client, "unsafe.bpmn", unsafe_instant())
    assert r.status_code == 302
    draft = ProcessDraft.get()
    expected = validate_xml(unsafe_instant(), scheme=active_scheme())
    assert not expected.ok
    ids = sorted({p.element_id for p in expected.errors if p.element_id})
    assert ids, expected.errors
    r = client.get(f"{BASE}/drafts/{draft.id}")
    tree = lhtml.fromstring(r.get_data(as_text=True))
    items = css(tree, "ul.xyp-errors li")
    assert [(li.get("data-element") or None, li.text_content()) for li in items] == [
        (p.element_id, f"{p.element_id}：{p.message}" if p.element_id else p.message) for p in expected.errors]
    diagram = lhtml.tostring(css(tree, "section.xyp-diagram-box")[0], encoding="unicode")
    for element_id in ids:
        assert element_id in diagram  # passed to the viewer as `current`
    assert "不能发布" in text_of(r) and "xyp-publish" not in r.get_data(as_text=True)


def test_report_shows_a_run_on_the_diagram(seeded, app):
    client = client_as(app, "reviewer")
    draft = upload_draft("instant_approval.bpmn", INSTANT.read_bytes(), "designer")
    run = next(i for i, r in enumerate(draft.report["runs"]) if r["tier"] == "red" and not r["has_record"])
    r = client.get(f"{BASE}/drafts/{draft.id}?run={run}")
    tree = lhtml.fromstring(r.get_data(as_text=True))
    assert "xyp-shown" in css(tree, 'tr[data-tier="red"][data-record="no"]')[0].get("class")
    diagram = lhtml.tostring(css(tree, "section.xyp-diagram-box")[0], encoding="unicode")
    assert "Script_PathInstant" in diagram and "Script_PathStandard" not in diagram
    assert client.get(f"{BASE}/drafts/{draft.id}?run=999").status_code == 200


# ---------------------------------------------------------------------------------------------
# publishing
# ---------------------------------------------------------------------------------------------
def test_publish_binds_the_matter_and_new_cases_run_on_the_new_version(seeded, app):
    matter = matter_with("instant_approval")
    old = matter.process
    before = service.apply(matter.code, demo_code("blue"))
    assert before.process_id == old.id

    client = client_as(app, "process_designer", "designer2")
    post_file(client, "instant_approval.bpmn", revised_instant())
    draft = ProcessDraft.get()
    r = client.post(f"{BASE}/drafts/{draft.id}/publish", data={"matter": str(matter.id)})
    assert r.status_code == 302
    new = ProcessDefinition.get((ProcessDefinition.key == "instant_approval")
                                & (ProcessDefinition.version == old.version + 1))
    assert r.headers["Location"].endswith(f"{BASE}/versions/{new.id}")
    assert (new.name, new.published_by, new.source) == ("秒批（修订）", "designer2", "instant_approval.bpmn")
    assert new.tier_paths == validate_xml(revised_instant(), scheme=active_scheme()).tier_paths()
    assert Matter.get_by_id(matter.id).process_id == new.id
    audit = AuditEntry.get(AuditEntry.action == "process.publish")
    assert audit.actor == "designer2" and audit.application_id is None and audit.subject_id is None
    assert {k: audit.detail[k] for k in ("key", "version", "matter")} == {
        "key": "instant_approval", "version": new.version, "matter": matter.code}

    page = client.get(r.headers["Location"])
    text = text_of(page)
    assert f"已发布 instant_approval 版本 v{new.version}，并绑定到事项“{matter.name}”" in text
    tree = lhtml.fromstring(page.get_data(as_text=True))
    assert [row.get("data-matter") for row in css(tree, "table.xyp-matters tbody tr")] == [matter.code]
    paths = {row.get("data-tier"): [td.get("data-path") for td in css(row, "td[data-path]")]
             for row in css(tree, "table.xyp-tier-paths tbody tr")}
    assert paths == {tier: [value["clean"], value["record"]] for tier, value in new.tier_paths.items()}

    after = service.apply(matter.code, demo_code("red"))
    assert after.process_id == new.id and after.path == new.tier_paths["red"]["clean"]
    assert service.get(before.number).process_id == old.id  # the running case keeps its version


def test_publishing_without_a_matter_and_again_reuses_the_version(seeded, app):
    client = client_as(app, "process_designer")
    post_file(client, "instant_approval.bpmn", revised_instant())
    draft = ProcessDraft.get()
    bound = {m.id: m.process_id for m in Matter.select()}
    r = client.post(f"{BASE}/drafts/{draft.id}/publish", data={"matter": ""})
    assert r.status_code == 302
    definition = ProcessDefinition.select().order_by(ProcessDefinition.id.desc()).get()
    assert "（未绑定事项）" in text_of(client.get(r.headers["Location"]))
    assert {m.id: m.process_id for m in Matter.select()} == bound
    r = client.post(f"{BASE}/drafts/{draft.id}/publish", data={})
    assert r.headers["Location"].endswith(f"/versions/{definition.id}")
    assert "未产生新版本" in text_of(client.get(r.headers["Location"]))
    assert ProcessDefinition.select().where(ProcessDefinition.key == "instant_approval").count() == 2
    details = [a.detail for a in AuditEntry.select().where(AuditEntry.action == "process.publish")
               .order_by(AuditEntry.id)]
    assert [(d["version"], d["matter"], d["new_version"]) for d in details] == [(2, None, True), (2, None, False)]


def test_publish_is_refused_when_the_report_has_errors(seeded, app):
    client = client_as(app, "process_designer")
    post_file(client, "unsafe.bpmn", unsafe_instant())
    draft = ProcessDraft.get()
    matter = matter_with("instant_approval")
    before = counts()
    r = client.post(f"{BASE}/drafts/{draft.id}/publish", data={"matter": str(matter.id)})
    assert r.status_code == 400
    n = len(validate_xml(unsafe_instant(), scheme=active_scheme()).errors)
    assert f"校验未通过（{n} 个错误），未发布" in text_of(r)
    assert counts() == before and Matter.get_by_id(matter.id).process_id == matter.process_id


@pytest.mark.parametrize("value", ["999999", "abc", "12345678901234567890"])
def test_publish_to_an_unknown_matter_is_refused(seeded, app, value):
    client = client_as(app, "process_designer")
    draft = upload_draft("instant_approval.bpmn", revised_instant(), "designer")
    before = counts()
    r = client.post(f"{BASE}/drafts/{draft.id}/publish", data={"matter": value})
    assert r.status_code == 400 and "所选事项不存在，未发布" in text_of(r)
    assert counts() == before


def test_unknown_ids_are_404(seeded, app):
    client = client_as(app, "process_designer")
    for url in (f"{BASE}/drafts/999", f"{BASE}/drafts/999/xml", f"{BASE}/versions/999",
                f"{BASE}/versions/999/xml", f"{BASE}/templates/nope", f"{BASE}/templates/nope/xml"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{BASE}/drafts/999/publish").status_code == 404
    assert client.get(f"{BASE}/templates/..%2Fsetup/xml").status_code == 404


def test_revalidate_and_delete_a_draft(seeded, app):
    client = client_as(app, "process_designer")
    draft = upload_draft("instant_approval.bpmn", INSTANT.read_bytes(), "designer")
    ProcessDraft.update(report_json="{}").where(ProcessDraft.id == draft.id).execute()
    r = client.post(f"{BASE}/drafts/{draft.id}/validate")
    assert r.status_code == 302
    assert ProcessDraft.get_by_id(draft.id).report["ok"] is True
    definitions = ProcessDefinition.select().count()
    assert client.post(f"{BASE}/drafts/{draft.id}/delete").status_code == 302
    assert ProcessDraft.get_or_none(ProcessDraft.id == draft.id) is None
    assert ProcessDefinition.select().count() == definitions


# ---------------------------------------------------------------------------------------------
# versions, XML, templates
# ---------------------------------------------------------------------------------------------
def test_xml_download_round_trips_byte_identical(seeded, app):
    data = revised_instant().replace(b"\n", b"\r\n")  # CRLF and Chinese text survive as they are
    client = client_as(app, "process_designer")
    post_file(client, "修订.bpmn", data)
    draft = ProcessDraft.get()
    assert client.get(f"{BASE}/drafts/{draft.id}/xml").data == data
    client.post(f"{BASE}/drafts/{draft.id}/publish", data={"matter": ""})
    definition = ProcessDefinition.select().order_by(ProcessDefinition.id.desc()).get()
    r = client_as(app, "supervisor").get(f"{BASE}/versions/{definition.id}/xml?download=1")
    assert r.status_code == 200 and r.data == data
    assert r.headers["Content-Disposition"] == f"attachment; filename=instant_approval-v{definition.version}.bpmn"
    # what the viewer fetches is the same inert download (see tests/admin/test_diagram_safety.py)
    inline = client.get(f"{BASE}/versions/{definition.id}/xml")
    assert inline.data == data and inline.mimetype == "text/plain"
    assert inline.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in inline.headers["Content-Security-Policy"]


def test_versions_list_is_read_only_and_counts_bound_matters(seeded, app):
    client = client_as(app, "process_designer")
    r = client.get("/admin/xinyipi_process_definition/")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "不可修改、不可删除" in text_of(r)
    tree = lhtml.fromstring(page)
    rows = [r for r in css(tree, "table.model-list tr") if css(r, "td.col-key")]
    assert len(rows) == ProcessDefinition.select().count()
    for definition in ProcessDefinition.select():
        row = next(r for r in rows if f"/versions/{definition.id}\"" in lhtml.tostring(r, encoding="unicode"))
        cells = [c.text_content().strip() for c in css(row, "td")]
        assert definition.checksum[:12] in cells
        assert str(Matter.select().where(Matter.process == definition).count()) == cells[-1]
    keys = [c.text_content().strip() for c in css(tree, "td.col-key")]
    assert keys == [d.key for d in ProcessDefinition.select().order_by(ProcessDefinition.published_at.desc(),
                                                                        ProcessDefinition.id.desc())]
    assert "/admin/xinyipi_process_definition/new/" not in page and "/edit/" not in page
    assert 'action="/admin/xinyipi_process_definition/delete/' not in page
    definitions = ProcessDefinition.select().count()
    for who in (client, client_as(app, "sysadmin")):  # refused (403) or sent back to the list (302)
        for url in ("/admin/xinyipi_process_definition/new/", "/admin/xinyipi_process_definition/edit/?id=1"):
            assert who.get(url).status_code in (302, 403)
        assert who.post("/admin/xinyipi_process_definition/delete/", data={"id": "1"}).status_code in (302, 403)
        who.post("/admin/xinyipi_process_definition/new/", data={"key": "x", "version": "9"})
        assert ProcessDefinition.select().count() == definitions
    found = tree_rows(client.get("/admin/xinyipi_process_definition/?search=tolerance"))
    assert found == ["tolerance"]


def tree_rows(response) -> list[str]:
    tree = lhtml.fromstring(response.get_data(as_text=True))
    return [c.text_content().strip() for c in css(tree, "td.col-key")]


def test_templates_view_download_and_use_as_draft(seeded, app):
    client = client_as(app, "process_designer")
    index = lhtml.fromstring(client.get(f"{BASE}/").get_data(as_text=True))
    listed = [row.get("data-template") for row in css(index, "table.xyp-templates tbody tr")]
    assert listed == sorted(p.stem for p in (ROOT / "bpmn").glob("*.bpmn"))
    r = client.get(f"{BASE}/templates/tolerance")
    assert r.status_code == 200 and "容缺受理" in text_of(r)
    r = client.get(f"{BASE}/templates/tolerance/xml?download=1")
    assert r.data == (ROOT / "bpmn" / "tolerance.bpmn").read_bytes()
    assert r.headers["Content-Disposition"] == "attachment; filename=tolerance.bpmn"
    r = client.post(f"{BASE}/templates/tolerance/draft")
    draft = ProcessDraft.get()
    assert r.headers["Location"].endswith(f"/drafts/{draft.id}")
    assert (draft.key, draft.filename, draft.ok) == ("tolerance", "tolerance.bpmn", True)


def test_the_drafts_table_comes_from_its_own_migration(db):
    from plugin.migrations import SchemaMigration
    assert "process_draft" in db.get_tables()
    assert SchemaMigration.get_or_none(SchemaMigration.number == 5).name == "process_drafts"
