"""The diagram language: a small, allowlisted subset of Python that always ends and stays small.

Every condition, script and timer expression a diagram carries (and anything else SpiffWorkflow
evaluates: multi-instance cardinalities, completion conditions, DMN cells) passes through here.
Three layers, each sufficient against the attacks named in issue #12:

1. **An allowlist of syntax** (`check_source`). Only the node types in `ALLOWED_NODES` may appear;
   everything else (`match`, `while`, `def`, `lambda`, `class`, `try`, `import`, `with`, `global`,
   walrus, bytes, `**kwargs` …) is refused with a message naming the construct. Names may not start
   with `_`; Python builtins outside `SAFE_BUILTINS` are refused by name; the names the host
   provides cannot be assigned. Attributes exist only as calls of a short list of methods on plain
   values (`METHODS`), checked again at run time against the value's real type: `str.format`,
   `format_map`, `mro`, every dunder and every attribute that is not a listed method are out.
   f-string format specs are limited to plain width/precision. Size limits: the source length,
   the number of syntax nodes and their nesting depth.
2. **A rewrite that meters the cost** (`_Guard`). Loops and comprehensions iterate through a
   counter; `+ * ** << %` go through guards that refuse results over the size limits before they
   are built; every call, method call, comparison, hash key and formatted value first measures its
   operands (`_Run.sized`: a bounded walk, so a structure that shares itself cannot blow up);
   every unit of work spends fuel from a per-evaluation budget with a wall-clock deadline.
   There are no unbounded loops (no `while`, no recursion: no functions can be defined), so every
   evaluation ends, within `FUEL` units and `DEADLINE` seconds.
3. **A closed world at run time.** Code runs with `SAFE_BUILTINS` as its builtins and the host's
   functions; the data the host provides is handed in frozen (read-only mappings and tuples), and
   what a script leaves behind must be plain data (None, bool, int, float, str, lists and dicts)
   of bounded size, or the script fails.

The checks run at validation (a refusal naming the element), when a stored spec is loaded, and
before every evaluation (compiled code is cached per source, so this costs one dict lookup).
Validation and dry runs additionally execute in a separate process with CPU, memory and
wall-clock limits (`plugin.engine.isolation`).
"""
from __future__ import annotations

import ast
import builtins
import copy
import functools
import re
import time
import types
import warnings

# --- limits ----------------------------------------------------------------------------------
MAX_SOURCE_CHARS = 20_000     # one condition, script or timer expression
MAX_NODES = 2_000             # syntax nodes in one source
MAX_DEPTH = 60                # nesting depth of those nodes
FUEL = 1_000_000              # units of work per evaluation (a loop step, a measured value, 64 chars …)
DEADLINE = 2.0                # seconds per evaluation, whatever the fuel says
MAX_STR = 1_000_000           # characters in one string
MAX_ITEMS = 100_000           # items in one list, tuple, dict or set, and in one range
MAX_INT_BITS = 16_384         # bits in one integer (about 4,900 decimal digits)
MAX_SIZE = 1_000_000          # measured size of one operand (items + characters/64 + int words)
MAX_DATA = 200_000            # measured size of what one script leaves in the case data

SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "len",
    "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
    "tuple", "zip", "True", "False", "None",
)

# Methods a diagram may call, per type of value (checked against the value's real type at run time).
_STR_METHODS = frozenset({
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit",
    "splitlines", "replace", "join", "find", "rfind", "count", "isdigit", "isalpha", "isalnum",
    "isspace", "isnumeric", "isdecimal", "islower", "isupper", "title", "capitalize", "casefold",
    "partition", "rpartition", "ljust", "rjust", "center", "zfill"})
_READ_MAPPING = frozenset({"get", "keys", "values", "items", "copy"})
METHODS: dict[type, frozenset] = {
    str: _STR_METHODS,
    list: frozenset({"append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "sort",
                     "copy", "clear"}),
    tuple: frozenset({"index", "count"}),
    dict: _READ_MAPPING | {"pop", "setdefault", "update", "clear"},
    types.MappingProxyType: _READ_MAPPING,
    set: frozenset({"add", "discard", "remove", "pop", "union", "intersection", "difference",
                    "symmetric_difference", "issubset", "issuperset", "isdisjoint", "copy", "clear"}),
    frozenset: frozenset({"union", "intersection", "difference", "symmetric_difference", "issubset",
                          "issuperset", "isdisjoint", "copy"}),
}
ALL_METHODS = frozenset().union(*METHODS.values())
# Methods that only add to their receiver: they need not measure it (appending in a loop stays linear).
_APPENDERS = frozenset({"append", "add", "insert", "setdefault", "pop", "discard", "clear", "reverse"})

ALLOWED_NODES = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Break,
    ast.Continue, ast.Pass,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.Call, ast.keyword, ast.Attribute,
    ast.Subscript, ast.Slice, ast.Starred, ast.Name, ast.Constant, ast.JoinedStr, ast.FormattedValue,
    ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension,
    ast.Load, ast.Store,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
    ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)
# What a refused construct is, for the message (the rest are named by their Python name).
CONSTRUCTS = {
    "Match": "match 语句", "While": "while 循环（循环只能用 for 遍历有限的序列）", "FunctionDef": "函数定义（def）",
    "AsyncFunctionDef": "函数定义（async def）", "Lambda": "lambda 表达式", "ClassDef": "类定义（class）",
    "Import": "导入模块（import）", "ImportFrom": "导入模块（from … import）", "Try": "try 语句",
    "TryStar": "try 语句", "Raise": "raise 语句", "With": "with 语句", "AsyncWith": "with 语句",
    "Global": "global 语句", "Nonlocal": "nonlocal 语句", "Delete": "del 语句", "Assert": "assert 语句",
    "Return": "return 语句", "Yield": "yield", "YieldFrom": "yield", "Await": "await",
    "NamedExpr": "海象运算符（:=）", "AnnAssign": "类型标注赋值", "MatMult": "矩阵乘法运算符（@）",
    "AsyncFor": "async for", "Del": "del",
}
_FORMAT_SPEC = re.compile(r"[<>^=]?[+\- ]?,?(\d{1,3})?(\.\d{1,2})?[sdfeg%xob]?\Z")


class UnsafeScript(ValueError):
    """A condition or script uses something diagrams may not use."""


class ScriptFailure(RuntimeError):
    """A condition or script failed while a case ran (the message is for staff, in Chinese)."""


class LimitExceeded(ScriptFailure):
    """A condition or script went over its time or size limits."""


def _describe(node: ast.AST) -> str:
    name = type(node).__name__
    return CONSTRUCTS.get(name, name)


def check_source(source: str, mode: str, provided: frozenset = frozenset(),
                 callables: frozenset = frozenset()) -> ast.AST:
    """The syntax tree of `source` when it keeps to the diagram language; UnsafeScript (or
    SyntaxError) otherwise. `provided` are the host's read-only names, `callables` the functions
    diagrams may call besides SAFE_BUILTINS."""
    if not isinstance(source, str):
        raise UnsafeScript("表达式必须是文本")
    if len(source) > MAX_SOURCE_CHARS:
        raise UnsafeScript(f"表达式过长（{len(source)} 个字符，上限 {MAX_SOURCE_CHARS}）")
    try:
        tree = ast.parse(source, filename="<diagram>", mode=mode)
    except (RecursionError, MemoryError):
        raise UnsafeScript("表达式嵌套过深") from None
    except ValueError as e:  # e.g. a NUL byte
        raise SyntaxError(str(e)) from None
    _check_tree(tree, provided, callables | frozenset(SAFE_BUILTIN_NAMES))
    return tree


def _check_tree(tree: ast.AST, provided: frozenset, callables: frozenset) -> None:
    count = 0
    stack: list[tuple[ast.AST, int, ast.AST | None]] = [(tree, 0, None)]
    while stack:
        node, depth, parent = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise UnsafeScript(f"表达式过于复杂（超过 {MAX_NODES} 个语法节点）")
        if depth > MAX_DEPTH:
            raise UnsafeScript(f"表达式嵌套过深（超过 {MAX_DEPTH} 层）")
        if not isinstance(node, ALLOWED_NODES):
            raise UnsafeScript(f"不允许使用 {_describe(node)}")
        _check_node(node, parent, provided, callables)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1, node))


def _check_node(node, parent, provided: frozenset, callables: frozenset) -> None:
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise UnsafeScript(f"不允许使用以下划线开头的名称 {node.id!r}")
        if isinstance(node.ctx, ast.Store) and (node.id in provided or node.id in callables):
            raise UnsafeScript(f"{node.id!r} 由系统提供，流程不能修改")
    elif isinstance(node, ast.Attribute):
        if not (isinstance(parent, ast.Call) and parent.func is node):
            raise UnsafeScript(f"不允许访问属性 {node.attr!r}：只能调用普通值的方法，如 s.strip()")
        if node.attr.startswith("_") or node.attr not in ALL_METHODS:
            raise UnsafeScript(f"不允许调用方法或访问属性 {node.attr!r}（可用的方法：见流程设计手册）")
        if isinstance(node.ctx, ast.Store):
            raise UnsafeScript(f"不允许给属性 {node.attr!r} 赋值")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            raise UnsafeScript("只能按名称调用系统提供的函数或普通值的方法")
        if isinstance(node.func, ast.Name) and node.func.id not in callables:
            names = "、".join(sorted(callables - {"True", "False", "None"}))
            raise UnsafeScript(f"{node.func.id!r} 不是流程可调用的函数（可调用：{names}）")
        for keyword in node.keywords:
            if keyword.arg is None:
                raise UnsafeScript("不允许用 ** 展开关键字参数")
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bytes):
            raise UnsafeScript("不允许使用字节串（b'…'）")
        if not isinstance(node.value, (type(None), bool, int, float, str)):
            raise UnsafeScript(f"不允许使用常量 {node.value!r}：只能用文本、数字、True/False/None")
    elif isinstance(node, ast.FormattedValue):
        spec = node.format_spec
        if spec is not None:
            text = "".join(v.value for v in spec.values if isinstance(v, ast.Constant)) \
                if all(isinstance(v, ast.Constant) for v in spec.values) else None
            if text is None or not _FORMAT_SPEC.match(text):
                raise UnsafeScript("f-string 的格式说明只能是简单的对齐、宽度（至多 3 位）和精度")
    elif isinstance(node, (ast.Subscript, ast.Starred, ast.Tuple, ast.List)) and isinstance(node.ctx, ast.Store):
        if isinstance(node, ast.Subscript):
            root = node.value
            while isinstance(root, ast.Subscript):
                root = root.value
            if isinstance(root, ast.Name) and root.id in provided:
                raise UnsafeScript(f"{root.id!r} 由系统提供，流程不能修改")


# --- the rewrite -----------------------------------------------------------------------------
_H = "__x_"  # helper names: user code cannot name them (no leading underscores)


def _helper(name: str, *args: ast.expr, keywords=()) -> ast.Call:
    return ast.Call(func=ast.Name(id=_H + name, ctx=ast.Load()), args=list(args), keywords=list(keywords))


def _sized(node: ast.expr) -> ast.expr:
    return node if isinstance(node, ast.Constant) else _helper("sized", node)


class _Guard(ast.NodeTransformer):
    """Route every costly operation through the metering helpers of `_Run`."""

    _BINOPS = {ast.Add: "add", ast.Mult: "mul", ast.Pow: "pow", ast.LShift: "lshift", ast.Mod: "mod"}

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = _helper("iter", node.iter)
        return node

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.iter = _helper("iter", node.iter)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        name = self._BINOPS.get(type(node.op))
        if name is None:
            return node
        return _helper(name, node.left, node.right)

    def visit_AugAssign(self, node):
        target = node.target
        load = _as_load(target)
        value = self.visit(ast.BinOp(left=load, op=node.op, right=node.value))
        return ast.Assign(targets=[self.visit(target)], value=value)

    def visit_Compare(self, node):
        self.generic_visit(node)
        node.left = _sized(node.left)
        node.comparators = [_sized(c) for c in node.comparators]
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):
            return _helper("method", node.func.value, ast.Constant(node.func.attr), *node.args,
                           keywords=node.keywords)
        return _helper("call", node.func, *node.args, keywords=node.keywords)

    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        node.value = _sized(node.value)
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if not isinstance(node.slice, ast.Slice):
            node.slice = _sized(node.slice)
        return node

    def visit_Dict(self, node):
        self.generic_visit(node)
        node.keys = [k if k is None else _sized(k) for k in node.keys]
        return _helper("built", node)

    def visit_Set(self, node):
        self.generic_visit(node)
        node.elts = [_sized(e) for e in node.elts]
        return _helper("built", node)

    def visit_DictComp(self, node):
        self.generic_visit(node)
        node.key = _sized(node.key)
        return _helper("built", node)

    def visit_SetComp(self, node):
        self.generic_visit(node)
        node.elt = _sized(node.elt)
        return _helper("built", node)

    def visit_ListComp(self, node):
        self.generic_visit(node)
        return _helper("built", node)

    def visit_List(self, node):
        self.generic_visit(node)
        return node if isinstance(node.ctx, ast.Store) else _helper("built", node)

    def visit_Tuple(self, node):
        self.generic_visit(node)
        return node if isinstance(node.ctx, ast.Store) else _helper("built", node)


def _as_load(target: ast.expr) -> ast.expr:
    if not isinstance(target, (ast.Name, ast.Subscript)):
        raise UnsafeScript("增量赋值（+= 等）的目标只能是变量或下标")
    load = copy.deepcopy(target)
    load.ctx = ast.Load()
    return load


@functools.lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str, provided: frozenset, callables: frozenset):
    """Checked, metered and compiled code for `source` (cached per source)."""
    tree = check_source(source, mode, provided, callables)
    tree = ast.fix_missing_locations(_Guard().visit(tree))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings are the designer's, reported by validation
        return compile(tree, "<diagram>", mode)


# --- run time ----------------------------------------------------------------------------------
_LAZY = (range, map, filter, zip, enumerate, reversed, types.GeneratorType)
_FREE = (type(None), bool, float)


class _Run:
    """The budget and the metering helpers of one evaluation."""

    __slots__ = ("fuel", "deadline", "callables")

    def __init__(self, callables: frozenset):
        self.fuel = FUEL
        self.deadline = time.monotonic() + DEADLINE
        self.callables = callables  # the function objects that may be called

    def spend(self, units: int) -> None:
        self.fuel -= units
        if self.fuel < 0:
            raise LimitExceeded(f"脚本超出计算量限制（{FUEL:,} 个单位）")
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"脚本超出时间限制（{DEADLINE:g} 秒）")

    # measuring
    def measure(self, value, limit: int = MAX_SIZE) -> int:
        """Size of `value` counted as if nothing were shared, stopping just past `limit`."""
        size = 0
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, _FREE):
                size += 1
            elif isinstance(v, str):
                size += 1 + len(v) // 64
            elif isinstance(v, int):
                size += 1 + v.bit_length() // 64
            elif isinstance(v, (list, tuple, set, frozenset)):
                size += 1
                stack.extend(v)
            elif isinstance(v, (dict, types.MappingProxyType)):
                size += 1
                stack.extend(v.keys())
                stack.extend(v.values())
            else:  # lazy iterators (metered when consumed), functions
                size += 1
            if size > limit:
                break
        self.spend(size)
        return size

    def sized(self, value):
        if not isinstance(value, (str, int, float, bool, type(None))):
            if self.measure(value) > MAX_SIZE:
                raise LimitExceeded("数据超出大小限制")
        return value

    def built(self, value):
        self.spend(1 + len(value))
        return value

    def iter(self, iterable):
        self.sized(iterable)
        for item in iterable:
            self.spend(1)
            yield item

    # calls
    def call(self, function, *args, **kwargs):
        if not any(function is f for f in self.callables):
            raise UnsafeScript("只能调用系统提供的函数")
        for value in args:
            self._passable(value)
            self.sized(value)
        for value in kwargs.values():
            self._passable(value)
            self.sized(value)
        return self._charged(function(*args, **kwargs))

    def method(self, receiver, name: str, *args, **kwargs):
        allowed = METHODS.get(type(receiver))
        if allowed is None or name not in allowed:
            kind = type(receiver).__name__
            raise UnsafeScript(f"{kind} 类型的值没有可用的方法 {name!r}")
        if name not in _APPENDERS:
            self.sized(receiver)
        for value in (*args, *kwargs.values()):
            self._passable(value)
            self.sized(value)
        if type(receiver) is str:
            _check_str_method(receiver, name, args)
        elif name in ("extend", "update", "union", "symmetric_difference") and args:
            if len(receiver) + sum(len(a) if hasattr(a, "__len__") else MAX_ITEMS for a in args) > MAX_ITEMS:
                raise LimitExceeded(f"集合超出大小限制（{MAX_ITEMS:,} 项）")
        elif name in ("append", "add", "insert", "setdefault") and len(receiver) >= MAX_ITEMS:
            raise LimitExceeded(f"集合超出大小限制（{MAX_ITEMS:,} 项）")
        return self._charged(getattr(receiver, name)(*args, **kwargs))

    def _passable(self, value) -> None:
        if callable(value) and not any(value is f for f in self.callables):
            raise UnsafeScript("只能传入系统提供的函数")

    def _charged(self, result):
        if isinstance(result, str):
            self.spend(1 + len(result) // 64)
        elif isinstance(result, (list, tuple, set, frozenset, dict)):
            self.spend(1 + len(result))
        return result

    # operators
    def add(self, a, b):
        if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)):
            _check_length(a, len(a) + len(b))
            self.spend(1 + (len(a) + len(b)) // (64 if isinstance(a, str) else 1))
        elif isinstance(a, int) and isinstance(b, int):
            _check_bits(max(a.bit_length(), b.bit_length()) + 1)
        return a + b

    def mul(self, a, b):
        if isinstance(a, int) and isinstance(b, (str, list, tuple)):
            a, b = b, a
        if isinstance(a, (str, list, tuple)) and isinstance(b, int):
            _check_length(a, len(a) * max(b, 0))
            self.spend(1 + len(a) * max(b, 0) // (64 if isinstance(a, str) else 1))
        elif isinstance(a, int) and isinstance(b, int):
            _check_bits(a.bit_length() + b.bit_length())
        return a * b

    def pow(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and b > 0:
            if a.bit_length() > 1 and (a.bit_length() - 1) * b > MAX_INT_BITS:
                raise LimitExceeded(f"乘方结果超出整数大小限制（{MAX_INT_BITS} 位）")
            self.spend(1 + (a.bit_length() * b) // 64)
        elif isinstance(b, int) and abs(b) > MAX_INT_BITS:
            raise LimitExceeded("乘方的指数过大")
        return a ** b

    def lshift(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + max(b, 0) > MAX_INT_BITS:
            raise LimitExceeded(f"移位结果超出整数大小限制（{MAX_INT_BITS} 位）")
        return a << b

    def mod(self, a, b):
        if isinstance(a, str):
            raise UnsafeScript("不支持用 % 格式化字符串，请用 f-string，如 f\"{x}\"")
        return a % b


def _check_length(sequence, length: int) -> None:
    if isinstance(sequence, str):
        if length > MAX_STR:
            raise LimitExceeded(f"字符串超出长度限制（{MAX_STR:,} 字）")
    elif length > MAX_ITEMS:
        raise LimitExceeded(f"序列超出长度限制（{MAX_ITEMS:,} 项）")


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"整数超出大小限制（{MAX_INT_BITS} 位）")


def _check_str_method(s: str, name: str, args: tuple) -> None:
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        growth = max(0, len(args[1]) - len(args[0]))
        if growth and len(s) + (len(s) + 1) * growth > MAX_STR:
            raise LimitExceeded(f"替换结果超出长度限制（{MAX_STR:,} 字）")
    elif name == "join" and args:
        parts = args[0]
        if not isinstance(parts, (list, tuple)):
            raise UnsafeScript("join 的参数须是字符串的列表")
        if len(s) * len(parts) + sum(len(p) if isinstance(p, str) else 0 for p in parts) > MAX_STR:
            raise LimitExceeded(f"拼接结果超出长度限制（{MAX_STR:,} 字）")
    elif name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int) and args[0] > 1000:
        raise LimitExceeded("填充宽度不能超过 1000")


# Builtins with bounds of their own.
def _range(*args):
    r = range(*args)
    if len(r) > MAX_ITEMS:
        raise LimitExceeded(f"range 超出长度限制（{MAX_ITEMS:,}）")
    return r


def _round(number, ndigits=None):
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > 30):
        raise LimitExceeded("round 的位数须在 -30 到 30 之间")
    return round(number) if ndigits is None else round(number, ndigits)


def _sum(values, start=0):
    values = list(values)
    if not all(isinstance(v, (int, float)) for v in [*values, start]):
        raise UnsafeScript("sum 只能对数字求和")
    return sum(values, start)


SAFE_BUILTINS = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
SAFE_BUILTINS.update(range=_range, round=_round, sum=_sum)


def freeze(value):
    """A read-only copy of plain data (mappings become read-only views, lists tuples)."""
    if isinstance(value, dict):
        return types.MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value, depth: int = 0):
    """`value` as plain data (what JSON holds), or ScriptFailure naming what is not."""
    if depth > 32:
        raise ScriptFailure("数据嵌套过深")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [thaw(v, depth + 1) for v in value]
    if isinstance(value, (dict, types.MappingProxyType)):
        if not all(isinstance(k, str) for k in value):
            raise ScriptFailure("字典的键只能是文本")
        return {k: thaw(v, depth + 1) for k, v in value.items()}
    raise ScriptFailure(f"流程数据只能是文本、数字、布尔值、列表和字典，不能是 {type(value).__name__}")


class Sandbox:
    """The world one case's diagram runs in: the host's functions and read-only data.

    `functions` maps names to the Python functions diagrams may call (each call is metered);
    `provided` maps names to plain data, handed to every evaluation frozen, whatever the task
    data says (a script cannot change the applicant's tier for a later gateway)."""

    def __init__(self, functions: dict, provided: dict, reserved: frozenset = frozenset()):
        self.functions = dict(functions)
        self.provided = {k: freeze(v) for k, v in provided.items()}
        self.reserved = frozenset(reserved) | frozenset(self.provided)
        self._names = (self.reserved | frozenset(self.functions), frozenset(self.functions))

    def _scope(self, context: dict) -> tuple[dict, _Run]:
        run = _Run(())
        metered = {name: _metered(f, run) for name, f in self.functions.items()}
        run.callables = _SAFE_CALLABLES + tuple(metered.values())
        scope = dict(context)
        scope.update(metered)
        scope.update(self.provided)
        scope["__builtins__"] = SAFE_BUILTINS
        for name in _HELPERS:
            scope[_H + name] = getattr(run, name)
        return scope, run

    def evaluate(self, source: str, context: dict):
        """The value of expression `source` over `context` (task data)."""
        code = compile_checked(source.strip(), "eval", *self._names)
        scope, _run = self._scope(context)
        return eval(code, scope)

    def execute(self, source: str, context: dict) -> None:
        """Run script `source` over `context`, writing back the plain data it assigns."""
        code = compile_checked(source, "exec", *self._names)
        scope, run = self._scope(context)
        exec(code, scope)
        size = 0
        for key, value in scope.items():
            if key.startswith("_") or key in self.reserved or key in self.functions or key in SAFE_BUILTINS:
                continue
            size += run.measure(value, MAX_DATA)
            if size > MAX_DATA:
                raise LimitExceeded(f"脚本写入的数据超出大小限制（{MAX_DATA:,} 个单位）")
            try:
                context[key] = thaw(value)
            except ScriptFailure as e:
                raise ScriptFailure(f"脚本给变量 {key!r} 赋的值不能保存：{e}") from None


_SAFE_CALLABLES = tuple(v for v in SAFE_BUILTINS.values() if callable(v))
_HELPERS = ("sized", "built", "iter", "call", "method", "add", "mul", "pow", "lshift", "mod")


def _metered(function, run: _Run):
    """`function` spending fuel on every call, also when a builtin (map, sorted …) calls it."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        run.spend(10)
        return function(*args, **kwargs)
    return call
