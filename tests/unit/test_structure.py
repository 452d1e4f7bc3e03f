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


def _package_graph(imports_of) -> dict[str, set[str]]:
    """Which of our packages imports which, by `imports_of(tree, module)` (module level or all)."""
    graph: dict[str, set[str]] = {}
    for package in ("plugin", "admin"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            source = _package_of(module)
            if source is None:
                continue
            for name in imports_of(ast.parse(path.read_text(encoding="utf-8")), module):
                target = _package_of(name)
                if target and target != source:
                    graph.setdefault(source, set()).add(target)
    return graph


def test_no_import_cycles_between_packages():
    """The top-level imports between our packages form no cycle (data flows one way: web and CLI
    → services → domain and engine → database)."""
    graph = _package_graph(_module_imports)
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


def _all_imports(tree: ast.AST, module: str) -> set[str]:
    """Modules imported anywhere in a module, inside functions too."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


# Package edges that still close a cycle through an import inside a function (issue #13 §4: the
# domain core applications ↔ credit ↔ catalog ↔ engine ↔ supervision ↔ work still leans on them).
# The list may only shrink: a new edge that closes a cycle fails the test below.
KNOWN_CYCLIC_EDGES = frozenset({
    ("accounts", "identity"), ("applications", "accounts"), ("applications", "calendar"),
    ("applications", "catalog"), ("applications", "credit"), ("applications", "engine"),
    ("applications", "identity"), ("applications", "supervision"), ("applications", "work"),
    ("calendar", "work"), ("catalog", "credit"), ("catalog", "engine"), ("catalog", "work"),
    ("credit", "applications"), ("credit", "catalog"), ("credit", "supervision"), ("credit", "work"),
    ("engine", "applications"), ("engine", "calendar"), ("engine", "credit"), ("identity", "accounts"),
    ("identity", "applications"), ("identity", "credit"), ("identity", "notifications"),
    ("notifications", "credit"), ("supervision", "accounts"), ("supervision", "applications"),
    ("supervision", "calendar"), ("supervision", "catalog"), ("supervision", "credit"),
    ("supervision", "work"), ("work", "applications"), ("work", "credit"),
})


def test_no_new_import_cycle_even_through_imports_inside_functions():
    graph = _package_graph(_all_imports)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(graph.get(node, ()))
        return False
    short = lambda name: name.removeprefix("plugin.")  # noqa: E731
    cyclic = {(short(a), short(b)) for a in graph for b in graph[a] if reaches(b, a)}
    assert not cyclic - KNOWN_CYCLIC_EDGES, f"new import cycles through: {sorted(cyclic - KNOWN_CYCLIC_EDGES)}"
    assert not KNOWN_CYCLIC_EDGES - cyclic, \
        f"these edges no longer close a cycle, strike them from KNOWN_CYCLIC_EDGES: {sorted(KNOWN_CYCLIC_EDGES - cyclic)}"



# ---------------------------------------------------------------------------------------------
# one way in (DESIGN §3.2, issue #13 §1): the web faces never write credit, the catalog, the
# negative list or the calendar themselves; services do, in a unit of work
# ---------------------------------------------------------------------------------------------
GUARDED_MODELS = frozenset({"Subject", "DishonestyRecord", "TierScheme", "Tier", "TierChange", "Matter", "Material",
                            "MaterialRequirement", "MatterTierLimit", "NegativeListEntry", "CalendarDay"})
GUARDED_TABLES = ("subject", "dishonesty_record", "tier_scheme", "tier", "tier_change", "matter", "material",
                  "material_requirement", "matter_tier_limit", "negative_list_entry", "calendar_day")
WRITE_METHODS = frozenset({"save", "create", "get_or_create", "insert", "insert_many", "insert_from", "replace",
                           "replace_many", "update", "delete", "delete_instance", "bulk_create", "bulk_update"})
FACES = ("admin", "plugin/portal")
# modules of the faces that write the guarded tables themselves, and why (today: none; the admin
# benchmark's bulk loader moved to benchmarks/, which is not a face)
WRITERS: dict[str, str] = {}
# `.save()` / `.delete_instance()` on an instance cannot be typed from the source: every one in the
# faces is listed here, by module and receiver, with the table it writes
INSTANCE_WRITES = {
    ("admin/auth.py", "user"): "StaffUser: a staff member changes their own password",
    ("admin/views.py", "model"): "the base view's delete, for views over other tables (staff, incidents, "
                                 "accounts); views of the guarded tables write through services "
                                 "(test_every_view_of_a_guarded_table_writes_through_a_service)",
    ("plugin/portal/identity.py", "account"): "ApplicantAccount: registration creates the account",
}


def _face_modules():
    for face in FACES:
        for path in sorted((ROOT / face).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _guarded_names(tree) -> set[str]:
    """The names the module knows the guarded models by (imported, maybe under another name)."""
    names = set(GUARDED_MODELS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.update(a.asname for a in node.names if a.asname and a.name in GUARDED_MODELS)
    return names


def _service_modules(tree) -> set[str]:
    """The names under which the module imports modules of ours (`from plugin.credit import records`):
    `records.save(…)` calls a service, it is the point."""
    import importlib.util
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("plugin"):
            for a in node.names:
                try:
                    if importlib.util.find_spec(f"{node.module}.{a.name}") is not None:
                        names.add(a.asname or a.name)
                except ModuleNotFoundError:
                    pass
    return names


def _writes(tree):
    """(line, receiver, method) of every call of a write method in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_METHODS:
            yield node.lineno, node.func.value, node.func.attr


def test_the_faces_never_write_credit_the_catalog_the_negative_list_or_the_calendar():
    import re
    raw = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+\"?(%s)\b" % "|".join(GUARDED_TABLES),
                     re.I)
    offenders, unused = [], set(INSTANCE_WRITES)
    for relative, tree in _face_modules():
        if relative in WRITERS:
            continue
        guarded, services = _guarded_names(tree), _service_modules(tree)
        for line, receiver, method in _writes(tree):
            if isinstance(receiver, ast.Name) and receiver.id in services:
                continue
            name = receiver.id if isinstance(receiver, ast.Name) else (
                receiver.attr if isinstance(receiver, ast.Attribute) else None)
            if name in guarded:
                offenders.append(f"{relative}:{line}: {name}.{method}(…)")
            elif method in ("save", "delete_instance"):
                key = (relative, ast.unparse(receiver))
                if key in INSTANCE_WRITES:
                    unused.discard(key)
                else:
                    offenders.append(f"{relative}:{line}: {key[1]}.{method}() (a guarded row? list it in "
                                     "INSTANCE_WRITES with its table if it is not)")
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and raw.search(node.value):
                offenders.append(f"{relative}:{node.lineno}: raw SQL writes {raw.search(node.value).group(2)}")
    assert not offenders, "writes outside the services:\n" + "\n".join(offenders)
    assert not unused, f"INSTANCE_WRITES lists writes that are gone: {sorted(unused)}"


def test_the_scan_finds_a_write():
    """The scan above is not vacuous: it sees the forms a write takes."""
    tree = ast.parse("from plugin.credit.models import Subject as S\n"
                     "S.update(name='x').where(S.id == 1).execute()\nmodels.Matter.create(code='x')\n"
                     "Tier.insert_many([]).execute()\nrow.save()\n")
    found = {(getattr(r, "id", None) or getattr(r, "attr", None), m) for _l, r, m in _writes(tree)}
    assert {("S", "update"), ("Matter", "create"), ("Tier", "insert_many"), ("row", "save")} <= found
    assert "S" in _guarded_names(tree)


def test_every_view_of_a_guarded_table_writes_through_a_service():
    from admin.views import VIEWS, ServiceModelView
    for view, model, _name, _category in VIEWS:
        if model.__name__ in GUARDED_MODELS:
            assert issubclass(view, ServiceModelView), view.__name__
            assert view.write is not ServiceModelView.write, view.__name__
            assert view.remove is not ServiceModelView.remove, view.__name__


def test_every_event_emitted_is_listed_in_one_place():
    from plugin.events import EVENTS
    emitted = {}
    for path in (ROOT / "plugin").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                emitted.setdefault(node.args[0].value, path.relative_to(ROOT).as_posix())
    assert not set(emitted) - set(EVENTS), {n: emitted[n] for n in set(emitted) - set(EVENTS)}
    assert not set(EVENTS) - set(emitted), f"listed but never emitted: {sorted(set(EVENTS) - set(emitted))}"


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
