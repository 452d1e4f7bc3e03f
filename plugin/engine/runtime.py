"""Running one case's workflow: start, restore, step, save. No HTML, no database.

A case's stored state is the workflow without its spec (the spec is stored once
per process version and restored from the cache), so a waiting case costs only
its task tree. SpiffWorkflow is not thread-safe: every call here works on a
workflow object that belongs to one call, never shared between threads.
"""
from __future__ import annotations

import datetime as _dt
import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from plugin.engine import spiff
from plugin.engine.scripting import ScriptFailure, UnsafeScript, business_now, script_engine

STATE_VERSION = "xinyipi-1"


def business_utc() -> _dt.datetime:
    """The business clock as naive UTC, to compare with stored times (`plugin.db.now`)."""
    return business_now().astimezone(_dt.timezone.utc).replace(tzinfo=None)


class EngineError(RuntimeError):
    """The diagram failed while a case ran; the message names the element (`element_id`)."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.element_id = element_id


_PYTHON_ERRORS = {
    NameError: "名称未定义", KeyError: "数据中没有这个键", IndexError: "下标超出范围", TypeError: "类型不匹配",
    ValueError: "取值无效", ZeroDivisionError: "除数为零", OverflowError: "数值溢出", AttributeError: "没有这个方法",
    RecursionError: "嵌套过深", MemoryError: "内存不足",
}


def script_error_text(error: BaseException) -> str:
    """What went wrong in a diagram's expression, in Chinese (the Python detail kept after it)."""
    if isinstance(error, UnsafeScript):
        return f"表达式不安全，已拒绝：{error}"
    if isinstance(error, ScriptFailure):
        return str(error)
    for kind, label in _PYTHON_ERRORS.items():
        if isinstance(error, kind):
            return f"{label}（{type(error).__name__}: {error}）"
    return f"{type(error).__name__}: {error}"


def _engine_error(e: Exception) -> EngineError:
    task = getattr(e, "task", None)
    where = getattr(getattr(task, "task_spec", None), "bpmn_id", None) or getattr(task, "task_spec", None)
    # SpiffWorkflow wraps the script's own exception without keeping it; it is the implicit context.
    cause = e.__cause__ or e.__context__ or e
    text = script_error_text(cause)
    return EngineError(f"流程执行出错{f'（元素 {where}）' if where else ''}：{text}",
                       where if isinstance(where, str) else None)


def new_workflow(spec_pair, data: dict, scheme_ranks: dict[str, int], rank: int) -> BpmnWorkflow:
    spec, subprocesses = spec_pair
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=script_engine(scheme_ranks, rank, data))
    workflow.task_tree.data.update(data)
    return workflow


MAX_ENGINE_STEPS = 1_000     # automatic steps (scripts, gateways, events) in one go, between waits
MAX_TASKS = 20_000           # tasks in one case's tree (loops in a diagram grow it)


def run_engine(workflow: BpmnWorkflow) -> None:
    """Run every engine task that is ready, and refresh timers. A diagram that loops through
    automatic steps without ever waiting is stopped after MAX_ENGINE_STEPS, naming the element:
    each expression is bounded by the sandbox, this bounds how many run."""
    steps = 0

    def count(task):
        nonlocal steps
        steps += 1
        if steps > MAX_ENGINE_STEPS or len(workflow.tasks) > MAX_TASKS:
            raise EngineError(f"流程执行出错（元素 {task.task_spec.bpmn_id}）：自动环节超过 {MAX_ENGINE_STEPS} 步"
                              f"仍未停下等待（可能存在死循环）", task.task_spec.bpmn_id)
    try:
        workflow.do_engine_steps(will_complete_task=count)
    except (SpiffWorkflowException, ScriptFailure) as e:
        raise _engine_error(e) from e


def dump_state(workflow: BpmnWorkflow) -> str:
    """The case's stored state: its task tree without the spec (cases reference their version)."""
    return spiff.dump_case(workflow, state_version=STATE_VERSION)


def load_state(spec_pair, state: str, scheme_ranks: dict[str, int], rank: int) -> BpmnWorkflow:
    dct = json.loads(state)
    dct.pop("state_version", None)
    workflow = spiff.restore_case(dct, spec_pair)
    # the facts the case started with are the root task's data: scripts see them read-only
    workflow.script_engine = script_engine(scheme_ranks, rank, workflow.task_tree.data)
    return workflow


def ready_human_tasks(workflow: BpmnWorkflow):
    return [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def find_ready_task(workflow: BpmnWorkflow, task_id: str):
    for task in ready_human_tasks(workflow):
        if str(task.id) == task_id or task.task_spec.bpmn_id == task_id:
            return task
    return None


def complete_human_task(workflow: BpmnWorkflow, task, data: dict) -> None:
    task.data.update(data)
    try:
        task.run()
    except (SpiffWorkflowException, ScriptFailure) as e:
        raise _engine_error(e) from e
    run_engine(workflow)


def timer_due_times(workflow: BpmnWorkflow) -> list[_dt.datetime]:
    """When each waiting timer of the workflow falls due next (aware datetimes, UTC)."""
    return sorted(due for due in map(spiff.next_moment, spiff.waiting_timer_values(workflow)) if due is not None)


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Fire the timers that are due by the business clock (`plugin.clock`, see `plugin.engine.spiff`)
    and run what follows."""
    try:
        workflow.refresh_timers()
    except (SpiffWorkflowException, ScriptFailure) as e:
        raise _engine_error(e) from e
    run_engine(workflow)


def completed_element_ids(workflow: BpmnWorkflow) -> list[str]:
    """BPMN ids of the steps the case has been through, in the order they completed."""
    ids: list[str] = []
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and bpmn_id not in ids:
            ids.append(bpmn_id)
    return ids


def current_element_ids(workflow: BpmnWorkflow) -> list[str]:
    """BPMN ids of the steps the case is at (ready or waiting), for highlighting the diagram."""
    ids = []
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and bpmn_id not in ids:
            ids.append(bpmn_id)
    return ids
