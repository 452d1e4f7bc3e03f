"""The script environment diagrams run in: exactly the names of DESIGN §3.6 and safe builtins.

Every condition, script and timer expression is checked here before it is
compiled: no imports, no names or attributes starting with an underscore (the
way out to modules and host globals), no `format` tricks, and no assignment to
the names the host provides. Builtins are a fixed safe set, so `open`,
`__import__`, `eval`, `getattr`, `type` … simply do not exist for a diagram.
The same check runs in `validate` (a refusal with the element id) and at run
time (a safe failure), and compiled code is cached per expression.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import datetime as _dt
import functools
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "len",
    "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
    "tuple", "zip", "True", "False", "None", "ValueError",
)
SAFE_BUILTINS = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}

# Provided by the host, read-only for diagrams.
DATA_NAMES = ("tier", "tier_rank", "blacklisted", "has_dishonesty_record", "applicant", "matter")
FUNCTION_NAMES = ("tier_at_least", "working_days")
PROVIDED = frozenset(DATA_NAMES + FUNCTION_NAMES)
# Set by diagrams.
SET_BY_DIAGRAM = ("decision", "path", "breach")
DECISIONS = ("approved", "rejected", "returned")
PATHS = ("instant", "tolerance", "commitment", "standard", "repair")
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro", "gi_frame", "gi_code", "f_globals",
                                  "f_locals", "f_back", "cr_frame", "tb_frame"})

_clock: contextvars.ContextVar[_dt.datetime | None] = contextvars.ContextVar("xinyipi_clock", default=None)


class UnsafeScript(ValueError):
    """A condition or script uses something diagrams may not use."""


class ScriptFailure(RuntimeError):
    """A condition or script failed while a case ran."""


def business_now() -> _dt.datetime:
    """Now, as an aware datetime; `frozen_clock` sets it for imports of past cases and tests."""
    return _clock.get() or _dt.datetime.now(_dt.timezone.utc)


@contextlib.contextmanager
def frozen_clock(moment: _dt.datetime):
    token = _clock.set(moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc))
    try:
        yield
    finally:
        _clock.reset(token)


def check_source(source: str, mode: str) -> None:
    """Raise UnsafeScript (or SyntaxError) when `source` steps outside the environment."""
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise UnsafeScript("不允许导入模块（import）")
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.ClassDef, ast.AsyncFunctionDef,
                             ast.Await, ast.Yield, ast.YieldFrom, ast.With, ast.AsyncWith,
                             ast.Try, ast.Raise, ast.Delete)):
            raise UnsafeScript(f"不允许使用 {type(node).__name__} 语句")
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES:
                raise UnsafeScript(f"不允许访问属性 {node.attr!r}")
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise UnsafeScript(f"不允许使用以下划线开头的名称 {node.id!r}")
            if isinstance(node.ctx, (ast.Store, ast.Del)) and node.id in PROVIDED:
                raise UnsafeScript(f"{node.id!r} 由系统提供，流程不能修改")
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            args = node.args
            for arg in args.posonlyargs + args.args + args.kwonlyargs:
                if arg.arg.startswith("_"):
                    raise UnsafeScript(f"不允许使用以下划线开头的名称 {arg.arg!r}")


@functools.lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str):
    check_source(source, mode)
    return compile(source, "<diagram>", mode)


def tier_at_least_for(scheme_ranks: dict[str, int], rank: int):
    def tier_at_least(code: str) -> bool:
        if code not in scheme_ranks:
            raise ScriptFailure(f"信用等级编码 {code!r} 不属于当前启用的等级体系（可用：{'、'.join(scheme_ranks)}）")
        return rank >= scheme_ranks[code]
    return tier_at_least


def working_days(n) -> str:
    """ISO timestamp (Asia/Shanghai) at the end of the n-th working day from now."""
    from plugin.calendar import add_working_days_from
    moment = business_now().astimezone(ZoneInfo("Asia/Shanghai"))
    return add_working_days_from(moment, int(n)).isoformat()


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Task data plus the host's functions and safe builtins; nothing else."""

    def __init__(self, scheme_ranks: dict[str, int], rank: int):
        super().__init__({"__builtins__": SAFE_BUILTINS,
                          "tier_at_least": tier_at_least_for(scheme_ranks, rank),
                          "working_days": working_days})

    def evaluate(self, expression, context, external_context=None):
        code = compile_checked(expression.strip(), "eval")
        scope = dict(self.globals)
        scope.update(context)
        scope["__builtins__"] = SAFE_BUILTINS
        return eval(code, scope)

    def execute(self, script, context, external_context=None):
        code = compile_checked(script, "exec")
        scope = dict(self.globals)
        scope.update(context)
        scope["__builtins__"] = SAFE_BUILTINS
        exec(code, scope)
        for key, value in scope.items():
            if key in self.globals or key in PROVIDED or callable(value) or key.startswith("_"):
                continue
            context[key] = value
        return True

    def call_service(self, context, **kwargs):
        raise ScriptFailure("本系统不支持服务任务（serviceTask）")


def script_engine(scheme_ranks: dict[str, int], rank: int) -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment(scheme_ranks, rank))
