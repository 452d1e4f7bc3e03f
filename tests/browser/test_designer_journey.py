"""The BPMN designer in Chromium (admin/processes.py, frontend/src/designer.js): a designer opens the
standard review of a matter in the modeler, adds a user task in the applicant lane with a form field
and a condition on a new flow through the palette/context pad and the Chinese properties panel,
validates (the missing condition is marked on the diagram), publishes to the matter; a citizen then
applies and meets the new field. Also: the panel writes what the engine reads, the round trip
through export, import of a bad file, and a stale save."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from plugin import assets
from plugin.applications.models import Application
from plugin.catalog.models import Matter
from plugin.credit.tiers import active_scheme
from plugin.engine.definitions import NSMAP, parse_process, parse_xml
from plugin.engine.drafts import ProcessDraft
from plugin.engine.models import ProcessDefinition
from plugin.engine.validate import validate_xml
from tests.helpers import bound_account, demo_code

ROOT = Path(__file__).resolve().parents[2]
STANDARD = "000117003000-HK"     # 医疗机构执业登记, bound to standard_review
PASSWORD = "portal-pass-1"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@pytest.fixture
def modeler():
    if not assets.bundle_built(assets.MODELER_FILES):
        pytest.fail("bpmn-js modeler bundle not built: run `make frontend` (or make test)", pytrace=False)


# --------------------------------------------------------------------------- what a person does

def selected(page) -> str:
    """The id the properties panel shows: the element the designer has selected."""
    return page.locator("#bio-properties-panel-id").input_value()


def select(page, element_id: str) -> None:
    """Click an element on the canvas until the panel shows it (the first click after typing in the
    panel only takes the focus back to the canvas)."""
    page.locator("#xyp-designer-canvas").scroll_into_view_if_needed()
    for _ in range(3):
        shape = page.locator(f'.djs-element[data-element-id="{element_id}"]')
        if shape.get_attribute("class") and "djs-connection" in shape.get_attribute("class"):
            # a short flow may lie under the context pad of what is selected: click on empty canvas first
            page.locator("#xyp-designer-canvas").click(position={"x": 350, "y": 570})
            # aim at a point of the line that nothing else covers, as a person would
            point = page.evaluate("""(id) => {
              const path = document.querySelector(`.djs-element[data-element-id="${id}"] .djs-hit`);
              const m = path.getScreenCTM(), total = path.getTotalLength();
              for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9]) {
                const p = path.getPointAtLength(total * t);
                const x = p.x * m.a + p.y * m.c + m.e, y = p.x * m.b + p.y * m.d + m.f;
                const hit = document.elementFromPoint(x, y);
                const owner = hit && hit.closest('.djs-element');
                if (owner && owner.dataset.elementId === id) return [x, y];
              }
              return null; }""", element_id)
            if point is None:
                continue
            page.mouse.click(*point)
        else:
            shape.click()
        page.wait_for_timeout(150)
        if page.locator("#bio-properties-panel-id").count() and selected(page) == element_id:
            return
    pytest.fail(f"could not select {element_id} on the canvas")


def pad(page, action: str) -> None:
    page.locator(f'.djs-context-pad [data-action="{action}"]').click()


def open_group(page, group_id: str) -> None:
    header = page.locator(f'[data-group-id="group-{group_id}"] .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def press(page, locator) -> None:
    """Activate a panel button by keyboard: its header re-lays out on hover, so a mouse click aimed
    before the hover lands beside it."""
    locator.focus()
    page.keyboard.press("Enter")


def save_and_validate(page) -> None:
    page.click("#xyp-validate")
    page.wait_for_function("document.getElementById('xyp-designer-status').dataset.kind === 'ok' || "
                           "document.getElementById('xyp-designer-status').dataset.kind === 'bad' || "
                           "document.getElementById('xyp-designer-status').dataset.kind === 'error'")


def open_designer(page, live_server, staff_login, path: str) -> None:
    staff_login(page, live_server, "designer")
    page.goto(f"{live_server.url}/admin/processes/{path}")
    page.wait_for_selector("body[data-xyp-designer=ready]")


# --------------------------------------------------------------------------- the journey

def test_designer_adds_an_applicant_task_validates_publishes_and_a_citizen_sees_the_field(
        modeler, live_server, page, phone_page, shot, staff_login):
    matter = Matter.get(Matter.code == STANDARD)
    old = matter.process
    assert old.key == "standard_review"
    open_designer(page, live_server, staff_login, f"designer/versions/{old.id}")
    # the palette and panel speak Chinese
    assert page.locator('.djs-palette [data-action="create.task"]').get_attribute("aria-label") == "创建任务"
    shot(page, "opened")

    # take the flow from the path script to the first review apart, then append a gateway and a task
    select(page, "Flow_Script_PathStandard_Task_Accept")
    pad(page, "delete")
    select(page, "Script_PathStandard")
    assert page.locator('.djs-context-pad [data-action="append.gateway"]').get_attribute("title") == "追加网关"
    pad(page, "append.gateway")
    gateway = selected(page)
    page.keyboard.press("Escape")                       # no label for the gateway
    pad(page, "append.append-task")
    task = selected(page)
    page.keyboard.type("补充经营情况说明")                 # the new task's name, typed on the canvas
    page.keyboard.press("Enter")
    pad(page, "replace")
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    assert page.locator(".bio-properties-panel-header-type").inner_text() == "用户任务"

    # its form: generated task form, one required text field
    open_group(page, "CamundaPlatform__Form")
    page.select_option("#bio-properties-panel-formType", label="生成的任务表单（formData，信易批使用）")
    press(page, page.locator('[data-group-id="group-CamundaPlatform__FormData"] '
                             '.bio-properties-panel-group-header .bio-properties-panel-add-entry'))
    field = f"#bio-properties-panel-{task}-formField-0"
    page.fill(f"{field}-formFieldID", "business_note")
    page.fill(f"{field}-formFieldLabel", "经营场所情况说明")
    page.select_option(f"{field}-formFieldType", "string")
    press(page, page.locator(".bio-properties-panel-list-entry", has_text="约束").first
          .locator(".bio-properties-panel-add-entry").first)
    page.fill(f"{field}-formFieldConstraints-constraint-0-name", "required")
    page.fill(f"{field}-formFieldConstraints-constraint-0-config", "true")
    shot(page, "form-field")

    # the task and the gateway both lead to the acceptance
    select(page, task)
    pad(page, "connect")
    page.click('[data-element-id="Task_Accept"]')
    select(page, gateway)
    pad(page, "connect")
    page.click('[data-element-id="Task_Accept"]')
    flows = page.evaluate("""([g, t]) => window.xypModeler.get('elementRegistry')
        .filter(e => e.type === 'bpmn:SequenceFlow' && e.source.id === g)
        .map(e => [e.id, e.target.id])""", [gateway, task])
    to_task = next(f for f, target in flows if target == task)
    to_accept = next(f for f, target in flows if target == "Task_Accept")

    # validate: the gateway's conditionless flows are an error, marked on the diagram and listed
    save_and_validate(page)
    assert "校验未通过" in page.locator("#xyp-designer-verdict").inner_text()
    draft = ProcessDraft.get_by_id(int(page.evaluate("document.body.dataset.xypDraft")))
    assert page.url.endswith(f"/admin/processes/designer/drafts/{draft.id}")
    bad = {p["element_id"] for p in draft.report["errors"] if p["element_id"]}
    assert bad
    for element_id in bad:
        page.locator(f'.djs-element.xyp-error[data-element-id="{element_id}"]').wait_for(state="attached")
        page.locator(f'.xyp-error-badge[data-element="{element_id}"]').wait_for(state="attached")
    assert page.locator("#xyp-designer-publish button[type=submit]").is_disabled()
    shot(page, "errors-on-diagram")
    page.locator(f'#xyp-errors li[data-element="{next(iter(bad))}"] button.xyp-goto').click()
    assert selected(page) == next(iter(bad))

    # default flow to the acceptance; a condition on the new flow to the applicant's task
    select(page, to_accept)
    pad(page, "replace")
    page.locator('.djs-popup [data-id="replace-with-default-flow"]').click()
    select(page, to_task)
    open_group(page, "general")
    page.fill("#bio-properties-panel-name", "蓝色及以下补充说明")
    open_group(page, "CamundaPlatform__Condition")
    page.select_option("#bio-properties-panel-conditionType", "expression")
    page.fill("#bio-properties-panel-conditionExpression", 'not tier_at_least("orange")')
    select(page, gateway)                               # leave the field: the panel commits it
    save_and_validate(page)
    assert page.locator("#xyp-designer-verdict").inner_text() == "校验通过，可以发布"
    assert page.locator(".djs-element.xyp-error").count() == 0
    new_name = "补充经营情况说明［申请人］"
    blue = page.locator('#xyp-runs tr[data-tier="blue"][data-record="no"] td.xyp-tasks').inner_text()
    red = page.locator('#xyp-runs tr[data-tier="red"][data-record="no"] td.xyp-tasks').inner_text()
    assert blue.startswith(new_name) and new_name not in red
    shot(page, "validated")

    # what was stored is what the engine reads
    draft = ProcessDraft.get_by_id(draft.id)
    root = parse_xml(draft.xml)
    flow = root.find(f'.//bpmn:sequenceFlow[@id="{to_task}"]', NSMAP)
    condition = flow.find("bpmn:conditionExpression", NSMAP)
    assert condition.get(XSI_TYPE) == "bpmn:tFormalExpression" and condition.text == 'not tier_at_least("orange")'
    assert root.find(f'.//bpmn:exclusiveGateway[@id="{gateway}"]', NSMAP).get("default") == to_accept
    lane = root.find('.//bpmn:lane[@name="applicant"]', NSMAP)
    assert task in [ref.text for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP)]
    _pid, spec, _sub = parse_process(root)
    form = spec.task_specs[task].form
    assert [(f.id, f.label, f.type, f.get_validation("required")) for f in form.fields] == [
        ("business_note", "经营场所情况说明", "string", "true")]

    # publish to the matter
    page.select_option("#xyp-matter", str(matter.id))
    with page.expect_navigation():
        page.click("#xyp-designer-publish button[type=submit]")
    new = ProcessDefinition.get((ProcessDefinition.key == "standard_review") & (ProcessDefinition.version == old.version + 1))
    assert page.url.endswith(f"/admin/processes/versions/{new.id}")
    assert Matter.get_by_id(matter.id).process_id == new.id
    shot(page, "published")

    # a blue citizen applies and meets the new field in the generated form
    citizen = phone_page
    code = demo_code("blue")
    bound_account(code, PASSWORD)
    citizen.goto(f"{live_server.url}/portal/login")
    citizen.get_by_label("统一社会信用代码或身份证号").fill(code)
    citizen.get_by_label("密码").fill(PASSWORD)
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="登录").click()
    citizen.goto(f"{live_server.url}/portal/matters/{STANDARD}")
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="在线申请").click()
    citizen.get_by_label("经办人姓名").fill("王小明")
    citizen.get_by_label("联系电话").fill("0898-66668888")
    for material in re.findall(r'name="file_(\w+)"[^>]*aria-required="true"', citizen.content()):
        citizen.set_input_files(f"#m-{material}", files=[{"name": f"{material}.pdf", "mimeType": "application/pdf",
                                                          "buffer": b"%PDF-1.4\n%%EOF\n" + material.encode()}])
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="提交申请").click()
    number = citizen.locator('[data-testid="case-number"]').inner_text()
    assert Application.get(Application.number == number).process_id == new.id
    with citizen.expect_navigation():
        citizen.get_by_role("link", name="去办理：补充经营情况说明").click()
    note = citizen.get_by_label("经营场所情况说明")
    assert note.is_visible()
    shot(citizen, "citizen-sees-the-new-field")
    note.fill("门诊部位于一层，面积 120 平方米")
    with citizen.expect_navigation():
        citizen.get_by_role("button", name=re.compile("提交")).click()
    assert Application.get(Application.number == number).status != "draft"
    assert page.xyp_errors == [] and citizen.xyp_errors == []


# --------------------------------------------------------------------------- what the panel writes

def test_the_panel_writes_python_scripts_and_working_day_timers(modeler, live_server, page, staff_login):
    open_designer(page, live_server, staff_login, "designer/new")
    select(page, "StartEvent_Submit")
    pad(page, "append.append-task")
    task = selected(page)
    page.keyboard.press("Escape")
    pad(page, "replace")
    page.locator('.djs-popup [data-id="replace-with-script-task"]').click()
    open_group(page, "CamundaPlatform__Script")
    assert page.locator("#bio-properties-panel-scriptFormat").input_value() == "python"   # our behaviour
    page.select_option("#bio-properties-panel-scriptType", "script")
    page.fill("#bio-properties-panel-scriptValue", 'path = "standard"\ndecision = "approved"')
    # a timer boundary event: the deadline in working days
    select(page, task)
    pad(page, "append.intermediate-event")
    event = selected(page)
    page.keyboard.press("Escape")
    pad(page, "replace")
    page.locator('.djs-popup [data-id="replace-with-timer-intermediate-catch"]').click()
    open_group(page, "timer")
    page.select_option("#bio-properties-panel-timerEventDefinitionType", "timeDate")
    page.fill("#bio-properties-panel-timerEventDefinitionValue", "working_days(5)")
    select(page, task)
    page.click("#xyp-save")
    page.wait_for_function("['ok', 'bad'].includes(document.getElementById('xyp-designer-status').dataset.kind)")
    draft = ProcessDraft.get_by_id(int(page.evaluate("document.body.dataset.xypDraft")))
    root = parse_xml(draft.xml)
    script_task = root.find(f'.//bpmn:scriptTask[@id="{task}"]', NSMAP)
    assert script_task.get("scriptFormat") == "python"
    assert script_task.find("bpmn:script", NSMAP).text == 'path = "standard"\ndecision = "approved"'
    time_date = root.find(f'.//bpmn:intermediateCatchEvent[@id="{event}"]/bpmn:timerEventDefinition/bpmn:timeDate', NSMAP)
    assert time_date.get(XSI_TYPE) == "bpmn:tFormalExpression" and time_date.text == "working_days(5)"
    assert root.get("exporter") == "xinyipi"
    # none of these is an error for the engine (the diagram is unfinished: no end event yet)
    ids = {p["element_id"] for p in draft.report["errors"]}
    assert task not in ids and event not in ids


# --------------------------------------------------------------------------- round trip, import, conflicts

@pytest.mark.parametrize("key", ["tolerance", "instant_approval", "credit_repair"])
def test_template_round_trip_through_the_designer_keeps_the_dry_run(modeler, live_server, page, staff_login,
                                                                    tmp_path, key):
    """Shipped template (Camunda Modeler's format) → modeler → export: same per-tier dry run,
    camunda: extensions, DI and the attributes Camunda Modeler reads."""
    open_designer(page, live_server, staff_login, f"designer/templates/{key}")
    with page.expect_download() as download:
        page.click("#xyp-export")
    assert download.value.suggested_filename == f"{key}.bpmn"
    exported = Path(download.value.path()).read_bytes()
    original = (ROOT / "bpmn" / f"{key}.bpmn").read_bytes()
    scheme = active_scheme()
    before, after = validate_xml(original, scheme=scheme), validate_xml(exported, scheme=scheme)
    assert after.ok, after.errors
    assert [r.line() for r in after.runs] == [r.line() for r in before.runs]
    root = etree.fromstring(exported)
    assert root.get("exporter") == "xinyipi"
    assert root.get("{http://camunda.org/schema/modeler/1.0}executionPlatform") == "Camunda Platform"
    assert len(root.findall(".//camunda:formField", NSMAP)) == len(etree.fromstring(original).findall(".//camunda:formField", NSMAP))
    shapes = {s.get("bpmnElement") for s in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    edges = {s.get("bpmnElement") for s in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")}
    process = root.find("bpmn:process", NSMAP)
    nodes = [n.get("id") for n in process if n.get("id") and etree.QName(n).localname not in ("laneSet", "sequenceFlow")]
    assert set(nodes) <= shapes
    assert {f.get("id") for f in process.iterfind("bpmn:sequenceFlow", NSMAP)} <= edges


def test_import_refuses_a_bad_file_and_keeps_the_diagram(modeler, live_server, page, staff_login, tmp_path):
    open_designer(page, live_server, staff_login, "designer/templates/standard_review")
    before = page.evaluate("window.xypModeler.get('elementRegistry').getAll().length")
    bad = tmp_path / "xxe.bpmn"
    bad.write_bytes(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')
    page.set_input_files("#xyp-import", str(bad))
    page.locator("#xyp-designer-alert:not([hidden])").wait_for()
    assert "不得包含 DTD 或实体声明" in page.locator("#xyp-designer-alert").inner_text()
    assert page.evaluate("window.xypModeler.get('elementRegistry').getAll().length") == before
    good = tmp_path / "commitment.bpmn"
    good.write_bytes((ROOT / "bpmn" / "commitment.bpmn").read_bytes())
    page.set_input_files("#xyp-import", str(good))
    page.locator('.djs-element[data-element-id="Task_SignCommitment"]').wait_for()
    assert "已导入" in page.locator("#xyp-designer-status").inner_text()


def test_a_stale_save_is_refused_and_the_work_stays(modeler, live_server, page, staff_login):
    from plugin.engine.drafts import from_template, save_designed
    draft = from_template("standard_review", "designer")
    open_designer(page, live_server, staff_login, f"designer/drafts/{draft.id}")
    # another designer saves the same draft meanwhile
    other = draft.xml.replace('name="标准审批（受理→审查→决定）"', 'name="标准审批（他人修改）"')
    save_designed(other, "designer2", draft=draft, revision=draft.revision)
    select(page, "Task_Review")
    open_group(page, "general")
    page.fill("#bio-properties-panel-name", "审查（设计器修改）")
    select(page, "Task_Accept")
    page.click("#xyp-save")
    alert = page.locator("#xyp-designer-alert:not([hidden])")
    alert.wait_for()
    assert "designer2" in alert.inner_text() and "本次未保存" in alert.inner_text()
    assert "designer2" == ProcessDraft.get_by_id(draft.id).updated_by
    stored = ProcessDraft.get_by_id(draft.id).xml
    assert "他人修改" in stored and "审查（设计器修改）" not in stored
    # the work is still on the page, and may be kept as a new draft
    assert page.evaluate("window.xypModeler.get('elementRegistry').get('Task_Review').businessObject.name") == "审查（设计器修改）"
    page.click("#xyp-designer-alert .xyp-save-new")
    page.wait_for_function("document.body.dataset.xypDraft && document.body.dataset.xypDraft !== %s" % repr(str(draft.id)))
    new = ProcessDraft.get_by_id(int(page.evaluate("document.body.dataset.xypDraft")))
    assert 'name="审查（设计器修改）"' in new.xml and new.id != draft.id
