"""The structure DESIGN.md promises, checked: only the engine package talks to SpiffWorkflow."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# (benchmarks/, outside the runtime packages, runs raw SpiffWorkflow as its baseline on purpose)
ALLOWED: set[str] = set()


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_engine_imports_spiffworkflow():
    offenders = []
    for package in ("plugin", "admin", "seeds"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("plugin/engine/") or relative in ALLOWED:
                continue
            if any(name.split(".")[0] == "SpiffWorkflow" for name in _imports(path)):
                offenders.append(relative)
    assert not offenders, f"SpiffWorkflow imported outside plugin/engine/: {offenders}"


def _package_of(module: str) -> str | None:
    """plugin.credit.tiers → plugin.credit; plugin.db → plugin.db; admin.views → admin."""
    parts = module.split(".")
    if parts[0] == "admin":
        return "admin"
    if parts[0] == "plugin" and len(parts) > 1:
        return ".".join(parts[:2])
    return None


def _module_imports(tree: ast.AST, module: str) -> set[str]:
    """Modules imported at the top level of a module (not inside functions)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[:-node.level] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_no_import_cycles_between_packages():
    """The top-level imports between our packages form no cycle (data flows one way: web and CLI
    → services → domain and engine → database)."""
    graph: dict[str, set[str]] = {}
    for package in ("plugin", "admin"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            source = _package_of(module)
            if source is None:
                continue
            for name in _module_imports(ast.parse(path.read_text(encoding="utf-8")), module):
                target = _package_of(name)
                if target and target != source:
                    graph.setdefault(source, set()).add(target)
    cycles = []

    def visit(node, stack):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif len(stack) < 12:
                visit(nxt, stack + [nxt])
    for start in sorted(graph):
        visit(start, [start])
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles[:5])


def test_the_runtime_packages_never_import_the_benchmarks_at_module_level():
    """`benchmarks/` is not part of the running product: only `xinyipi bench` imports it, lazily."""
    offenders = []
    for package in ("plugin", "admin", "seeds"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if any(name.split(".")[0] == "benchmarks"
                   for name in _module_imports(ast.parse(path.read_text(encoding="utf-8")), module)):
                offenders.append(path.relative_to(ROOT).as_posix())
    assert not offenders, f"benchmarks imported at module level by: {offenders}"
    assert not (ROOT / "plugin" / "bench.py").exists() and not (ROOT / "admin" / "bench.py").exists()


SPIFF_INSIDES = ("_encoder_mode", "_get_internal_data", "_set_internal_data", "internal_data", "event_manager",
                 "mapping_to_dict", "mapping_from_dict", "set_default_attributes", "subprocesses_from_dict")


def test_spiffworkflows_insides_are_used_in_one_adapter_module_only():
    """What SpiffWorkflow does not document is used in `plugin/engine/spiff.py` alone (and checked
    there by tests/unit/test_spiff_adapter.py)."""
    offenders = []
    for package in ("plugin", "admin", "seeds"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "plugin/engine/spiff.py":
                continue
            names = {node.attr for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Attribute)}
            offenders += [f"{relative}: {name}" for name in sorted(names & set(SPIFF_INSIDES))]
    assert not offenders, f"SpiffWorkflow's insides used outside plugin/engine/spiff.py: {offenders}"
    # and nothing of SpiffWorkflow's is patched at import time
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "plugin" / "engine").glob("*.py"))
    assert "_spiff_timers" not in source and ".datetime = " not in source
