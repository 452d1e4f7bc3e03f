"""The `xinyipi` command line (also `flask xinyipi …` in a host app)."""
from __future__ import annotations

import datetime as _dt
import json
import sys
import warnings

import click
from flask.cli import AppGroup, ScriptInfo

from plugin import clock

cli = AppGroup("xinyipi", help="信易批 xinyipi: credit-tiered approval on SpiffWorkflow.")


def fail(message: str, code: int = 1):
    click.secho(message, fg="red", err=True)
    sys.exit(code)


def _show_warnings(caught):
    for w in caught:
        click.secho(f"warning: {w.message}", fg="yellow", err=True)


@cli.command("init")
def init_command():
    """Create or upgrade the database schema (idempotent). On a database without staff accounts,
    create the system administrator `sysadmin` and print its generated password, once."""
    from plugin.accounts import FIRST_SYSADMIN, create_first_sysadmin
    from plugin.migrations import migrate
    applied = migrate()
    click.echo("applied: " + ", ".join(applied) if applied else "schema is up to date")
    password = create_first_sysadmin()
    if password is not None:
        click.echo(f"created the system administrator account {FIRST_SYSADMIN!r} (系统管理员); its password, "
                   f"shown only now and stored only as a hash:")
        click.echo(f"    {password}")
        click.echo("sign in at /admin/login and change it (系统 → 工作人员)；此密码仅显示这一次，请立即登录并修改。")


@cli.command("seed")
@click.option("--demo-staff", is_flag=True,
              help="also create the demo staff accounts, one per role, with the published password "
                   "xinyipi-demo (never on a production database)")
@click.option("--demo-cases", is_flag=True,
              help="also make demo cases through the real service (only into a database without cases); "
                   "implies --demo-staff")
def seed_command(demo_staff, demo_cases):
    """Load the seed catalog, tier schemes and demo subjects (idempotent); demo staff and cases on request."""
    from plugin.migrations import migrate
    from seeds.loader import load_all
    migrate()
    summary = load_all(demo_staff=demo_staff or demo_cases)
    if demo_cases:
        from seeds.cases import load_demo_cases
        summary.update(load_demo_cases())
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


def _check_utf8(path: str) -> None:
    """Refuse a file that is not UTF-8 before a single row is written."""
    import codecs
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                line += chunk[:e.start].count(b"\n")
                fail(f"{path}: 第 {line} 行不是 UTF-8 编码（可能是 GBK/GB18030 导出）；"
                     f"请另存为 UTF-8 后重试 (file is not UTF-8 text)")
            line += chunk.count(b"\n")


def _import(kind: str, path: str, fmt: str | None, report_path: str | None = None):
    from plugin.credit.importer import import_dishonesty, import_subjects
    try:
        if path != "-":
            _check_utf8(path)
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    with stream:
        report = (import_subjects if kind == "subjects" else import_dishonesty)(stream, fmt=fmt)
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(f"imported {report.imported} row(s), {len(report.errors)} bad row(s)")
    if report_path:
        with open(report_path, "w", encoding="utf-8", newline="") as f:
            f.write(report.to_csv())
        click.echo(f"wrote the bad rows to {report_path}", err=True)
    if report.errors:
        sys.exit(1)


REPORT_OPTION = click.option("--report", "report_path", default=None,
                             help="also write the bad rows (line, reason) to this CSV file")


@cli.command("import-subjects")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
              help="default: detected from the first line")
@REPORT_OPTION
def import_subjects_command(path, fmt, report_path):
    """Upsert credit subjects from CSV (code,name,tier[,contact_email][,contact_phone]) or JSON lines."""
    _import("subjects", path, fmt, report_path)


@cli.command("import-dishonesty")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None)
@REPORT_OPTION
def import_dishonesty_command(path, fmt, report_path):
    """Add dishonesty records from CSV (code,severity,reason,authority,start,end) or JSON lines."""
    _import("dishonesty", path, fmt, report_path)


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
    import peewee

    from plugin import create_app
    from plugin.credit.tiers import NoActiveScheme
    try:
        cli.main(args=argv, prog_name="xinyipi", obj=ScriptInfo(create_app=lambda: create_app()),
                 standalone_mode=True)
    except NoActiveScheme as e:
        fail(str(e))
    except (peewee.OperationalError, peewee.ProgrammingError) as e:
        text = str(e)
        if "no such table" in text or "does not exist" in text:
            fail(f"数据库尚未初始化（{text.splitlines()[0]}）：请先运行 xinyipi init（和 xinyipi seed）")
        raise


process = AppGroup("process", help="Validate and publish BPMN diagrams.")
cli.add_command(process)


def _read_diagram(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{path}: 不是 UTF-8 编码的文本文件，不是 BPMN 文件")


@process.command("validate")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
def process_validate_command(path, as_json):
    """Check a diagram and dry-run it once per tier of the active scheme."""
    from plugin.engine.validate import validate_xml
    report = validate_xml(_read_diagram(path), filename=path)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        sys.exit(1)


@process.command("publish")
@click.argument("path")
@click.option("--matter", "matter_code", help="bind the new version to this matter")
@click.option("--publisher", default="cli", show_default=True)
def process_publish_command(path, matter_code, publisher):
    """Validate and store a new version of a diagram (running cases keep theirs)."""
    from plugin.catalog.models import Matter
    from plugin.engine.publish import PublishRefused, publish
    matter = None
    if matter_code:
        matter = Matter.get_or_none(Matter.code == matter_code)
        if matter is None:
            fail(f"matter {matter_code} does not exist（事项不存在）")
    try:
        definition = publish(_read_diagram(path), source=path, publisher=publisher, matter=matter)
    except PublishRefused as e:
        for line in e.report.lines():
            click.echo(line, err=True)
        sys.exit(1)
    click.echo(f"published {definition.key} v{definition.version}"
               + (f", bound to {matter.code} {matter.name}" if matter else ""))


def _print_case(app):
    from plugin.applications import service
    click.echo(f"{app.number}  {app.matter.name}  申请人 {app.subject.name}（{app.subject.code}）")
    click.echo(f"status: {app.status} {app.status_label}  path: {app.path or '-'}  decision: {app.decision or '-'}"
               f"  tier: {app.tier_code}  version: {app.version}")
    if app.refusal_reason:
        click.echo(f"refused: {app.refusal_reason}")
    if app.due_date:
        click.echo(f"promised: {app.promised_days} working days, due {app.due_date.isoformat()}")
    if app.next_due_at:
        click.echo(f"next timer (UTC): {app.next_due_at.isoformat(sep=' ', timespec='seconds')}")
    for task in service.ready_tasks(app):
        fields = ", ".join(f"{f['id']}:{f['type']}{'*' if f['required'] else ''}" for f in task["fields"])
        click.echo(f"task {task['id']} [{task['lane']}] {task['name']}  fields: {fields or '-'}")


def _parse_json(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"--data is not valid JSON: {e.msg} (column {e.colno})")
    if not isinstance(value, dict):
        fail("--data must be a JSON object")
    return value


@cli.command("apply")
@click.option("--matter", "matter_code", required=True)
@click.option("--applicant", "applicant_code", required=True)
@click.option("--data", "data", default=None, help="application form data as a JSON object")
def apply_command(matter_code, applicant_code, data):
    """Apply for a matter as an applicant: credit check, negative list, start the process."""
    from plugin.applications import service
    try:
        app = service.apply(matter_code, applicant_code, _parse_json(data))
    except service.ApplicationError as e:
        fail(str(e))
    _print_case(app)
    if app.status == "refused":
        sys.exit(3)


@cli.command("case")
@click.argument("number")
@click.option("--timeline", is_flag=True, help="also print the audit trail")
def case_command(number, timeline):
    """Show a case, the tasks it waits on, and optionally its timeline."""
    from plugin.applications import service
    try:
        app = service.get(number)
    except service.ApplicationError as e:
        fail(str(e))
    _print_case(app)
    if timeline:
        for row in service.timeline(app):
            click.echo(f"  {row['at']}  {row['actor']}  {row['action']}  {row['from'] or ''}→{row['to'] or ''}")


@cli.command("complete")
@click.argument("number")
@click.argument("task_id")
@click.option("--as", "who", required=True,
              help="staff username (acts in their role) or the applicant's code")
@click.option("--data", "data", default=None, help="form values as a JSON object")
@click.option("--version", "expected_version", type=int, default=None,
              help="refuse if the case changed since this version")
def complete_command(number, task_id, who, data, expected_version):
    """Complete a human task of a case with its form values."""
    from plugin.accounts import StaffUser
    from plugin.applications import service
    from plugin.engine.forms import FormErrors
    user = StaffUser.get_or_none(StaffUser.username == who)
    actor = service.Actor.staff(user.username, user.role) if user else service.Actor.applicant(who.upper())
    try:
        app = service.complete_task(number, task_id, _parse_json(data), actor, expected_version)
    except FormErrors as e:
        for field, message in e.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(2)
    except service.Conflict as e:
        fail(str(e), code=4)
    except service.ApplicationError as e:
        fail(str(e))
    _print_case(app)


def _sweep_uploads():
    """Delete the uploaded files no case refers to any more, past the grace period."""
    from flask import current_app

    from plugin.applications.materials import sweep_unreferenced
    return sweep_unreferenced(current_app.config["XINYIPI_UPLOAD_DIR"],
                              current_app.config["XINYIPI_UPLOAD_GRACE_HOURS"])


@cli.command("tick")
def tick_command():
    """Fire the timers that are due, and sweep unreferenced uploads (run from cron, or use `xinyipi worker`)."""
    from plugin.applications import service
    report = service.tick()
    click.echo(f"checked {report.checked}, fired {report.fired}, revoked for breach {report.revoked}, "
               f"conflicts {report.conflicts}, errors {len(report.errors)}")
    swept = _sweep_uploads()
    click.echo(f"uploads: removed {swept.removed} unreferenced file(s) ({swept.freed} bytes), kept {swept.kept}")
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors:
        sys.exit(1)


@cli.command("sample")
@click.option("--matter", "matter_code", default=None, help="draw among this matter's approved cases")
@click.option("--all", "all_matters", is_flag=True, help="draw among the approved cases of every matter")
@click.option("--date", "on", default=None, help="the draw's reference day, YYYY-MM-DD (required to draw)")
@click.option("--by", "actor", default="cli", show_default=True, help="who draws or previews (recorded)")
@click.option("--dry-run", is_flag=True, help="show the draw without making it (the preview is audited)")
@click.option("--replay", "replay_id", type=int, default=None, help="draw a recorded draw again from its seed and check it")
def sample_command(matter_code, all_matters, on, actor, dry_run, replay_id):
    """Random inspection (双随机): draw approved cases by their tier's inspection ratio and assign
    inspectors at random from the active supervisors, reproducibly from a recorded seed.

    The seed is always the system's (there is no --seed: a chosen seed would let one pick the
    cases); --replay checks a recorded draw from its recorded seed, population and pool."""
    from plugin.supervision import service
    from plugin.supervision.models import InspectionDraw, SupervisionItem
    if replay_id is not None:
        from plugin.urls import row_id
        record = InspectionDraw.get_or_none(InspectionDraw.id == replay_id) if row_id(replay_id) is not None else None
        if record is None:
            fail(f"抽取批次 {replay_id} 不存在")
        again = [(d.application_id, d.inspector) for d in service.replay(record)]
        stored = [(i.application_id, i.assignee) for i in
                  SupervisionItem.select().where(SupervisionItem.draw == record).order_by(SupervisionItem.id)]
        click.echo(f"draw {record.id}: seed {record.seed}, {record.population_count} in range, "
                   f"{record.drawn_count} drawn; replayed: {'same' if sorted(again) == sorted(stored) else 'DIFFERENT'}")
        if sorted(again) != sorted(stored):
            sys.exit(1)
        return
    if bool(matter_code) == bool(all_matters):
        fail("give either --matter CODE or --all")
    if not on:
        fail("give the draw's reference day: --date YYYY-MM-DD")
    try:
        day = _dt.date.fromisoformat(on)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {on!r}")
    try:
        if dry_run:
            plan, _preview_id = service.preview(matter_code, day, actor)
            drawn, seed_used, record_id = plan.drawn, plan.seed, None
        else:
            record = service.draw(matter_code, day, actor)
            drawn, seed_used, record_id = service.replay(record), record.seed, record.id
            plan = service.DrawPlan(record.matter_code, record.on_date, record.seed, record.scheme, record.ratios,
                                    record.population, record.inspectors, drawn)
    except service.SupervisionError as e:
        fail(str(e))
    from plugin.applications.models import Application
    numbers = {a.id: a.number for a in Application.select(Application.id, Application.number)
               .where(Application.id.in_([d.application_id for d in drawn]))}
    click.echo(f"{'dry run' if dry_run else f'draw {record_id}'}: seed {seed_used}, scope "
               f"{matter_code or 'all matters'}, date {day.isoformat()}")
    for row in plan.counts():
        click.echo(f"  tier {row['tier']}: ratio {row['ratio']:.2%}, {row['population']} in range, {row['drawn']} drawn")
    for d in drawn:
        click.echo(f"  {numbers.get(d.application_id, d.application_id)}  tier {d.tier}  inspector {d.inspector}")


@cli.command("archive")
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", "-o", default="-", help="file to write (default: standard output)")
def archive_command(code, fmt, output):
    """A subject's credit archive (信用档案) for the credit platform, as JSON or CSV."""
    from plugin.credit import archive as credit_archive
    try:
        data = credit_archive.archive(code)
    except credit_archive.InvalidCode as e:
        fail(f"证件号码无效：{e}")
    except credit_archive.ArchiveNotFound as e:
        fail(str(e))
    text = credit_archive.to_json(data) if fmt == "json" else credit_archive.to_csv(data)
    if output == "-":
        click.echo(text.lstrip("\ufeff"), nl=False)
    else:
        with open(output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        click.echo(f"wrote {output}: {len(data['events'])} events", err=True)


SWEEP_EVERY = 3600   # seconds between sweeps of the upload directory in `xinyipi worker`


@cli.command("worker")
@click.option("--interval", default=30.0, show_default=True, help="seconds between ticks")
@click.option("--once", is_flag=True, help="tick once and exit")
def worker_command(interval, once):
    """Tick on a schedule until stopped."""
    import time

    from plugin.applications import service
    from plugin.db import database
    swept_at = 0.0
    while True:
        report = service.tick()
        if report.fired or report.errors:
            click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} fired {report.fired}, errors {len(report.errors)}")
        if time.monotonic() - swept_at > SWEEP_EVERY or once:      # a directory walk: hourly is enough
            swept, swept_at = _sweep_uploads(), time.monotonic()
            if swept.removed:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} removed {swept.removed} unreferenced upload(s)")
        for error in report.errors:
            click.echo(error, err=True)
        if once:
            return
        database.close()
        time.sleep(interval)


@cli.group("account")
def account_group():
    """Applicant accounts (申请人账号) and binding requests: each change audited as done by --by."""


def _account(code: str):
    from plugin.identity import accounts
    try:
        return accounts.get(code)
    except accounts.AccountError as e:
        fail(str(e))


BY = click.option("--by", "by", default="cli", show_default=True, help="who does it (recorded in the audit log)")


@account_group.command("list")
@click.option("--unverified", is_flag=True, help="only accounts whose identity is not verified")
@click.option("--disabled", is_flag=True, help="only disabled accounts")
def account_list(unverified, disabled):
    """One account a line: code, state, verified, name."""
    from plugin.credit.models import Subject
    from plugin.identity.models import ApplicantAccount
    query = ApplicantAccount.select(ApplicantAccount, Subject).join(Subject).order_by(ApplicantAccount.code)
    if unverified:
        query = query.where(ApplicantAccount.verified_at.is_null())
    if disabled:
        query = query.where(ApplicantAccount.active == False)  # noqa: E712
    for a in query:
        state = "active" if a.active else "disabled"
        verified = f"verified:{a.verified_via}" if a.verified_at else "unverified"
        click.echo(f"{a.code}  {state}  {verified}  {a.subject.name}")


@account_group.command("disable")
@click.argument("code")
@click.option("--reason", default="")
@BY
def account_disable(code, reason, by):
    """Disable an account: it cannot sign in, its sessions end at once."""
    from plugin.identity import accounts
    ended = accounts.disable(_account(code), f"cli:{by}", reason)
    click.echo(f"disabled {code.upper()}, {ended} session(s) ended")


@account_group.command("enable")
@click.argument("code")
@BY
def account_enable(code, by):
    from plugin.identity import accounts
    accounts.enable(_account(code), f"cli:{by}")
    click.echo(f"enabled {code.upper()}")


@account_group.command("unbind")
@click.argument("code")
@click.option("--reason", default="")
@BY
def account_unbind(code, reason, by):
    """Delete the account (the subject and its cases stay); the code may be bound again, with proof."""
    from plugin.identity import accounts
    ended = accounts.unbind(_account(code), f"cli:{by}", reason)
    click.echo(f"unbound {code.upper()}, {ended} session(s) ended")


@account_group.command("reset")
@click.argument("code")
@BY
def account_reset(code, by):
    """A temporary password (printed once), locks cleared, sessions ended; a new password is due at sign-in."""
    from plugin.identity import accounts
    temporary = accounts.reset(_account(code), f"cli:{by}")
    click.echo(f"temporary password for {code.upper()}: {temporary}")


@account_group.command("verify")
@click.argument("code")
@click.option("--note", default="", help="what was checked (e.g. the papers seen)")
@BY
def account_verify(code, note, by):
    """Staff checked the applicant's papers: the account may take commitment and tolerance paths."""
    from plugin.identity import accounts
    done = accounts.verify(_account(code), f"cli:{by}", note)
    click.echo(f"verified {code.upper()}" if done else f"{code.upper()} was verified already")


@account_group.command("bindings")
@click.option("--all", "everything", is_flag=True, help="also those already decided")
def account_bindings(everything):
    """Binding requests waiting (for an activation code or a staff review)."""
    from plugin.identity import binding
    from plugin.identity.models import BindingRequest
    query = BindingRequest.select().order_by(BindingRequest.id)
    if not everything:
        query = query.where(BindingRequest.status.in_(binding.OPEN))
    for r in query:
        click.echo(f"{r.id}  {r.code}  {r.status}  {r.name}  {r.created_at:%Y-%m-%d %H:%M}  {r.contact or '-'}")


@account_group.command("approve")
@click.argument("request_id", type=int)
@BY
def account_approve(request_id, by):
    """A staff review found the requester to be the subject: bind the account (its contact is told)."""
    from plugin.identity import binding
    try:
        account = binding.approve(request_id, f"cli:{by}")
    except binding.Refused as e:
        fail(str(e))
    click.echo(f"bound {account.code}")


@account_group.command("reject")
@click.argument("request_id", type=int)
@click.option("--reason", default="", help="told to the requester")
@BY
def account_reject(request_id, reason, by):
    from plugin.identity import binding
    try:
        binding.reject(request_id, f"cli:{by}", reason)
    except binding.Refused as e:
        fail(str(e))
    click.echo(f"rejected binding request {request_id}")


@cli.group("translations")
def translations_group():
    """Keep the message catalogs (source strings are Chinese; translations/en is English)."""


@translations_group.command("update")
def translations_update():
    """Merge new strings from the code, templates and models into the English catalog."""
    from plugin.messages import update_catalogs
    summary = update_catalogs()
    click.echo(f"messages: {summary['messages']}, untranslated: {summary['untranslated']}")


@translations_group.command("compile")
def translations_compile():
    """Compile every catalog (.po → .mo)."""
    from plugin.messages import compile_catalogs
    for name in compile_catalogs():
        click.echo(f"compiled {name}")


@cli.command("bench")
@click.option("--n", "n", default=2000, show_default=True, help="instant approvals to time")
@click.option("--postgres", "postgres_url", default=None,
              help="also run on PostgreSQL (a scratch database is created on this server)")
@click.option("--import-rows", default=0, show_default=True,
              help="also time importing this many subject rows (e.g. 1000000)")
@click.option("--admin-subjects", default=0, show_default=True,
              help="time the admin's list pages with this many subjects loaded (e.g. 1000000)")
@click.option("--admin-matters", default=3000, show_default=True, help="… and this many matters")
@click.option("--repeat", default=20, show_default=True, help="requests timed per admin page")
@click.option("--draw-cases", default=0, show_default=True,
              help="time a random inspection drawn over this many approved cases (e.g. 100000)")
@click.option("--language", "language", default=0, show_default=True,
              help="time this many evaluations through the diagram language's sandbox, and isolated validation")
def bench_command(n, postgres_url, import_rows, admin_subjects, admin_matters, repeat, draw_cases, language):
    """Benchmarks, each against a baseline run in the same process (see BENCHMARKS.md)."""
    # the benchmarks are not part of the running product: imported only when asked for
    from benchmarks.service import instant_approvals, scratch_database, subject_import
    for url in [None] + ([postgres_url] if postgres_url else []):
        with scratch_database(url) as backend:
            if n:
                instant_approvals(n, backend, sys.stdout)
            if import_rows:
                subject_import(import_rows, backend, sys.stdout)
            if draw_cases:
                from benchmarks.service import inspection_draw
                inspection_draw(draw_cases, backend, sys.stdout)
            if language and url is None:
                from benchmarks.service import diagram_language
                diagram_language(language, sys.stdout)
            if admin_subjects:
                from benchmarks import admin as admin_bench
                from plugin import create_app
                from plugin.db import database
                admin_bench.load(admin_subjects, admin_matters, sys.stdout)
                app = create_app({"XINYIPI_DATABASE_URL": database.obj.xinyipi_url, "WTF_CSRF_ENABLED": False,
                                  "XINYIPI_SECRET_KEY": "bench"})
                click.echo(f"admin pages {backend}, server time over {repeat} requests each:")
                admin_bench.pages(app, repeat, sys.stdout)
