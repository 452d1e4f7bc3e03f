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
from plugin.catalog.models import MATTER_STATUSES, PUBLISHED, Matter
from plugin.catalog.negative_list import is_closed_to, is_on_negative_list
from plugin.catalog.requirements import supplement_days
from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import Subject, Tier
from plugin.credit.tiers import active_scheme, effective_tier
from plugin.db import database, is_postgres, now, write_transaction
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


def matter_context(matter: Matter) -> dict:
    return {"code": matter.code, "name": matter.name, "legal_days": matter.legal_days,
            "promised_days": matter.promised_days, "major_project": matter.major_project,
            "negative_list": is_on_negative_list(matter), "supplement_days": supplement_days(matter)}


def _credit_context(snapshot: dict) -> tuple[dict, int]:
    return snapshot["scheme_ranks"], snapshot["rank"]


def _audit(app, actor, action, from_status=None, to_status=None, **detail):
    AuditEntry.create(application=app, subject=app.subject_id, actor=str(actor), action=action,
                      from_status=from_status, to_status=to_status, tier_code=app.tier_code, detail=detail)


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


def _sync_tasks(app, workflow, completed_task_id=None, actor=None):
    ready = {str(t.id): t for t in runtime.ready_human_tasks(workflow)}
    stamp = now()
    for row in HumanTask.select().where((HumanTask.application == app) & (HumanTask.state == "ready")):
        if row.task_id in ready:
            ready.pop(row.task_id)
            continue
        done = row.task_id == completed_task_id
        (HumanTask.update(state="completed" if done else "cancelled", completed_at=stamp,
                          completed_by=str(actor) if done else None)
         .where(HumanTask.id == row.id).execute())
    for task_id, task in ready.items():
        HumanTask.create(application=app, task_id=task_id, element_id=task.task_spec.bpmn_id,
                         name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                         lane=task.task_spec.lane or "", state="ready", created_at=stamp)


def _apply_outcome(app: Application, workflow, actor, action: str, **detail) -> None:
    """Move `app` to what the workflow says, with audit rows; caller holds the transaction."""
    before = app.status
    status, path, decision, breach = _outcome(workflow)
    app.path = path or app.path
    app.decision = decision
    app.status = status
    app.next_due_at = _due(workflow)
    if status in (APPROVED, REJECTED, RETURNED) and app.decided_at is None:
        app.decided_at = now()
    _audit(app, actor, action, before, status, **detail)
    if breach and before != REVOKED:
        _audit(app, Actor.system(), "breach", before, REVOKED,
               reason="容缺材料未在期限内补正，构成违约，撤销许可")


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
    subject = Subject.get_or_none(Subject.code == code)
    if subject is None:
        raise NotFound(f"申请人 {code} 不在信用主体库中，请先完成身份核验")
    matter = Matter.get_or_none(Matter.code == matter_code)
    if matter is None:
        raise NotFound(f"事项 {matter_code} 不存在")
    if matter.status != PUBLISHED:
        raise ApplicationError(f"事项“{matter.name}”未发布（状态：{dict(MATTER_STATUSES)[matter.status]}），暂不受理")
    definition = matter.process
    if definition is None:
        raise ApplicationError(f"事项“{matter.name}”尚未绑定办理流程，暂不受理")
    actor = actor or Actor.applicant(code)

    scheme = active_scheme()
    tier = effective_tier(subject, scheme=scheme)
    snapshot = tier.snapshot()
    snapshot["scheme_ranks"] = {t.code: t.rank for t in scheme.tiers.select(Tier.code, Tier.rank)}
    promised = matter.promised_days_for(tier.code)
    today = business_now().astimezone().date()
    closure = is_closed_to(matter, subject, tier=tier)

    app = Application(number=_number(), matter=matter, subject=subject, process=definition,
                      status=SUBMITTED, tier_code=tier.code, tier_snapshot=snapshot,
                      form_data=data or {}, promised_days=promised, submitted_at=now())
    if closure is not None:
        with write_transaction():
            app.status = REFUSED
            app.refusal_reason = closure.reason
            app.save(force_insert=True)
            _audit(app, actor, "submitted", None, SUBMITTED, credit=snapshot)
            _audit(app, Actor.system(), "refused", SUBMITTED, REFUSED, reason=closure.reason,
                   negative_list_entry=closure.entry_id, legal_basis=closure.legal_basis)
        return app

    workflow = runtime.new_workflow(
        specs.get(definition),
        {"tier": tier.code, "tier_rank": tier.rank, "blacklisted": tier.blacklisted,
         "has_dishonesty_record": tier.has_dishonesty_record,
         "applicant": {"code": subject.code, "name": subject.name, "kind": subject.kind},
         "matter": matter_context(matter)},
        *_credit_context(snapshot))
    try:
        runtime.run_engine(workflow)
    except runtime.EngineError as e:
        raise ApplicationError(f"事项“{matter.name}”的办理流程出错，申请未提交：{e}") from None
    app.due_date = add_working_days(today, promised)
    with write_transaction():
        app.state = runtime.dump_state(workflow)
        app.status = ACCEPTED
        app.save(force_insert=True)
        _audit(app, actor, "submitted", None, SUBMITTED, credit=snapshot)
        _audit(app, Actor.system(), "accepted", SUBMITTED, ACCEPTED,
               promised_days=promised, due_date=app.due_date.isoformat())
        _apply_outcome(app, workflow, Actor.system(), "process_started",
                       process=f"{definition.key} v{definition.version}")
        app.save()
        _sync_tasks(app, workflow)
    return app


def get(number: str) -> Application:
    app = Application.get_or_none(Application.number == number)
    if app is None:
        raise NotFound(f"办件 {number} 不存在")
    return app


def load_workflow(app: Application):
    if app.state is None:
        raise ApplicationError(f"办件 {app.number} 没有流程状态（{app.status_label}）")
    return runtime.load_state(specs.get(app.process), app.state, *_credit_context(app.tier_snapshot))


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
        _apply_outcome(app, workflow, actor, "task_completed", task=name, element=task.task_spec.bpmn_id,
                       values=clean)
        _save(app, workflow, version)
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
    _apply_outcome(app, workflow, Actor.system(), "timer_fired")
    _save(app, workflow, version)
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
