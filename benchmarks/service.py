"""`xinyipi bench`: measured figures, each against a baseline run in the same process.

- instant approvals through the application service (credit check, negative list, start, run,
  save, audit) against raw SpiffWorkflow running the same published diagram in memory;
- the stored size of a waiting case against the raw serializer's JSON of the same workflow;
- bulk import of subjects (rows/s), against parsing and validating the same rows without writing.

Each run uses a fresh database of its own (a temporary SQLite file, or a scratch database on the
PostgreSQL server given), seeded with the real seed data.
"""
from __future__ import annotations

import contextlib
import io
import random
import statistics
import tempfile
import time
import uuid

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from plugin import db as dbmod


@contextlib.contextmanager
def scratch_database(postgres_url: str | None):
    """A fresh, migrated, seeded database, used by everything inside the block (whatever app
    context is current: `xinyipi bench` runs inside the CLI's); dropped afterwards."""
    from plugin.migrations import migrate
    from seeds.loader import load_all
    previous = dbmod.default_binding()     # an app made inside the block (the admin pages) binds anew
    if postgres_url:
        import psycopg
        from urllib.parse import urlsplit, urlunsplit
        name = f"xinyipi_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
        binding = dbmod.open_binding(url)
        try:
            with dbmod.using(binding):
                migrate()
                with contextlib.redirect_stdout(io.StringIO()):
                    load_all(demo_staff=True)
                yield "postgresql"
        finally:
            binding.database.close()
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            dbmod.set_default(previous)
        return
    with tempfile.TemporaryDirectory() as tmp:
        binding = dbmod.open_binding(f"sqlite:///{tmp}/bench.db")
        try:
            with dbmod.using(binding):
                migrate()
                load_all(demo_staff=True)
                yield "sqlite"
        finally:
            binding.database.close()
            dbmod.set_default(previous)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def instant_approvals(n: int, backend: str, out) -> dict:
    from plugin.applications import service
    from plugin.credit.models import Subject, Tier, TierScheme
    from plugin.engine.definitions import serializer, specs
    from plugin.engine.models import ProcessDefinition
    from plugin.catalog.facts import matter_facts
    from plugin.catalog.models import Matter
    from plugin.catalog.negative_list import is_on_negative_list
    from plugin.credit.tiers import effective_tier

    definition = ProcessDefinition.select().where(ProcessDefinition.key == "instant_approval").first()
    matter = next(m for m in Matter.select().where(Matter.process == definition) if not is_on_negative_list(m))
    reds = [s for s in Subject.select().join(Tier).join(TierScheme)
            .where((TierScheme.code == "haikou") & (Tier.code == "red"))
            if not effective_tier(s).has_dishonesty_record]
    spec, subprocesses = specs.get(definition)
    data = {"tier": "red", "tier_rank": 3, "blacklisted": False, "has_dishonesty_record": False,
            "applicant": {"code": reds[0].code, "name": reds[0].name, "kind": reds[0].kind},
            "matter": matter_facts(matter.code).context()}
    ranks = {"red": 3, "orange": 2, "blue": 1, "black": 0}

    def raw_once():
        env = TaskDataEnvironment({"tier_at_least": lambda code: 3 >= ranks[code]})
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=PythonScriptEngine(environment=env))
        workflow.task_tree.data.update(data)
        workflow.do_engine_steps()
        assert workflow.completed and workflow.last_task.data["decision"] == "approved"

    for _ in range(50):  # warm both paths
        raw_once()
        service.apply(matter.code, reds[0].code)
    raw = []
    for _ in range(n):
        t = time.perf_counter()
        raw_once()
        raw.append(time.perf_counter() - t)
    ours = []
    started = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        app = service.apply(matter.code, reds[i % len(reds)].code)
        ours.append(time.perf_counter() - t)
        if app.status != "approved":
            raise RuntimeError(f"benchmark case {app.number} ended {app.status}, not approved")
    wall = time.perf_counter() - started
    rate = n / wall
    ratio = statistics.mean(ours) / statistics.mean(raw)

    waiting = service.apply(Matter.select().join(ProcessDefinition, on=(Matter.process == ProcessDefinition.id))
                            .where(ProcessDefinition.key == "standard_review").first().code,
                            Subject.select().join(Tier).where(Tier.code == "blue").first().code)
    raw_json = serializer.serialize_json(service.load_workflow(waiting))
    result = {"backend": backend, "n": n, "rate": rate, "p50_ms": _percentile(ours, 0.5) * 1000,
              "p99_ms": _percentile(ours, 0.99) * 1000, "raw_p50_ms": _percentile(raw, 0.5) * 1000,
              "ratio": ratio, "stored_bytes": len(waiting.state.encode()), "raw_bytes": len(raw_json.encode())}
    print(f"raw SpiffWorkflow, same diagram in memory: {1 / statistics.mean(raw):,.0f}/s, "
          f"p50 {result['raw_p50_ms']:.2f} ms", file=out)
    print(f"waiting case stored: {result['stored_bytes']:,} bytes vs raw serializer JSON "
          f"{result['raw_bytes']:,} bytes ({result['stored_bytes'] / result['raw_bytes']:.0%})", file=out)
    print(f"instant-approval {backend}: {rate:,.0f}/s, p50 {result['p50_ms']:.2f} ms, "
          f"p99 {result['p99_ms']:.2f} ms, cost vs raw SpiffWorkflow {ratio:.2f}×", file=out)
    return result


def subject_rows(n: int, seed: int = 1):
    """n CSV lines of valid subjects across the Haikou tiers (one in 1,000 deliberately bad)."""
    from plugin.credit.codes import make_credit_code, make_id_number
    rng = random.Random(seed)
    tiers = ("red", "orange", "blue", "black")
    yield "code,name,tier\n"
    for i in range(n):
        if i % 1000 == 999:
            yield f"91460100MA5T00000X,坏行{i},red\n"
            continue
        code = make_credit_code(rng) if i % 4 else make_id_number(rng)
        yield f"{code},主体{i},{tiers[i % 4]}\n"


class _LineStream(io.TextIOBase):
    """A read-only text stream over a generator of lines (no 1M-row file on disk)."""

    def __init__(self, lines):
        self._lines = iter(lines)

    def readable(self):
        return True

    def readline(self, size=-1):
        return next(self._lines, "")

    def __iter__(self):
        return self._lines

    def __next__(self):
        return next(self._lines)


def subject_import(rows: int, backend: str, out) -> dict:
    from plugin.credit.importer import SUBJECT_FIELDS, ImportReport, import_subjects, read_rows
    from plugin.credit.codes import InvalidCode, validate_subject_code
    t = time.perf_counter()
    report = ImportReport()
    for _line, row in read_rows(_LineStream(subject_rows(rows)), SUBJECT_FIELDS, report):
        try:
            validate_subject_code(row["code"])
        except InvalidCode:
            pass
    parse_rate = rows / (time.perf_counter() - t)
    t = time.perf_counter()
    report = import_subjects(_LineStream(subject_rows(rows)))
    seconds = time.perf_counter() - t
    rate = rows / seconds
    print(f"parse and validate only: {parse_rate:,.0f} rows/s", file=out)
    print(f"import-subjects {backend}: {rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s "
          f"({report.imported:,} imported, {len(report.errors):,} bad rows reported; "
          f"writing costs {parse_rate / rate:.2f}× parsing)", file=out)
    return {"rows": rows, "seconds": seconds, "rate": rate, "imported": report.imported,
            "bad": len(report.errors)}


def inspection_draw(n: int, backend: str, out, repeat: int = 5) -> dict:
    """A random inspection drawn over `n` approved cases of n/4 subjects (each subject's effective
    tier computed on the day, ratios by tier, inspectors assigned), against the baseline of reading
    the same cases' ids with one bare SQL query and drawing the same number with `random.sample`."""
    import datetime as _dt

    from plugin.applications.models import Application
    from plugin.catalog.models import Matter
    from plugin.credit.codes import make_credit_code
    from plugin.credit.models import Subject, Tier, TierScheme
    from plugin.db import database, now
    from plugin.supervision import service as supervision

    rng = random.Random(7)
    tiers = list(Tier.select().join(TierScheme).where(TierScheme.code == "haikou"))
    matter = Matter.select().order_by(Matter.code).first()
    stamp = now() - _dt.timedelta(days=1)
    first_subject = (Subject.select(Subject.id).order_by(Subject.id.desc()).scalar() or 0) + 1
    subjects = max(1, n // 4)
    with database.atomic():
        for start in range(0, subjects, 1000):
            Subject.insert_many([{"code": make_credit_code(rng), "name": f"抽查主体{i}", "kind": "organisation",
                                  "tier": tiers[i % len(tiers)].id, "source": "bench", "created_at": stamp}
                                 for i in range(start, min(subjects, start + 1000))]).on_conflict_ignore().execute()
        ids = [s for (s,) in Subject.select(Subject.id).where(Subject.id >= first_subject).tuples()]
        for start in range(0, n, 1000):
            Application.insert_many([{
                "number": f"BENCH{i:09d}", "matter": matter.id, "subject": ids[i % len(ids)], "status": "approved",
                "path": "instant", "decision": "approved", "tier_code": "red", "tier_snapshot": {}, "form_data": {},
                "version": 1, "submitted_at": stamp, "decided_at": stamp, "updated_at": stamp}
                for i in range(start, min(n, start + 1000))]).execute()
    today = _dt.date.today()

    ours, base = [], []
    drawn = 0
    for i in range(repeat):
        t = time.perf_counter()
        plan = supervision.plan(None, today, seed=i)
        ours.append(time.perf_counter() - t)
        drawn = len(plan.drawn)
        t = time.perf_counter()
        rows = database.execute_sql("SELECT id FROM application WHERE status = 'approved' ORDER BY id").fetchall()
        random.Random(i).sample([r[0] for r in rows], drawn)
        base.append(time.perf_counter() - t)
    ratio = statistics.median(ours) / statistics.median(base)
    result = {"backend": backend, "n": n, "subjects": subjects, "drawn": drawn,
              "p50_ms": statistics.median(ours) * 1000, "base_ms": statistics.median(base) * 1000, "ratio": ratio}
    print(f"inspection draw {backend}: {n:,} approved cases of {subjects:,} subjects, {drawn} drawn: "
          f"median {result['p50_ms']:.0f} ms over {repeat} draws; bare id query + random.sample "
          f"{result['base_ms']:.1f} ms; cost {ratio:.1f}×", file=out)
    return result


def diagram_language(n: int, out, repeat: int = 10) -> dict:
    """What the diagram language (plugin.engine.sandbox) costs: `n` evaluations of a tier condition
    and of a two-line script through the sandbox, against Python's own eval/exec of the same code
    with the same names (the baseline, no checks and no metering); and validating the tolerance
    template in the isolated child against the same checks and dry runs in this process."""
    from plugin.credit.tiers import active_scheme
    from plugin.engine.publish import template_path
    from plugin.engine.scripting import RestrictedEnvironment
    from plugin.engine.validate import check_xml, validate_xml

    ranks = {"red": 3, "orange": 2, "blue": 1, "black": 0}
    facts = {"tier": "orange", "tier_rank": 2, "blacklisted": False, "has_dishonesty_record": False,
             "applicant": {"code": "91460100QJWYLF5568", "name": "测试", "kind": "organisation"},
             "matter": {"code": "M", "supplement_days": 5}}
    env = RestrictedEnvironment(ranks, 2, facts)
    condition, script = 'tier_at_least("orange") and not has_dishonesty_record', 'path = "tolerance"\ndecision = "approved"'
    plain_scope = dict(facts, tier_at_least=lambda code: 2 >= ranks[code])
    cond_code, script_code = compile(condition, "<raw>", "eval"), compile(script, "<raw>", "exec")
    result = {}
    for label, ours, raw in (
            ("condition", lambda: env.evaluate(condition, {}), lambda: eval(cond_code, dict(plain_scope))),
            ("script", lambda: env.execute(script, {}), lambda: exec(script_code, dict(plain_scope)))):
        ours(), raw()
        t = time.perf_counter()
        for _ in range(n):
            ours()
        mine = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(n):
            raw()
        base = time.perf_counter() - t
        result[label] = (n / mine, n / base, mine / base)
        print(f"diagram language, {label}: {n / mine:,.0f}/s through the sandbox, {n / base:,.0f}/s bare "
              f"eval/exec; cost {mine / base:.1f}× ({mine / n * 1e6:.1f} µs against {base / n * 1e6:.1f} µs)", file=out)
    xml = template_path("tolerance").read_text(encoding="utf-8")
    tiers = [(t.code, t.label, t.rank) for t in active_scheme().ordered_tiers()]
    validate_xml(xml)  # start the fork server
    inside, isolated = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        check_xml(xml, tiers)
        inside.append(time.perf_counter() - t)
        t = time.perf_counter()
        validate_xml(xml)
        isolated.append(time.perf_counter() - t)
    a, b = statistics.median(inside), statistics.median(isolated)
    result["validation"] = (a, b, b / a)
    print(f"validating tolerance.bpmn (8 tier runs + 16 varied runs): {b * 1000:.0f} ms isolated (fork-server child "
          f"with limits), {a * 1000:.0f} ms in this process; cost {b / a:.1f}× (median of {repeat})", file=out)
    return result
