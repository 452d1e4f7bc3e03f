"""The one adapter to SpiffWorkflow's insides.

Everything xinyipi needs from SpiffWorkflow beyond its documented API lives here, and
`tests/unit/test_spiff_adapter.py` fails the day a SpiffWorkflow release changes any of it:

- **timers on the business clock**: SpiffWorkflow's timer event definitions ask `datetime.now()`
  whether they are due. Ours (`BUSINESS_TIMERS`) ask `plugin.clock`, the clock `working_days(n)`
  computes deadlines from, so a deadline and its firing move together (an import of past cases, a
  test walking a case across a holiday). They replace SpiffWorkflow's in every parsed spec
  (`use_business_clock`) and are stored under SpiffWorkflow's own type names, so specs stored
  before restore as ours and a stored spec stays readable by plain SpiffWorkflow. Nothing is
  patched: SpiffWorkflow's own classes and modules are left as they are for anyone else in the
  process. A naive timestamp in a timer means business time (`XINYIPI_TIMEZONE`), not the
  server's zone.
- the timer protocol kept in each task's ``internal_data`` (``event_value``, ``event_fired``);
- **a case's stored state without its spec** (`dump_case` / `restore_case`): the workflow
  converter minus the spec, and the registry's encoder mode (``_encoder_mode``) that lets the JSON
  encoder convert lazily, as SpiffWorkflow's own ``serialize_json`` does.

`plugin.engine.runtime` (running cases) and `plugin.engine.definitions` (parsing, storing specs)
use this module; nothing else does.
"""
from __future__ import annotations

import datetime as _dt
import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition,
                                                              TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from plugin import clock

#: SpiffWorkflow's release this adapter was written against (setup.cfg pins it).
SPIFFWORKFLOW_VERSION = "3.2.0"

EVENT_VALUE, EVENT_FIRED = "event_value", "event_fired"


# ---------------------------------------------------------------------------------------------
# the business clock, for timers
# ---------------------------------------------------------------------------------------------
def business_utc_now() -> _dt.datetime:
    """The business clock's now, aware, in UTC."""
    return clock.now().astimezone(_dt.timezone.utc)


def due_at(value: str) -> _dt.datetime:
    """The moment an ISO 8601 timestamp names (a naive one in the business zone), aware UTC.
    ValueError when it is not a timestamp."""
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    moment = _dt.datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.zone())
    return moment.astimezone(_dt.timezone.utc)


def event_value(task):
    return task.internal_data.get(EVENT_VALUE)


def _set_event_value(task, value) -> None:
    task.internal_data[EVENT_VALUE] = value


def _has_fired(task) -> bool:
    return bool(task.internal_data.get(EVENT_FIRED, False))


def _fire(task) -> None:
    task.internal_data[EVENT_FIRED] = True


class _BusinessTimer:
    """What our timers share: they report SpiffWorkflow's type name as waiting events
    (``workflow.waiting_events()``), as they are stored under it."""

    spiff_typename = ""

    def details(self, my_task):
        pending = super().details(my_task)
        pending.event_type = self.spiff_typename
        return pending


class _OneShotTimer(_BusinessTimer):
    """A timer that fires once, at the moment `due_value` computes when it starts waiting."""

    def due_value(self, my_task) -> str:
        raise NotImplementedError

    def has_fired(self, my_task):
        value = event_value(my_task)
        if value is None:
            value = self.due_value(my_task)
            _set_event_value(my_task, value)
        if due_at(value) < business_utc_now():
            _fire(my_task)
        return _has_fired(my_task)


class BusinessTimeDate(_OneShotTimer, TimeDateEventDefinition):
    """A timer at a moment (``timeDate``, e.g. ``working_days(5)``), due by the business clock."""

    spiff_typename = TimeDateEventDefinition.__name__

    def due_value(self, my_task) -> str:
        return my_task.workflow.script_engine.evaluate(my_task, self.expression)


class BusinessDuration(_OneShotTimer, DurationTimerEventDefinition):
    """A timer after a duration (``timeDuration``, e.g. ``"P3D"``), counted from business now."""

    spiff_typename = DurationTimerEventDefinition.__name__

    def due_value(self, my_task) -> str:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        start = business_utc_now()
        duration = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(expression), start)
        return (start + duration).isoformat()


class BusinessCycle(_BusinessTimer, CycleTimerEventDefinition):
    """A repeating timer (``timeCycle``, e.g. ``"R3/P1D"``), each cycle due by the business clock."""

    spiff_typename = CycleTimerEventDefinition.__name__

    @staticmethod
    def recurring_interval(expression: str, now: _dt.datetime):
        """(cycles, first moment, duration) of an ISO 8601 repeating interval; a bare duration
        starts from `now` (SpiffWorkflow's own parser would take the system clock)."""
        components = expression.upper().replace("--", "/").strip("R").split("/")
        if len(components) == 2 and components[1].startswith("P"):
            cycles = int(components[0]) if components[0] else -1
            duration = TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(components[1]), now)
            return cycles, now + duration, duration
        return TimerEventDefinition.parse_iso_recurring_interval(expression)

    def cycle_complete(self, my_task):
        value = event_value(my_task)
        now = business_utc_now()
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = self.recurring_interval(expression, now)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if value["cycles"] != 0:
            next_event = due_at(value["next"])
            if next_event < now:
                value["next"] = (next_event + _dt.timedelta(seconds=value["duration"])).isoformat()
                value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop(EVENT_VALUE, None)
            _fire(my_task)
        _set_event_value(my_task, value)
        return ready


#: SpiffWorkflow's timer event definitions → ours.
BUSINESS_TIMERS = {TimeDateEventDefinition: BusinessTimeDate, DurationTimerEventDefinition: BusinessDuration,
                   CycleTimerEventDefinition: BusinessCycle}


def _on_business_clock(definition):
    ours = BUSINESS_TIMERS.get(type(definition))
    if ours is not None:
        replacement = ours.__new__(ours)
        replacement.__dict__.update(definition.__dict__)
        return replacement
    if isinstance(definition, MultipleEventDefinition):
        definition.event_definitions = [_on_business_clock(d) for d in definition.event_definitions]
    return definition


def use_business_clock(spec, subprocesses: dict) -> None:
    """Give every timer of a freshly parsed spec (and its subprocess specs) the business clock."""
    for process in (spec, *subprocesses.values()):
        for task_spec in process.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if definition is not None:
                task_spec.event_definition = _on_business_clock(definition)


def waiting_timer_values(workflow: BpmnWorkflow) -> list:
    """The stored value (a timestamp, or a cycle's state) of every timer the workflow waits on;
    None for a timer not evaluated yet."""
    values = []
    for task in workflow.event_manager.tasks.values():
        if isinstance(task.task_spec.event_definition, TimerEventDefinition) and task.has_state(TaskState.WAITING):
            values.append(event_value(task))
    return values


def next_moment(value) -> _dt.datetime | None:
    """When a stored timer value falls due next (aware UTC), or None (not evaluated, a cycle that
    has run out, not a timestamp)."""
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles") != 0 else None
    if not isinstance(value, str):
        return None
    try:
        return due_at(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# serialization: specs, and cases without their spec
# ---------------------------------------------------------------------------------------------
class BusinessTimerConverter(TimerConditionalEventDefinitionConverter):
    """Our timers under SpiffWorkflow's own type names (see the module's docstring)."""

    def __init__(self, target_class, registry, typename=None):
        super().__init__(target_class, registry, typename or target_class.spiff_typename)


SPEC_CONFIG = {cls: converter for cls, converter in CAMUNDA_CONFIG.items() if cls not in BUSINESS_TIMERS}
SPEC_CONFIG.update({ours: BusinessTimerConverter for ours in BUSINESS_TIMERS.values()})


def spec_registry():
    """A registry that converts specs (with our timers) to and from dictionaries."""
    return BpmnWorkflowSerializer.configure(SPEC_CONFIG)


class CaseStateConverter(BpmnWorkflowConverter):
    """The workflow converter, minus the spec: cases reference their process version instead."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = dct.pop("_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_CASE_CONFIG = dict(SPEC_CONFIG)
_CASE_CONFIG[BpmnWorkflow] = CaseStateConverter
_case_registry = BpmnWorkflowSerializer.configure(_CASE_CONFIG)
_case_encoder = create_encoder(_case_registry, None)


def dump_case(workflow: BpmnWorkflow, **extra) -> str:
    """The workflow's state as compact JSON, without its spec; `extra` keys are added at the top."""
    _case_registry._encoder_mode = True      # convert lazily, one level at a time, as serialize_json does
    try:
        dct = _case_registry.convert(workflow)
        dct.update(extra)
        return json.dumps(dct, cls=_case_encoder, ensure_ascii=False, separators=(",", ":"))
    finally:
        _case_registry._encoder_mode = False


def restore_case(dct: dict, spec_pair) -> BpmnWorkflow:
    """The workflow of a state `dump_case` wrote (as a dict), on the given (spec, subprocess specs)."""
    dct["_specs"] = spec_pair
    return _case_registry.restore(dct)
