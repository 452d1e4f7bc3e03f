"""The application service: the one way cases are created and moved (CLI, portal, admin, API).

Before a process starts it enforces, whatever the diagram says: the credit
check and its snapshot, the negative list, and that the matter is published.
Every change to a case is written in one transaction with its audit rows and
its human-task index; a version counter makes concurrent writers safe: the
second of two completions of one task gets `Conflict` and changes nothing.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import secrets

from plugin.applications.models import (APPROVED, FINAL, IN_REVIEW, REFUSED, REJECTED, RETURNED,
                                        REVOKED, SUBMITTED, ACCEPTED, Application, AuditEntry, HumanTask)
from plugin.calendar import add_working_days
from plugin.catalog.facts import matter_facts
from plugin.catalog.models import MATTER_STATUSES, PUBLISHED
from plugin.catalog.negative_list import closure_for
from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.tiers import active_scheme_info, effective_tier, subject_with_records
from plugin.db import PreparedInsert, database, is_postgres, now, write_transaction
from plugin.engine import forms, runtime
from plugin.engine.definitions import specs
from plugin.engine.scripting import business_now


class ApplicationError(Exception):
    """A refusal a person can read."""


class NotFound(ApplicationError):
    pass


class NotAllowed(ApplicationError):
    pass


class Conflict(ApplicationError):
    """Someone else changed the case first; nothing of this attempt was saved."""


@dataclasses.dataclass(frozen=True)
class Actor:
    kind: str            # staff / applicant / system
    id: str              # username, subject code, or "system"
    role: str | None = None

    def __str__(self):
        return f"{self.kind}:{self.id}" + (f"({self.role})" if self.role else "")

    @classmethod
    def system(cls):
        return cls("system", "system")

    @classmethod
    def applicant(cls, code):
        return cls("applicant", code)

    @classmethod
    def staff(cls, username, role):
        return cls("staff", username, role)


def _number() -> str:
    return f"XYP{business_now():%Y%m%d}{secrets.token_hex(4).upper()}"


def _credit_context(snapshot: dict) -> tuple[dict, int]:
    return snapshot["scheme_ranks"], snapshot["rank"]


def _audit(app, actor, action, from_status=None, to_status=None, **detail) -> dict:
    """An audit row for `app`, to be written with the change it records."""
    return {"application": app.id, "subject": app.subject_id, "actor": str(actor), "action": action,
            "from_status": from_status, "to_status": to_status, "tier_code": app.tier_code,
            "detail": detail, "at": now()}


_insert_audit = PreparedInsert(AuditEntry, ["application", "subject", "actor", "action", "from_status",
                                             "to_status", "tier_code", "detail", "at"])
_insert_application = PreparedInsert(Application, [
    "number", "matter", "subject", "process", "status", "path", "decision", "tier_code", "tier_snapshot",
    "form_data", "refusal_reason", "state", "version", "next_due_at", "promised_days", "due_date",
    "submitted_at", "decided_at", "updated_at"])


def _write_audit(rows: list[dict]) -> None:
    _insert_audit.execute(rows)


def _insert(app: Application) -> None:
    """Insert a new case (and learn its id) without peewee building the statement each time."""
    app.updated_at = now()
    [app.id] = _insert_application.execute([app.__data__])


def _outcome(workflow) -> tuple[str, str | None, str | None, bool]:
    """(status, path, decision, breach) the workflow is in now."""
    data = workflow.last_task.data if workflow.last_task is not None else {}
    path, decision, breach = data.get("path"), data.get("decision"), bool(data.get("breach"))
    if breach:
        return REVOKED, path, decision, True
    if decision == "approved":
        return APPROVED, path, decision, False
    if workflow.completed:
        return {"rejected": REJECTED, "returned": RETURNED}.get(decision, REJECTED), path, decision, False
    return IN_REVIEW, path, decision, False


def _due(workflow) -> _dt.datetime | None:
    times = runtime.timer_due_times(workflow)
    return times[0].astimezone(_dt.timezone.utc).replace(tzinfo=None) if times else None


def _sync_tasks(app, workflow, completed_task_id=None, actor=None, new_case=False):
    """Keep the human-task index in step with the workflow (the caller holds the transaction)."""
    ready = {str(t.id): t for t in runtime.ready_human_tasks(workflow)}
    stamp = now()
    existing = [] if new_case else HumanTask.select().where((HumanTask.application == app)
                                                           & (HumanTask.state == "ready"))
    for row in existing:
        if row.task_id in ready:
            ready.pop(row.task_id)
            continue
        done = row.task_id == completed_task_id
        (HumanTask.update(state="completed" if done else "cancelled", completed_at=stamp,
                          completed_by=str(actor) if done else None)
         .where(HumanTask.id == row.id).execute())
    if ready:
        HumanTask.insert_many([
            {"application": app.id, "task_id": task_id, "element_id": task.task_spec.bpmn_id,
             "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "lane": task.task_spec.lane or "",
             "state": "ready", "created_at": stamp}
            for task_id, task in ready.items()]).execute()


def _apply_outcome(app: Application, workflow, actor, action: str, **detail) -> list[dict]:
    """Move `app` to what the workflow says; return the audit rows that record it."""
    before = app.status
    status, path, decision, breach = _outcome(workflow)
    app.path = path or app.path
    app.decision = decision
    app.status = status
    app.next_due_at = _due(workflow)
    if status in (APPROVED, REJECTED, RETURNED, REVOKED) and app.decided_at is None:
        app.decided_at = now()
    rows = [_audit(app, actor, action, before, status, **detail)]
    if breach and before != REVOKED:
        rows.append(_audit(app, Actor.system(), "breach", before, REVOKED,
                           reason="容缺材料未在期限内补正，构成违约，撤销许可"))
    return rows


def _save(app: Application, workflow, expected_version: int) -> None:
    """Write the case if nobody else has since `expected_version`; else Conflict."""
    state = runtime.dump_state(workflow)
    updated = (Application.update(state=state, version=Application.version + 1, status=app.status,
                                  path=app.path, decision=app.decision, next_due_at=app.next_due_at,
                                  decided_at=app.decided_at, updated_at=now())
               .where((Application.id == app.id) & (Application.version == expected_version))
               .execute())
    if updated != 1:
        raise Conflict(f"办件 {app.number} 已被他人处理（版本 {expected_version} 已过期），本次操作未保存，请刷新后重试")
    app.version = expected_version + 1
    app.state = state


def apply(matter_code: str, applicant_code: str, data: dict | None = None,
          actor: Actor | None = None) -> Application:
    """Submit an application: credit check, negative list, then start the matter's process."""
    try:
        code, _kind = validate_subject_code(applicant_code)
    except InvalidCode as e:
        raise ApplicationError(f"申请人证件号码无效：{e}") from None
    today = business_now().astimezone().date()
    subject, records = subject_with_records(code, today)
    if subject is None:
        raise NotFound(f"申请人 {code} 不在信用主体库中，请先完成身份核验")
    facts = matter_facts(matter_code)
    if facts is None:
        raise NotFound(f"事项 {matter_code} 不存在")
    if facts.status != PUBLISHED:
        raise ApplicationError(f"事项“{facts.name}”未发布（状态：{dict(MATTER_STATUSES)[facts.status]}），暂不受理")
    if facts.process_id is None:
        raise ApplicationError(f"事项“{facts.name}”尚未绑定办理流程，暂不受理")
    actor = actor or Actor.applicant(code)

    scheme = active_scheme_info()
    tier = effective_tier(subject, today, scheme=scheme, records=records)
    snapshot = tier.snapshot()
    promised = facts.promised_days_for(scheme.tier(tier.code).id)
    app = Application(number=_number(), matter=facts.id, subject=subject, process=facts.process_id,
                      status=SUBMITTED, tier_code=tier.code, tier_snapshot=snapshot,
                      form_data=data or {}, promised_days=promised, submitted_at=now())

    closure = closure_for(facts, tier, today)
    if closure is not None:
        app.status = REFUSED
        app.refusal_reason = closure.reason
        app.decided_at = now()
        with write_transaction():
            _insert(app)
            _write_audit([_audit(app, actor, "submitted", None, SUBMITTED),
                          _audit(app, Actor.system(), "refused", SUBMITTED, REFUSED, reason=closure.reason,
                                 negative_list_entry=closure.entry_id, legal_basis=closure.legal_basis)])
        return app

    spec_pair = specs.for_id(facts.process_id)
    workflow = runtime.new_workflow(
        spec_pair,
        {"tier": tier.code, "tier_rank": tier.rank, "blacklisted": tier.blacklisted,
         "has_dishonesty_record": tier.has_dishonesty_record,
         "applicant": {"code": subject.code, "name": subject.name, "kind": subject.kind},
         "matter": facts.context(today)},
        *_credit_context(snapshot))
    try:
        runtime.run_engine(workflow)
    except runtime.EngineError as e:
        raise ApplicationError(f"事项“{facts.name}”的办理流程出错，申请未提交：{e}") from None
    app.due_date = add_working_days(today, promised)
    app.state = runtime.dump_state(workflow)
    rows = [_audit(app, actor, "submitted", None, SUBMITTED)]
    app.status = ACCEPTED
    rows.append(_audit(app, Actor.system(), "accepted", SUBMITTED, ACCEPTED,
                       promised_days=promised, due_date=app.due_date.isoformat()))
    rows += _apply_outcome(app, workflow, Actor.system(), "process_started",
                           process=specs.label(facts.process_id))
    with write_transaction():
        _insert(app)
        for row in rows:
            row["application"] = app.id
        _write_audit(rows)
        _sync_tasks(app, workflow, new_case=True)
    return app


def get(number: str) -> Application:
    app = Application.get_or_none(Application.number == number)
    if app is None:
        raise NotFound(f"办件 {number} 不存在")
    return app


def load_workflow(app: Application):
    if app.state is None:
        raise ApplicationError(f"办件 {app.number} 没有流程状态（{app.status_label}）")
    return runtime.load_state(specs.for_id(app.process_id), app.state, *_credit_context(app.tier_snapshot))


def ready_tasks(app: Application) -> list[dict]:
    """The human tasks the case waits on, with their forms."""
    if app.state is None or app.status in FINAL:
        return []
    workflow = load_workflow(app)
    return [{"id": str(t.id), "element_id": t.task_spec.bpmn_id,
             "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id, "lane": t.task_spec.lane,
             "fields": forms.describe(t.task_spec)} for t in runtime.ready_human_tasks(workflow)]


def _check_actor(app: Application, lane: str, actor: Actor, task_name: str) -> None:
    if lane == "applicant":
        if actor.kind != "applicant" or actor.id != app.subject.code:
            raise NotAllowed(f"“{task_name}”只能由申请人本人办理")
    elif actor.kind != "staff" or actor.role != lane:
        from plugin.engine.validate import LANES
        raise NotAllowed(f"“{task_name}”须由{LANES.get(lane, lane)}办理，当前用户无此权限")


def complete_task(number: str, task_id: str, values: dict, actor: Actor,
                  expected_version: int | None = None) -> Application:
    """Complete a ready human task with form `values` (validated against its formData)."""
    app = get(number)
    if expected_version is not None and expected_version != app.version:
        raise Conflict(f"办件 {app.number} 在您打开表单后已被更新，请刷新后重试（表单版本 {expected_version}，当前 {app.version}）")
    if app.status in FINAL:
        raise ApplicationError(f"办件 {app.number} 已{app.status_label}，不能再办理任务")
    version = app.version
    workflow = load_workflow(app)
    task = runtime.find_ready_task(workflow, task_id)
    if task is None:
        done = HumanTask.get_or_none(HumanTask.task_id == task_id)
        if done is not None and done.state == "completed":
            raise Conflict(f"任务“{done.name}”已由 {done.completed_by} 于 {done.completed_at:%Y-%m-%d %H:%M} 完成")
        raise NotFound(f"办件 {app.number} 当前没有待办任务 {task_id}")
    name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
    _check_actor(app, task.task_spec.lane, actor, name)
    clean = forms.validate(task.task_spec, values)
    real_id = str(task.id)
    try:
        runtime.complete_human_task(workflow, task, clean)
    except runtime.EngineError as e:
        raise ApplicationError(f"办理“{name}”时流程出错，未保存：{e}") from None
    with write_transaction():
        rows = _apply_outcome(app, workflow, actor, "task_completed", task=name,
                              element=task.task_spec.bpmn_id, values=clean)
        _save(app, workflow, version)
        _write_audit(rows)
        _sync_tasks(app, workflow, completed_task_id=real_id, actor=actor)
    return app


@dataclasses.dataclass
class TickReport:
    checked: int = 0
    fired: int = 0
    conflicts: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def _due_query(limit: int, exclude: set[int]):
    query = (Application.select()
             .where(Application.next_due_at.is_null(False) & (Application.next_due_at <= now())
                    & Application.status.not_in(list(FINAL)))
             .order_by(Application.next_due_at).limit(limit))
    return query.where(Application.id.not_in(list(exclude))) if exclude else query


def _fire(app: Application, report: TickReport) -> None:
    """Fire the due timers of one case; the caller holds the transaction."""
    version = app.version
    workflow = load_workflow(app)
    before = runtime.timer_due_times(workflow)
    runtime.fire_timers(workflow)
    if runtime.timer_due_times(workflow) == before:
        return  # nothing was due yet after all
    rows = _apply_outcome(app, workflow, Actor.system(), "timer_fired")
    _save(app, workflow, version)
    _write_audit(rows)
    _sync_tasks(app, workflow)
    report.fired += 1


def tick(limit: int = 100) -> TickReport:
    """Fire every timer that is due. Safe to run from several processes at once: on PostgreSQL
    each ticker locks the rows it takes (SKIP LOCKED, so the others pass them by); everywhere the
    version counter refuses a second firing."""
    report = TickReport()
    seen: set[int] = set()
    while True:
        if is_postgres():
            with database.atomic():
                batch = list(_due_query(limit, seen).for_update("FOR UPDATE SKIP LOCKED"))
                for app in batch:
                    seen.add(app.id)
                    _tick_one(app, report, database.atomic)
        else:
            batch = list(_due_query(limit, seen))
            for app in batch:
                seen.add(app.id)
                _tick_one(app, report, write_transaction)
        if len(batch) < limit:
            return report


def _tick_one(app: Application, report: TickReport, transaction) -> None:
    report.checked += 1
    try:
        with transaction():
            _fire(app, report)
    except Conflict:
        report.conflicts += 1
    except (runtime.EngineError, ApplicationError) as e:
        report.errors.append(f"{app.number}: {e}")


def timeline(app: Application) -> list[dict]:
    return [{"at": a.at.isoformat(sep=" ", timespec="seconds"), "actor": a.actor, "action": a.action,
             "from": a.from_status, "to": a.to_status, "detail": a.detail}
            for a in app.audit.order_by(AuditEntry.at, AuditEntry.id)]
