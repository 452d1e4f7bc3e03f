"""The `xinyipi` command line (also `flask xinyipi …` in a host app)."""
from __future__ import annotations

import datetime as _dt
import json
import sys
import warnings

import click
from flask.cli import AppGroup, ScriptInfo

cli = AppGroup("xinyipi", help="信易批 xinyipi: credit-tiered approval on SpiffWorkflow.")


def fail(message: str, code: int = 1):
    click.secho(message, fg="red", err=True)
    sys.exit(code)


def _show_warnings(caught):
    for w in caught:
        click.secho(f"warning: {w.message}", fg="yellow", err=True)


@cli.command("init")
def init_command():
    """Create or upgrade the database schema (idempotent)."""
    from plugin.migrations import migrate
    applied = migrate()
    click.echo("applied: " + ", ".join(applied) if applied else "schema is up to date")


@cli.command("seed")
def seed_command():
    """Load the seed catalog, tier schemes, demo subjects and staff (idempotent)."""
    from plugin.migrations import migrate
    from seeds.loader import load_all
    migrate()
    summary = load_all()
    for key, value in summary.items():
        click.echo(f"{key}: {value}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve_command(host, port, workers):
    """Serve the standalone app with gunicorn."""
    from gunicorn.app.wsgiapp import run
    sys.argv = ["gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
                "--access-logfile", "-", "plugin:create_app()"]
    run()


def _import(kind: str, path: str, fmt: str | None):
    from plugin.credit.importer import import_dishonesty, import_subjects
    try:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    with stream:
        report = (import_subjects if kind == "subjects" else import_dishonesty)(stream, fmt=fmt)
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(f"imported {report.imported} row(s), {len(report.errors)} bad row(s)")
    if report.errors:
        sys.exit(1)


@cli.command("import-subjects")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
              help="default: detected from the first line")
def import_subjects_command(path, fmt):
    """Upsert credit subjects from CSV (code,name,tier) or JSON lines."""
    _import("subjects", path, fmt)


@cli.command("import-dishonesty")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None)
def import_dishonesty_command(path, fmt):
    """Add dishonesty records from CSV (code,severity,reason,authority,start,end) or JSON lines."""
    _import("dishonesty", path, fmt)


@cli.command("subject")
@click.argument("code")
def subject_command(code):
    """Show a subject, its imported and effective tier, and why."""
    from plugin.credit.codes import InvalidCode, validate_subject_code
    from plugin.credit.models import Subject
    from plugin.credit.tiers import effective_tier
    try:
        code, kind = validate_subject_code(code)
    except InvalidCode as e:
        fail(f"invalid code: {e}")
    subject = Subject.get_or_none(Subject.code == code)
    if subject is None:
        fail(f"subject {code} is not in the register（信用主体不存在）")
    tier = effective_tier(subject)
    click.echo(f"{subject.name}  {subject.code}  ({'自然人' if kind == 'person' else '法人和其他组织'})")
    click.echo(f"imported tier: {subject.tier.label + ' (' + subject.tier.code + ')' if subject.tier else '—'}"
               f"  source: {subject.source or '—'}  updated: {tier.updated_at or '—'}")
    click.echo(f"effective tier: {tier.label} ({tier.code})  scheme: {tier.scheme}"
               f"{'  BLACKLISTED 严重失信主体' if tier.blacklisted else ''}")
    for reason in tier.reasons:
        click.echo(f"  - {reason}")
    for r in tier.records:
        click.echo(f"  record #{r['id']} {r['severity']} {r['start']}–{r['end'] or ''} "
                   f"{r['authority']}: {r['reason']}")


@cli.command("matters")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
def matters_command(as_json):
    """List the matter catalog, one matter a line."""
    from plugin.catalog import Matter, is_on_negative_list
    for m in Matter.select().order_by(Matter.department, Matter.code):
        neg = is_on_negative_list(m)
        if as_json:
            click.echo(json.dumps({"code": m.code, "name": m.name, "department": m.department,
                                   "legal_days": m.legal_days, "promised_days": m.promised_days,
                                   "negative_list": neg, "process": str(m.process) if m.process else None,
                                   "status": m.status}, ensure_ascii=False))
        else:
            click.echo(f"{m.code}\t{m.name}\t{m.department}\t法定{m.legal_days}/承诺{m.promised_days}工作日"
                       f"\t{'负面清单' if neg else '-'}\t{m.process or '未绑定流程'}")


@cli.command("workdays")
@click.argument("start")
@click.argument("n", type=int)
def workdays_command(start, n):
    """Print the date N statutory working days after START (YYYY-MM-DD)."""
    from plugin.calendar import add_working_days
    try:
        day = _dt.date.fromisoformat(start)
    except ValueError:
        fail(f"{start!r} is not a date (YYYY-MM-DD)")
    if n < 0:
        fail("N must be 0 or more")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = add_working_days(day, n)
    _show_warnings(caught)
    click.echo(result.isoformat())


def main(argv=None):
    """Console script entry point: the `xinyipi` group on the standalone app."""
    from plugin import create_app
    cli.main(args=argv, prog_name="xinyipi", obj=ScriptInfo(create_app=lambda: create_app()))
