"""The contract between diagrams and the host: the names a diagram can use, and the engine that
evaluates them in the sandbox (`plugin.engine.sandbox`, the diagram language).

`FUNCTIONS` is the one registry of what a diagram may call; `DATA_NAMES` the read-only facts the
host provides; `SET_BY_DIAGRAM` what a diagram sets. The admin's designer guide and
`bpmn/README.md` describe the same table (DESIGN §3.6).
"""
from __future__ import annotations

import datetime as _dt

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from plugin import clock
from plugin.engine import isolation
from plugin.engine.sandbox import (LimitExceeded, Sandbox, ScriptFailure, UnsafeScript,
                                   check_source as _check_source)

# Provided by the host, read-only for diagrams.
DATA_NAMES = ("tier", "tier_rank", "blacklisted", "has_dishonesty_record", "applicant", "matter")
# Set by diagrams.
SET_BY_DIAGRAM = ("decision", "path", "breach")
DECISIONS = ("approved", "rejected", "returned")
PATHS = ("instant", "tolerance", "commitment", "standard", "repair")
MAX_WORKING_DAYS = 3_650      # working_days(n): about fourteen years, far past any statutory limit
MAX_INSTANCES = 200           # one multi-instance activity's instances

__all__ = ["DATA_NAMES", "FUNCTIONS", "PROVIDED", "SET_BY_DIAGRAM", "DECISIONS", "PATHS", "UnsafeScript",
           "ScriptFailure", "LimitExceeded", "check_source", "script_engine", "business_now", "frozen_clock",
           "working_days"]

def business_now() -> _dt.datetime:
    """Now, as an aware datetime in the business zone (`plugin.clock`)."""
    return clock.now()


frozen_clock = clock.frozen


def tier_at_least_for(scheme_ranks: dict[str, int], rank: int):
    def tier_at_least(code) -> bool:
        if not isinstance(code, str) or code not in scheme_ranks:
            raise ScriptFailure(f"信用等级编码 {code!r} 不属于当前启用的等级体系（可用：{'、'.join(scheme_ranks)}）")
        return rank >= scheme_ranks[code]
    return tier_at_least


def working_days(n) -> str:
    """ISO timestamp (business zone) at the end of the n-th working day from now."""
    from plugin.calendar import add_working_days_from
    if isinstance(n, bool) or not isinstance(n, (int, str)) or not str(n).strip().lstrip("-").isdigit():
        raise ScriptFailure(f"working_days 的参数须是工作日数（整数），实为 {n!r}")
    days = int(n)
    if not 0 <= days <= MAX_WORKING_DAYS:
        raise ScriptFailure(f"working_days 的参数须在 0 到 {MAX_WORKING_DAYS} 之间，实为 {days}")
    return add_working_days_from(clock.now(), days).isoformat()


# The registry of what a diagram may call: name → (factory given the scheme's ranks and the
# applicant's rank, description for designers). One place; the checker, the engine and the
# designer's guide read it.
FUNCTIONS: dict[str, tuple] = {
    "tier_at_least": (tier_at_least_for, "tier_at_least(code)：申请人的有效信用等级不低于该等级时为 True"),
    "working_days": (lambda _ranks, _rank: working_days,
                     "working_days(n)：从现在起第 n 个法定工作日结束时刻（ISO 时间），用于定时器"),
}
PROVIDED = frozenset(DATA_NAMES) | frozenset(FUNCTIONS)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Task data, the host's frozen facts and the registry's functions, in the sandbox; nothing else."""

    def __init__(self, scheme_ranks: dict[str, int], rank: int, facts: dict | None = None):
        super().__init__({})
        functions = {name: make(scheme_ranks, rank) for name, (make, _doc) in FUNCTIONS.items()}
        provided = {k: v for k, v in (facts or {}).items() if k in DATA_NAMES}
        self.sandbox = Sandbox(functions, provided, reserved=frozenset(DATA_NAMES))

    def evaluate(self, expression, context, external_context=None):
        return self.sandbox.evaluate(expression, context)

    def execute(self, script, context, external_context=None):
        self.sandbox.execute(script, context)
        return True

    def call_service(self, context, **kwargs):
        raise ScriptFailure("本系统不支持服务任务（serviceTask）")


class DiagramScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's engine over the sandbox, with the bounds that need to know the task."""

    def execute(self, task, script, external_context=None):
        isolation.progress(getattr(task.task_spec, "bpmn_id", None))
        return super().execute(task, script, external_context)

    def evaluate(self, task, expression, external_context=None):
        isolation.progress(getattr(task.task_spec, "bpmn_id", None))
        value = super().evaluate(task, expression, external_context)
        if expression is not None and expression == getattr(task.task_spec, "cardinality", None):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INSTANCES:
                failure = ScriptFailure(f"多实例的实例数须是 0 到 {MAX_INSTANCES} 之间的整数，实为 {value!r}")
                raise WorkflowTaskException(str(failure), task=task, exception=failure) from failure
        return value


def script_engine(scheme_ranks: dict[str, int], rank: int, facts: dict | None = None) -> PythonScriptEngine:
    return DiagramScriptEngine(environment=RestrictedEnvironment(scheme_ranks, rank, facts))


def check_source(source: str, mode: str) -> None:
    """Raise UnsafeScript (or SyntaxError) when `source` steps outside the diagram language."""
    _check_source(source, mode, PROVIDED, frozenset(FUNCTIONS))
