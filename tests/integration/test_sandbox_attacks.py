"""Attacks on the diagram language (issue #12 §1, §2): each test is an attack that must not get
through. A diagram's conditions, scripts and timers are written by a designer we do not trust
until the diagram is reviewed; they run in the real SpiffWorkflow engine through our sandbox."""
from __future__ import annotations

import os

import pytest

from helpers import demo_code, diagram, matter_with, script_diagram, store_unchecked
from plugin.applications import service
from plugin.applications.models import Application, Incident
from plugin.engine import isolation
from plugin.engine.definitions import parse_process, parse_xml
from plugin.engine.models import ProcessDefinition
from plugin.engine.validate import validate_xml
from test_process_validation import gateway_diagram

SECRET = "xinyipi-secret-that-no-diagram-may-read"


# The verified escape of the issue, and its relatives: every one reaches str.format, a dunder, a
# frame or a builtin that is not on the list.
ESCAPES = [
    "match tier:\n    case str(format=f):\n        leaked = f('{0.__globals__}', working_days)\n",
    "match applicant:\n    case {'code': str(format=f)}:\n        leaked = f\n",
    "leaked = '{0.__globals__}'.format(working_days)",
    "leaked = '{x.__class__}'.format_map({'x': 1})",
    "leaked = f'{working_days.__globals__}'",
    "leaked = f'{tier!r:{tier}}'",
    "leaked = [c for c in ().__class__.__base__.__subclasses__()]",
    "leaked = tier_at_least.__closure__",
    "leaked = (x for x in []).gi_frame.f_globals",
    "import os\nleaked = os.environ",
    "leaked = __import__('os').environ",
    "leaked = getattr(tier, 'format')",
    "leaked = vars()",
    "leaked = globals()",
    "leaked = eval('1')",
    "leaked = type(tier)",
    "leaked = str.format",
    "leaked = tier.upper.__self__",
    "def f():\n    return 1\nleaked = f()",
    "leaked = (lambda: 1)()",
    "class A:\n    pass\nleaked = A",
    "try:\n    x = 1\nexcept Exception as e:\n    leaked = e",
    "with open('/etc/passwd') as f:\n    leaked = f",
    "global tier\ntier = 'red'",
    "leaked = _secret",
    "leaked = b'bytes'",
    "tier = 'red'",
    "tier_at_least = working_days",
    "applicant['name'] = 'x'",
    "leaked = '%s' % tier",
    "leaked = sorted([1], key=open)",
    "leaked = max([1], **{'key': str})",
]


@pytest.mark.parametrize("script", ESCAPES)
def test_validation_refuses_every_escape_naming_the_element(seeded, script):
    report = validate_xml(script_diagram(script))
    assert not report.ok
    assert report.errors[0].element_id == "Script_Evil", report.errors
    assert not any("Traceback" in p.message for p in report.errors)


@pytest.mark.parametrize("script", [ESCAPES[0], ESCAPES[2], ESCAPES[8], ESCAPES[10], ESCAPES[20]])
def test_a_tampered_stored_diagram_never_runs(seeded, script, app):
    """Bypass validation (a tampered `process_definition` row): the case is refused, nothing is
    saved, the secret is not read, and staff see an incident."""
    os.environ["XINYIPI_ATTACK_SECRET"] = SECRET
    matter = matter_with("standard_review")
    matter.process = store_unchecked(script_diagram(script))
    matter.save()
    before = Application.select().count()
    with pytest.raises(service.ApplicationError, match="安全检查") as refused:
        service.apply(matter.code, demo_code("red"))
    assert SECRET not in str(refused.value)
    assert Application.select().count() == before
    incident = Incident.get(Incident.matter == matter.id)
    assert incident.operation == "start" and incident.element_id == "Script_Evil" and incident.resolved_at is None


def test_a_stored_spec_edited_after_validation_never_runs(seeded):
    """The spec JSON itself edited in the database (the XML left clean)."""
    matter = matter_with("standard_review")
    definition = matter.process
    tampered = definition.spec_json.replace('decision = \\"approved\\"', 'decision = \\"{0.__class__}\\".format(1)')
    assert tampered != definition.spec_json
    copy = ProcessDefinition.create(key="copy", version=1, name="copy", xml=definition.xml,
                                    checksum="0" * 64, spec_json=tampered, tier_paths_json="{}")
    matter.process = copy
    matter.save()
    with pytest.raises(service.ApplicationError, match="安全检查"):
        service.apply(matter.code, demo_code("blue"))


# --- bounded cost ---------------------------------------------------------------------------------
HOGS = {
    "while True:\n    pass": "while",
    "x = 9**9**9": "限制",
    "x = 'x'*10**10": "限制",
    "for i in range(10**12):\n    pass": "限制",
    "x = 0\nfor i in range(100000):\n    for j in range(100000):\n        x += 1": "限制",
    "x = [[]]\nfor i in range(200):\n    x = [x, x]\ny = str(x)": "限制",
    "x = [0]\nfor i in range(200):\n    x = [x, x]\ny = x == [x[0], x[1]]": "限制",
    "x = 'a'\nfor i in range(64):\n    x = x + x": "限制",
    "x = 2\nfor i in range(64):\n    x = x * x": "限制",
    "x = 1 << 10**9": "限制",
    "x = working_days(10**6)": "working_days",
    "x = [1]\nfor i in range(100):\n    x.extend(x)": "限制",
    "x = 'ab'.replace('', 'x' * 900000)": "限制",
    "x = '-'.join(['x' * 900000] * 100)": "限制",
    "x = round(5, -10**9)": "round",
    "x = sum([[1]] * 1000, [])": "sum",
    "x = " + "+".join(["1"] * 100_000): "过长",
    "x = " + "[" * 150 + "1" + "]" * 150: "嵌套过深",
    "x = " + " + ".join(f"tier_rank * {i}" for i in range(1900)): "",
}


@pytest.mark.parametrize("script", list(HOGS), ids=[f"hog{i}" for i in range(len(HOGS))])
def test_validation_stops_every_resource_hog_on_its_element(seeded, script):
    report = validate_xml(script_diagram(script))
    assert not report.ok
    problem = report.errors[0]
    assert problem.element_id == "Script_Evil" or "Script_Evil" in problem.message, report.errors
    assert HOGS[script] in problem.message


def test_a_hog_that_reached_storage_leaves_the_case_unchanged_with_an_incident(seeded):
    """A script too costly for the language's limits, stored without validation: the case is
    not started (nothing saved) and the incident names the element and the limit."""
    hog = "x = 0\nfor i in range(100000):\n    for j in range(100000):\n        x += 1"
    matter = matter_with("standard_review")
    matter.process = store_unchecked(script_diagram(hog))
    matter.save()
    before = Application.select().count()
    with pytest.raises(service.ApplicationError, match="计算量限制"):
        service.apply(matter.code, demo_code("red"))
    assert Application.select().count() == before
    incident = Incident.get(Incident.matter == matter.id)
    assert incident.element_id == "Script_Evil" and "计算量限制" in incident.message
    # the same failure again is counted on the open incident, not filed twice
    with pytest.raises(service.ApplicationError):
        service.apply(matter.code, demo_code("red"))
    assert Incident.select().where(Incident.matter == matter.id).count() == 1
    assert Incident.get(Incident.matter == matter.id).occurrences == 2


def test_an_800_branch_parallel_diagram_is_refused(seeded):
    flows = "".join(f'<bpmn:sequenceFlow id="S{i}" sourceRef="Split" targetRef="T{i}"/>'
                    f'<bpmn:scriptTask id="T{i}"><bpmn:script>x{i} = 1</bpmn:script></bpmn:scriptTask>'
                    f'<bpmn:sequenceFlow id="J{i}" sourceRef="T{i}" targetRef="Join"/>' for i in range(800))
    xml = diagram(f"""<bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Split"/>
    <bpmn:parallelGateway id="Split"/>{flows}<bpmn:parallelGateway id="Join"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Join" targetRef="End_1"/><bpmn:endEvent id="End_1"/>""")
    report = validate_xml(xml)
    assert not report.ok
    assert any(p.element_id == "Split" and "出口流" in p.message for p in report.errors)
    assert any("流程图过大" in p.message for p in report.errors)


def test_a_multi_instance_cardinality_bomb_is_stopped(seeded):
    """10**9 instances would be created one by one: the engine refuses the cardinality."""
    from plugin.engine import runtime
    xml = diagram("""<bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Many"/>
    <bpmn:scriptTask id="Many"><bpmn:multiInstanceLoopCharacteristics>
      <bpmn:loopCardinality>10**9</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Many" targetRef="Decide"/>
    <bpmn:scriptTask id="Decide"><bpmn:script>decision = "approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Decide" targetRef="End_1"/><bpmn:endEvent id="End_1"/>""")
    report = validate_xml(xml)
    assert not report.ok
    _, spec, subs = parse_process(parse_xml(xml))
    workflow = runtime.new_workflow((spec, subs), {"tier": "red", "tier_rank": 3}, {"red": 3}, 3)
    with pytest.raises(runtime.EngineError, match="多实例的实例数") as stopped:
        runtime.run_engine(workflow)
    assert stopped.value.element_id == "Many"


def test_the_dry_run_cannot_be_recognised_by_a_fixed_sample_applicant(seeded):
    """A diagram that behaves only for "the dry run's applicant" is caught by the varied runs:
    whatever code, name or kind it keys on, some run of the same tier sees another one."""
    first = validate_xml(gateway_diagram('tier_at_least("blue")'))
    codes = set()
    for run in first.runs:
        codes.add(run.tier)
    # a diagram that decides only for organisations: the person variant ends without a decision
    xml = gateway_diagram('applicant["kind"] == "organisation"', default=False, other='applicant["kind"] == "x"')
    report = validate_xml(xml)
    assert not report.ok
    assert any("自然人" in p.message for p in report.errors)


def test_validation_reports_a_child_that_dies_of_a_limit():
    """The second wall: the isolated process is stopped by its limits, and says which."""
    import time
    with pytest.raises(isolation.Isolated, match="时间限制"):
        isolation.run(time.sleep, 30, wall_seconds=1)
    with pytest.raises(isolation.Isolated, match="内存"):
        isolation.run(bytearray, 8 * 1024 ** 3, memory_mb=64)
    with pytest.raises(isolation.Isolated, match="时间限制"):
        isolation.run(sum, range(10 ** 12), cpu_seconds=1, wall_seconds=30)
    assert isolation.run(sum, range(10)) == 45


# --- the contract's names cannot be shadowed -------------------------------------------------------
def _form_diagram(field: str, lane: str = "reviewer") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" targetNamespace="http://xinyipi.test">
  <bpmn:process id="probe" name="测试流程" isExecutable="true">
    <bpmn:laneSet id="Lanes"><bpmn:lane id="Lane" name="{lane}"><bpmn:flowNodeRef>Task_1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Task_1"/>
    <bpmn:userTask id="Task_1" name="填写"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="{field}" label="字段" type="string"/></camunda:formData></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_1" targetRef="Decide"/>
    <bpmn:scriptTask id="Decide"><bpmn:script>decision = "approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Decide" targetRef="End_1"/><bpmn:endEvent id="End_1"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("field", ["tier", "tier_rank", "blacklisted", "has_dishonesty_record", "applicant",
                                   "matter", "tier_at_least", "working_days", "path", "breach", "str", "len"])
def test_a_form_field_may_not_shadow_a_contract_name(seeded, field):
    report = validate_xml(_form_diagram(field))
    assert not report.ok
    assert report.errors[0].element_id == "Task_1" and field in report.errors[0].message


def test_an_applicant_form_may_not_decide_the_case(seeded):
    assert validate_xml(_form_diagram("decision", lane="reviewer")).ok
    report = validate_xml(_form_diagram("decision", lane="applicant"))
    assert not report.ok and "申请人" in report.errors[0].message


def test_a_script_cannot_change_the_facts_a_later_gateway_reads(seeded):
    """Aliasing the provided data and writing through the alias fails; the facts stay the host's."""
    report = validate_xml(script_diagram('a = applicant\na["kind"] = "organisation"'))
    assert not report.ok and report.errors[0].element_id == "Script_Evil" or "Script_Evil" in str(report.errors[0])


def test_a_diagram_that_loops_through_scripts_forever_is_stopped(seeded):
    """Each script is cheap; the loop between them never waits. The engine counts the steps."""
    xml = diagram("""<bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Spin"/>
    <bpmn:scriptTask id="Spin"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Spin" targetRef="Again"/>
    <bpmn:exclusiveGateway id="Again" default="F_Out"/>
    <bpmn:sequenceFlow id="F_Back" sourceRef="Again" targetRef="Spin">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_Out" sourceRef="Again" targetRef="Decide"/>
    <bpmn:scriptTask id="Decide"><bpmn:script>decision = "approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Decide" targetRef="End_1"/><bpmn:endEvent id="End_1"/>""")
    report = validate_xml(xml)
    assert not report.ok
    assert any("死循环" in p.message and p.element_id in ("Spin", "Again") for p in report.errors), report.errors


def test_an_element_named_like_the_engines_own_start_is_refused_not_crashed(seeded):
    """SpiffWorkflow names its own start task "Start": a start event with that id used to crash
    the dry run with a raw WorkflowException."""
    xml = script_diagram('x = 1').replace('id="Start_1"', 'id="Start"').replace('sourceRef="Start_1"', 'sourceRef="Start"')
    report = validate_xml(xml)
    assert not report.ok
    assert report.errors[0].element_id == "Start" and "保留" in report.errors[0].message


def test_the_language_benchmark_prints_its_ratios(seeded):
    import io
    from benchmarks.service import diagram_language
    out = io.StringIO()
    result = diagram_language(50, out, repeat=1)
    assert set(result) == {"condition", "script", "validation"}
    assert all(r[2] > 0 for r in result.values())
    assert out.getvalue().count("cost") == 3
