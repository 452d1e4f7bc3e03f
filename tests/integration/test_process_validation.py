"""`process validate` / `publish`: safe parsing, clear errors with element ids, versions, script safety."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import demo_code, diagram, matter_with, new_subject
from plugin.applications import service
from plugin.catalog.models import Matter
from plugin.credit.models import GENERAL
from plugin.credit.tiers import activate_scheme
from plugin.engine.definitions import spec_to_json, parse_process, parse_xml, checksum
from plugin.engine.models import ProcessDefinition
from plugin.engine.publish import PublishRefused, publish, template_path
from plugin.engine.validate import validate_xml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "bpmn").glob("*.bpmn"))


def gateway_diagram(condition: str, default: bool = True, other: str = 'tier == "black"') -> str:
    """A tier gateway: `condition` → approve; the other flow is the default, or conditional on `other`."""
    other_flow = ("" if default else
                  f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{other}</bpmn:conditionExpression>')
    return diagram(f"""
    <bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Gateway_Tier"/>
    <bpmn:exclusiveGateway id="Gateway_Tier" {'default="F_Default"' if default else ''}/>
    <bpmn:sequenceFlow id="F_Cond" sourceRef="Gateway_Tier" targetRef="Script_Yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_Default" sourceRef="Gateway_Tier" targetRef="Script_No">{other_flow}</bpmn:sequenceFlow>
    <bpmn:scriptTask id="Script_Yes"><bpmn:script>decision = "approved"
path = "instant"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="Script_No"><bpmn:script>decision = "rejected"
path = "standard"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Script_Yes" targetRef="End_1"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Script_No" targetRef="End_1"/>
    <bpmn:endEvent id="End_1" name="结束"/>""")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_every_shipped_template_validates_and_has_diagram_interchange(seeded, path):
    if path.stem == "jiangdu_rules":
        activate_scheme("jiangdu")
    xml = path.read_text(encoding="utf-8")
    report = validate_xml(xml)
    assert report.ok, report.lines()
    root = parse_xml(xml)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    drawn = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNShape", ns)}
    drawn |= {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    process = root.find("bpmn:process", ns)
    elements = {e.get("id") for e in process if e.get("id") and not e.tag.endswith(("laneSet", "documentation",
                                                                                      "extensionElements"))}
    assert elements - drawn == set()
    # every tier reaches an end with a decision
    assert all(run.decision for run in report.runs), report.lines()


def test_validate_command_prints_the_path_of_each_tier(seeded, cli_runner):
    result = cli_runner("process", "validate", template_path("instant_approval"))
    assert result.exit_code == 0, result.output
    assert "红色（red）: 路径 instant" in result.output and "无人工环节" in result.output
    assert "蓝色（blue）: 路径 standard" in result.output and "受理［审查人员］" in result.output
    assert result.output.count("路径") == 8  # 4 tiers, with and without a record


def test_external_entities_and_dtds_are_refused(seeded, tmp_path, cli_runner):
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')
    bomb = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&b;</bpmn:definitions>')
    for xml in (xxe, bomb):
        report = validate_xml(xml)
        assert not report.ok and "DTD" in str(report.errors[0])
        path = tmp_path / "evil.bpmn"
        path.write_text(xml)
        result = cli_runner("process", "validate", path)
        assert result.exit_code == 1 and "root:" not in result.output and "DTD" in result.output


@pytest.mark.parametrize("content,expected", [
    ("this is not xml at all", "不是有效的 XML"),
    ('<?xml version="1.0"?><html><body/></html>', "不是 BPMN 2.0 文件"),
    ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>', "没有可执行的流程"),
])
def test_malformed_files_get_a_clear_message(seeded, content, expected):
    report = validate_xml(content)
    assert not report.ok and expected in str(report.errors[0])


def test_a_binary_file_is_refused_without_a_traceback(seeded, tmp_path, cli_runner):
    path = tmp_path / "photo.bpmn"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = cli_runner("process", "validate", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "UTF-8" in result.output or "XML" in result.output


def test_non_default_flow_without_condition_is_named(seeded):
    report = validate_xml(gateway_diagram('tier_at_least("orange")', default=False, other="").replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"></bpmn:conditionExpression>', ""))
    assert not report.ok
    assert report.errors[0].element_id == "F_Default" and "缺少条件" in report.errors[0].message


def test_unsupported_element_is_named(seeded):
    xml = diagram('<bpmn:startEvent id="Start_1"/><bpmn:complexGateway id="Gateway_Complex"/>'
                  '<bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Gateway_Complex"/>')
    report = validate_xml(xml)
    assert [(p.element_id, "复杂网关" in p.message) for p in report.errors] == [("Gateway_Complex", True)]


def test_user_task_outside_known_lanes_and_bad_form(seeded):
    xml = diagram("""
    <bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Task_Orphan"/>
    <bpmn:userTask id="Task_Orphan" name="无泳道"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Orphan" targetRef="Task_Form"/>
    <bpmn:userTask id="Task_Form" name="坏表单"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="amount" label="金额" type="money"/></camunda:formData></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Task_Form" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>""", lane_nodes="Start_1 Task_Form End_1")
    report = validate_xml(xml)
    problems = {p.element_id: p.message for p in report.errors}
    assert "不在已知泳道" in problems["Task_Orphan"]
    assert "money" in problems["Task_Form"]


def test_gateway_without_default_must_cover_every_tier(seeded):
    report = validate_xml(gateway_diagram('tier_at_least("orange")', default=False))
    assert not report.ok
    failing = [p.message for p in report.errors]
    # red and orange take the condition, black the other flow; blue matches neither
    assert any("蓝色（blue）试运行失败" in m for m in failing)
    assert not any(t in m for m in failing for t in ("红色（red）试运行", "黑色（black）试运行"))
    assert any(p.element_id == "Gateway_Tier" for p in report.warnings)
    assert validate_xml(gateway_diagram('tier_at_least("orange")', default=True)).ok


def test_unknown_tier_code_in_a_condition_is_an_error(seeded):
    report = validate_xml(gateway_diagram('tier_at_least("B")'))
    assert not report.ok and "'B'" in str(report.errors[0]) and "不属于当前启用的等级体系" in str(report.errors[0])


@pytest.mark.parametrize("condition", [
    "__import__('os').system('touch /tmp/xinyipi-pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read() != ''",
    "'{0.__class__}'.format(tier) != ''",
    "[c for c in ().__class__.__mro__]",
])
def test_unsafe_conditions_are_refused_by_validate(seeded, condition):
    report = validate_xml(gateway_diagram(condition.replace("'", "&apos;")))
    if "open(" in condition:
        # `open` is simply not there: the dry run fails on every tier with a NameError
        assert not report.ok and all("open" in str(p) for p in report.errors)
    else:
        assert not report.ok
        assert report.errors[0].element_id == "F_Cond" and "不安全" in report.errors[0].message


def test_an_unsafe_diagram_that_reached_storage_fails_safely_at_run_time(seeded, tmp_path):
    """Bypass validate (as a tampered database would) and show the engine still refuses."""
    marker = tmp_path / "pwned"
    xml = gateway_diagram(f"__import__(&apos;os&apos;).system(&apos;touch {marker}&apos;) == 0")
    _, spec, subs = parse_process(parse_xml(xml))
    definition = ProcessDefinition.create(key="probe", version=99, name="tampered", xml=xml, checksum=checksum(xml),
                                          spec_json=spec_to_json(spec, subs), tier_paths_json="{}")
    matter = matter_with("standard_review")
    matter.process = definition
    matter.save()
    from plugin.applications.models import Application
    before = Application.select().count()
    with pytest.raises(service.ApplicationError, match="不安全|import"):
        service.apply(matter.code, demo_code("red"))
    assert not marker.exists()
    assert Application.select().count() == before


def test_publish_makes_a_new_version_and_running_cases_keep_theirs(seeded, cli_runner, tmp_path):
    matter = matter_with("standard_review")
    v1 = matter.process
    running = service.apply(matter.code, demo_code("blue"))
    changed = template_path("standard_review").read_text(encoding="utf-8").replace(
        'name="受理"', 'name="受理（新版）"', 1)
    path = tmp_path / "standard_review.bpmn"
    path.write_text(changed, encoding="utf-8")
    result = cli_runner("process", "publish", path, "--matter", matter.code)
    assert result.exit_code == 0, result.output
    assert f"standard_review v{v1.version + 1}" in result.output
    matter = Matter.get_by_id(matter.id)
    assert matter.process.version == v1.version + 1
    # the running case continues on v1, a new case starts on v2
    assert [t["name"] for t in service.ready_tasks(running)] == ["受理"]
    from helpers import work_through
    finished, done = work_through(running)
    assert finished.status == "approved" and finished.process_id == v1.id and done[0] == "受理"
    fresh = service.apply(matter.code, demo_code("blue"))
    assert fresh.process_id == matter.process_id
    assert [t["name"] for t in service.ready_tasks(fresh)] == ["受理（新版）"]
    # publishing identical XML again makes no new version
    again = cli_runner("process", "publish", path, "--matter", matter.code)
    assert f"v{v1.version + 1}" in again.output
    assert ProcessDefinition.select().where(ProcessDefinition.key == "standard_review").count() == 2


def test_publish_refuses_an_invalid_diagram_and_changes_nothing(seeded, tmp_path, cli_runner):
    matter = matter_with("standard_review")
    before = (matter.process_id, ProcessDefinition.select().count())
    path = tmp_path / "bad.bpmn"
    path.write_text(gateway_diagram("__import__('os')".replace("'", "&apos;")), encoding="utf-8")
    result = cli_runner("process", "publish", path, "--matter", matter.code)
    assert result.exit_code == 1 and "不安全" in result.output
    assert (Matter.get_by_id(matter.id).process_id, ProcessDefinition.select().count()) == before
    with pytest.raises(PublishRefused):
        publish(path.read_text(encoding="utf-8"))


def test_jiangdu_rules(seeded):
    """Jiangdu: major project → commitment; B or better without records → commitment; else standard."""
    activate_scheme("jiangdu")
    xml = template_path("jiangdu_rules").read_text(encoding="utf-8")
    ordinary = Matter.select().where(Matter.major_project == False).order_by(Matter.code).first()  # noqa: E712
    from plugin.catalog.negative_list import is_on_negative_list
    major = next(m for m in Matter.select().where(Matter.major_project == True)  # noqa: E712
                 if not is_on_negative_list(m))  # the worst tier would be refused on a negative-list matter
    assert not ordinary.major_project and not is_on_negative_list(ordinary)
    for m in (ordinary, major):
        publish(xml, source="jiangdu", matter=m)
    expected = {"A": "commitment", "B": "commitment", "C": "standard", "D": "standard", "E": "standard"}
    for seed, (tier, path) in enumerate(expected.items()):
        subject = new_subject(tier, scheme="jiangdu", seed=seed)
        app = service.apply(ordinary.code, subject.code)
        assert (app.tier_code, app.path) == (tier, path)
        assert service.apply(major.code, subject.code).path == "commitment"
    with_record = new_subject("B", scheme="jiangdu", seed=42)
    from helpers import add_record
    add_record(with_record, GENERAL)
    assert service.apply(ordinary.code, with_record.code).path == "standard"
    assert service.apply(major.code, with_record.code).path == "commitment"
    signed = service.apply(ordinary.code, new_subject("A", scheme="jiangdu", seed=77).code)
    from helpers import work_through
    finished, done = work_through(signed)
    assert done == ["签署告知承诺书"] and finished.status == "approved"


def test_overlapping_conditions_on_one_gateway_get_a_warning(seeded):
    xml = gateway_diagram('tier_at_least("orange")', default=False, other='tier_at_least("black")')
    report = validate_xml(xml)
    assert report.ok
    assert any(p.element_id == "Gateway_Tier" and "从上到下" in p.message for p in report.warnings)
