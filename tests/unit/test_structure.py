"""The structure DESIGN.md promises, checked: only the engine package talks to SpiffWorkflow."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the benchmark's baseline is raw SpiffWorkflow on purpose (BENCHMARKS.md)
ALLOWED = {"plugin/bench.py"}


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
