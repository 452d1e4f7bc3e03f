"""`plugin.engine.spiff`, the one place that leans on SpiffWorkflow's insides, checked against the
SpiffWorkflow installed: each test here fails when a SpiffWorkflow release changes something the
adapter relies on (then fix the adapter, and only the adapter)."""
from __future__ import annotations

import datetime as _dt
import json
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from plugin.engine import runtime, spiff
from plugin.engine.definitions import parse_process, parse_xml, spec_from_json, spec_to_json
from plugin.engine.scripting import frozen_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def _diagram(timer: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://xinyipi.test">
  <bpmn:process id="timers" isExecutable="true">
    <bpmn:startEvent id="Begin"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Wait"/>
    <bpmn:intermediateCatchEvent id="Wait" name="等待">
      <bpmn:timerEventDefinition>{timer}</bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="Done"/>
    <bpmn:scriptTask id="Done"><bpmn:script>decision = "approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Done" targetRef="End"/>
    <bpmn:endEvent id="End"/>
  </bpmn:process>
</bpmn:definitions>"""


TIME_DATE = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">"2025-10-10T23:59:59+08:00"</bpmn:timeDate>'
DURATION = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P3D"</bpmn:timeDuration>'
CYCLE = '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R2/P1D"</bpmn:timeCycle>'


def _raw_spec(timer: str):
    parser = CamundaParser()
    parser.add_bpmn_xml(parse_xml(_diagram(timer)))
    return parser.get_spec("timers")


def _started(timer: str) -> BpmnWorkflow:
    _pid, spec, subprocesses = parse_process(parse_xml(_diagram(timer)))
    workflow = runtime.new_workflow((spec, subprocesses), {}, {}, 0)
    runtime.run_engine(workflow)
    return workflow


def test_the_adapter_was_checked_against_the_installed_spiffworkflow():
    """A new SpiffWorkflow release: run this file, fix `plugin.engine.spiff` where it fails, then bump
    SPIFFWORKFLOW_VERSION together with the pin in setup.cfg."""
    assert version("SpiffWorkflow") == spiff.SPIFFWORKFLOW_VERSION
    assert f"spiffworkflow=={spiff.SPIFFWORKFLOW_VERSION}" in (ROOT / "setup.cfg").read_text()


@pytest.mark.parametrize("timer, spiff_class", [(TIME_DATE, spiff_timer.TimeDateEventDefinition),
                                                (DURATION, spiff_timer.DurationTimerEventDefinition),
                                                (CYCLE, spiff_timer.CycleTimerEventDefinition)])
def test_the_parser_makes_the_timer_classes_the_adapter_replaces(timer, spiff_class):
    raw = _raw_spec(timer).task_specs["Wait"].event_definition
    assert type(raw) is spiff_class and spiff_class in spiff.BUSINESS_TIMERS
    _pid, spec, _subs = parse_process(parse_xml(_diagram(timer)))
    ours = spec.task_specs["Wait"].event_definition
    assert type(ours) is spiff.BUSINESS_TIMERS[spiff_class]
    assert (ours.name, ours.expression, ours.description) == (raw.name, raw.expression, raw.description)


def test_every_timer_class_of_spiffworkflow_has_a_business_clock_version():
    """A timer class SpiffWorkflow adds would run on the system clock: it must get one of ours."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    theirs = {c for c in subclasses(spiff_timer.TimerEventDefinition) if c.__module__.startswith("SpiffWorkflow")}
    assert theirs == set(spiff.BUSINESS_TIMERS)


def test_the_timer_protocol_in_internal_data_is_the_one_spiffworkflow_keeps():
    """SpiffWorkflow's own TimeDate timer stores `event_value` and `event_fired` in `internal_data`
    (ours keep them the same way, so a case's stored state means the same to both)."""
    spec = _raw_spec(TIME_DATE)
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()          # its own class, on the system clock: the date has passed
    [task] = [t for t in workflow.get_tasks(spec_name="Wait")]
    assert task.state == TaskState.COMPLETED and workflow.completed
    assert task.internal_data.get(spiff.EVENT_VALUE) == "2025-10-10T23:59:59+08:00"
    assert spiff.EVENT_FIRED in task.internal_data        # set when it fired (cleared again once caught)
    assert hasattr(Task, "_get_internal_data") and hasattr(Task, "_set_internal_data")
    # waiting timers are found through the event manager, as SpiffWorkflow's refresh_timers does
    import inspect
    assert "event_manager.tasks" in inspect.getsource(BpmnWorkflow.refresh_timers)


def test_timers_fire_by_the_business_clock_and_spiffworkflow_is_left_unpatched():
    assert spiff_timer.datetime is _dt.datetime       # nothing of SpiffWorkflow's is monkeypatched
    with frozen_clock(_dt.datetime(2025, 10, 9, 12, 0, tzinfo=SHANGHAI)):
        workflow = _started(TIME_DATE)   # due in the (real) past, but a day ahead of the business clock
        [wait] = workflow.get_tasks(spec_name="Wait")
        assert wait.state == TaskState.WAITING
        assert runtime.timer_due_times(workflow) == [_dt.datetime(2025, 10, 10, 15, 59, 59, tzinfo=_dt.timezone.utc)]
        runtime.fire_timers(workflow)
        assert not workflow.completed
        state = runtime.dump_state(workflow)
    with frozen_clock(_dt.datetime(2025, 10, 11, 0, 0, tzinfo=SHANGHAI)):
        _pid, spec, subprocesses = parse_process(parse_xml(_diagram(TIME_DATE)))
        again = runtime.load_state((spec, subprocesses), state, {}, 0)
        runtime.fire_timers(again)
        assert again.completed and again.last_task.data["decision"] == "approved"


def test_a_duration_counts_from_the_business_clock():
    with frozen_clock(_dt.datetime(2020, 1, 1, 9, 0, tzinfo=SHANGHAI)):
        workflow = _started(DURATION)
        assert runtime.timer_due_times(workflow) == [_dt.datetime(2020, 1, 4, 1, 0, tzinfo=_dt.timezone.utc)]
    with frozen_clock(_dt.datetime(2020, 1, 4, 8, 59, tzinfo=SHANGHAI)):
        runtime.fire_timers(workflow)
        assert not workflow.completed
    with frozen_clock(_dt.datetime(2020, 1, 4, 9, 1, tzinfo=SHANGHAI)):
        runtime.fire_timers(workflow)
        assert workflow.completed


def test_a_naive_timestamp_means_business_time():
    assert spiff.due_at("2026-02-13T09:00:00") == _dt.datetime(2026, 2, 13, 1, 0, tzinfo=_dt.timezone.utc)
    assert spiff.next_moment({"cycles": 0, "next": "2026-02-13T09:00:00+08:00"}) is None
    assert spiff.next_moment("P3D") is None and spiff.next_moment(None) is None


def test_a_cycle_without_a_start_begins_at_business_now():
    now = _dt.datetime(2020, 1, 1, 0, 0, tzinfo=_dt.timezone.utc)
    cycles, start, duration = spiff.BusinessCycle.recurring_interval("R2/P1D", now)
    assert (cycles, start, duration) == (2, now + _dt.timedelta(days=1), _dt.timedelta(days=1))


@pytest.mark.parametrize("timer", [TIME_DATE, DURATION, CYCLE])
def test_stored_specs_keep_spiffworkflows_type_names_and_restore_as_ours(timer):
    _pid, spec, subprocesses = parse_process(parse_xml(_diagram(timer)))
    stored = spec_to_json(spec, subprocesses)
    typename = json.loads(stored)["spec"]["task_specs"]["Wait"]["event_definition"]["typename"]
    spiff_class = type(_raw_spec(timer).task_specs["Wait"].event_definition)
    assert typename == spiff_class.__name__
    # readable by plain SpiffWorkflow …
    plain = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
    assert type(plain.restore(json.loads(stored)["spec"]).task_specs["Wait"].event_definition) is spiff_class
    # … and a spec stored by plain SpiffWorkflow (before this adapter) restores with our timers
    old = json.dumps({"spec": plain.convert(_raw_spec(timer)), "subprocess_specs": {}})
    restored, _subs = spec_from_json(old)
    assert type(restored.task_specs["Wait"].event_definition) is spiff.BUSINESS_TIMERS[spiff_class]


def test_the_registrys_encoder_mode_converts_one_level_at_a_time():
    """`dump_case` sets `_encoder_mode` as SpiffWorkflow's own serialize_json does: in it, `convert`
    leaves nested values to the JSON encoder."""
    import uuid
    registry = DefaultRegistry()
    assert registry._encoder_mode is False
    value = {"id": uuid.UUID(int=1)}
    assert registry.convert(value)["id"] == {"value": str(uuid.UUID(int=1)), "typename": "UUID"}
    registry._encoder_mode = True
    assert registry.convert(value)["id"] == uuid.UUID(int=1)
    import inspect
    assert "_encoder_mode" in inspect.getsource(BpmnWorkflowSerializer.serialize_json)


def test_a_case_is_stored_without_its_spec_and_restored_on_it():
    workflow = _started(DURATION)
    state = runtime.dump_state(workflow)
    data = json.loads(state)
    assert "spec" not in data and "subprocess_specs" not in data and data["state_version"] == runtime.STATE_VERSION
    _pid, spec, subprocesses = parse_process(parse_xml(_diagram(DURATION)))
    again = runtime.load_state((spec, subprocesses), state, {}, 0)
    assert {str(t.id): t.state for t in again.get_tasks()} == {str(t.id): t.state for t in workflow.get_tasks()}
    assert runtime.dump_state(again) == state


def test_waiting_timers_report_spiffworkflows_type_names():
    workflow = _started(DURATION)
    [event] = workflow.waiting_events()
    assert event.event_type == "DurationTimerEventDefinition" and event.value
