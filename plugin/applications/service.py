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

from plugin import clock
from plugin.applications import incidents
from plugin.applications import materials as _materials
from plugin.applications.models import (APPROVED, DRAFT, FINAL, IN_REVIEW, REFUSED, REJECTED, RETURNED,
                                        REVOKED, SUBMITTED, ACCEPTED, Application, AuditEntry, HumanTask)
from plugin.applications.vocabulary import PATH_DESCRIPTIONS
from plugin.calendar import add_working_days
from plugin.catalog.facts import matter_facts
from plugin.catalog.models import MATTER_STATUSES, PUBLISHED
from plugin.catalog.negative_list import closure_for
from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.tiers import active_scheme_info, effective_tier, subject_with_records
from plugin.db import PreparedInsert, database, is_postgres, now, write_transaction
from plugin.engine import forms, runtime
from plugin.engine.definitions import DiagramError, specs


class ApplicationError(Exception):
    """A refusal a person can read."""


class NotFound(ApplicationError):
    pass


class NotAllowed(ApplicationError):
    pass


class Conflict(ApplicationError):
    """Someone else changed the case first; nothing of this attempt was saved."""


class Unverified(ApplicationError):
    """The applicant's identity is not verified, and the case would take a path that needs it."""


def _check_identity(subject, path: str | None) -> None:
    """An applicant whose identity is not verified (a self-registered code) cannot take the
    commitment (告知承诺) or tolerance (容缺受理) paths: both let them act on their word. Refused with
    nothing saved, whatever the diagram decided."""
    from plugin.identity.accounts import restricted
    if restricted(subject, path):
        from plugin.i18n import _
        names = {"commitment": _("告知承诺"), "tolerance": _("容缺受理")}
        raise Unverified(_("您的身份尚未核验（自主注册的证件号码），不能适用%(path)s，本次申请未提交，已填写的内容和材料均已保存。"
                           "请携带营业执照或身份证到办事窗口核验身份，或通过统一身份认证登录后再提交。",
                           path=names.get(path, path)))


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
    return f"XYP{clock.now():%Y%m%d}{secrets.token_hex(4).upper()}"


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
        rows.append(_audit(app, Actor.system(), "breach", before, REVOKED, reason=SUPPLEMENT_BREACH))
    return rows


SUPPLEMENT_BREACH = "容缺材料未在期限内补正，构成违约，撤销许可"


def _breach(app: Application, cause: str, reason: str, actor: Actor, severity: str | None = None) -> list[dict]:
    """What a breach costs, for a case just moved to REVOKED (the caller's transaction): the
    revocation's time and reason on the case, a dishonesty record, the tier recomputed."""
    from plugin.credit.changes import record_breach
    from plugin.credit.models import SEVERE
    from plugin.supervision.service import cancel_open_items
    app.revoked_at = app.revoked_at or now()
    app.revocation_reason = reason
    record, change = record_breach(app.subject, _today(), reason, app.number, cause, str(actor), severity or SEVERE)
    cancel_open_items(app, f"办件已撤销：{reason}")
    rows = [_audit(app, actor, "dishonesty_recorded", record=record.id, severity=record.severity, reason=reason)]
    if change is not None:
        rows.append(_audit(app, actor, "tier_changed", scheme=change.scheme, from_tier=change.from_code,
                           to_tier=change.to_code, blacklisted=change.to_blacklisted, cause="breach"))
    return rows


def _consequences(app: Application, workflow, before: str, actor: Actor) -> list[dict]:
    """What follows from the case's new status beyond the case itself (the caller's transaction):
    a breach records dishonesty; an approved notification-commitment opens its verification; an
    approved credit repair repairs the records it named."""
    if app.status == before:
        return []
    if app.status == REVOKED:
        return _breach(app, "supplement", SUPPLEMENT_BREACH, Actor.system())
    if app.status == APPROVED and app.path == "commitment":
        from plugin.supervision.service import open_verification
        item = open_verification(app)
        return [_audit(app, Actor.system(), "verification_opened", item=item.id, due_date=item.due_date.isoformat())]
    if app.status == APPROVED and app.path == "repair":
        return _repair(app, workflow, actor)
    return []


def _repair(app: Application, workflow, actor: Actor) -> list[dict]:
    from plugin.credit.changes import RepairRefused, parse_record_ids, repair_records
    try:
        ids = parse_record_ids(workflow.last_task.data.get("record_ids"))
    except RepairRefused as e:
        raise ApplicationError(f"信用修复申请的失信记录编号有误，未保存：{e}") from None
    repaired, change = repair_records(app.subject, ids, _today(), app.number, str(actor),
                                      f"信用修复办件 {app.number} 准予修复")
    rows = [_audit(app, actor, "records_repaired", records=[r.id for r in repaired])]
    if change is not None:
        rows.append(_audit(app, actor, "tier_changed", scheme=change.scheme, from_tier=change.from_code,
                           to_tier=change.to_code, blacklisted=change.to_blacklisted, cause="repair"))
    return rows


def _check_repair_request(app: Application, clean: dict) -> None:
    """An applicant asking for repair names records that are theirs and not yet repaired."""
    from plugin.credit.changes import RepairRefused, parse_record_ids, repairable
    try:
        repairable(app.subject, parse_record_ids(clean.get("record_ids")))
    except RepairRefused as e:
        raise forms.FormErrors({"record_ids": str(e)}) from None


def revoke(app: Application, cause: str, reason: str, actor: Actor, severity: str | None = None) -> None:
    """Revoke an approved case for a breach found after approval (a failed verification or
    inspection), in the caller's transaction: the case revoked and its open tasks cancelled, the
    dishonesty recorded, the tier recomputed, all audited. Conflict if the case changed meanwhile."""
    if app.status != APPROVED:
        raise ApplicationError(f"办件 {app.number} 当前为“{app.status_label}”，只有准予许可的办件可以撤销")
    before, version = app.status, app.version
    app.status, app.next_due_at = REVOKED, None
    rows = [_audit(app, actor, "revoked", before, REVOKED, reason=reason, cause=cause)]
    rows += _breach(app, cause, reason, actor, severity)
    updated = (Application.update(status=REVOKED, next_due_at=None, revoked_at=app.revoked_at,
                                  revocation_reason=app.revocation_reason, version=Application.version + 1,
                                  updated_at=now())
               .where((Application.id == app.id) & (Application.version == version)
                      & (Application.status == APPROVED)).execute())
    if updated != 1:
        raise Conflict(f"办件 {app.number} 已被他人处理，本次撤销未保存，请刷新后重试")
    app.version = version + 1
    (HumanTask.update(state="cancelled", completed_at=now())
     .where((HumanTask.application == app.id) & (HumanTask.state == "ready")).execute())
    _write_audit(rows)


def _save(app: Application, workflow, expected_version: int) -> None:
    """Write the case if nobody else has since `expected_version`; else Conflict."""
    state = runtime.dump_state(workflow)
    updated = (Application.update(state=state, version=Application.version + 1, status=app.status,
                                  path=app.path, decision=app.decision, next_due_at=app.next_due_at,
                                  decided_at=app.decided_at, revoked_at=app.revoked_at,
                                  revocation_reason=app.revocation_reason, updated_at=now())
               .where((Application.id == app.id) & (Application.version == expected_version))
               .execute())
    if updated != 1:
        raise Conflict(f"办件 {app.number} 已被他人处理（版本 {expected_version} 已过期），本次操作未保存，请刷新后重试")
    app.version = expected_version + 1
    app.state = state


def _refusal(app: Application, actor: Actor, closure, from_status: str | None) -> list[dict]:
    """Refuse `app` by the negative list: its new state and the audit rows of submission and refusal."""
    app.status, app.refusal_reason, app.decided_at = REFUSED, closure.reason, now()
    return [_audit(app, actor, "submitted", from_status, SUBMITTED),
            _audit(app, Actor.system(), "refused", SUBMITTED, REFUSED, reason=closure.reason,
                   negative_list_entry=closure.entry_id, legal_basis=closure.legal_basis)]


def _started_workflow(facts, subject, tier, snapshot: dict, today):
    """The matter's process started for `subject` with its credit, and run to its first wait."""
    try:
        spec_pair = specs.for_id(facts.process_id)
    except DiagramError as e:
        incidents.record("start", str(e), matter_id=facts.id, process_id=facts.process_id, subject_code=subject.code)
        raise ApplicationError(f"事项“{facts.name}”的办理流程未通过安全检查，申请未提交：{e}") from None
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
        incidents.record("start", str(e), matter_id=facts.id, process_id=facts.process_id, subject_code=subject.code)
        raise ApplicationError(f"事项“{facts.name}”的办理流程出错，申请未提交：{e}") from None
    return workflow


def _acceptance(app: Application, workflow, actor: Actor, from_status: str | None, facts) -> list[dict]:
    """Accept `app` (its due date set): the audit rows of submission, acceptance and the process start."""
    rows = [_audit(app, actor, "submitted", from_status, SUBMITTED)]
    app.status = ACCEPTED
    rows.append(_audit(app, Actor.system(), "accepted", SUBMITTED, ACCEPTED,
                       promised_days=app.promised_days, due_date=app.due_date.isoformat()))
    return rows + _apply_outcome(app, workflow, Actor.system(), "process_started",
                                 process=specs.label(facts.process_id))


def apply(matter_code: str, applicant_code: str, data: dict | None = None,
          actor: Actor | None = None) -> Application:
    """Submit an application: credit check, negative list, then start the matter's process."""
    code = _valid_code(applicant_code)
    today = _today()
    subject, tier = _credit(code, today)
    facts = _open_facts(matter_code)
    actor = actor or Actor.applicant(code)

    scheme = active_scheme_info()
    snapshot = tier.snapshot()
    promised = facts.promised_days_for(scheme.tier(tier.code).id)
    app = Application(number=_number(), matter=facts.id, subject=subject, process=facts.process_id,
                      status=SUBMITTED, tier_code=tier.code, tier_snapshot=snapshot,
                      form_data=data or {}, promised_days=promised, submitted_at=now())

    closure = closure_for(facts, tier, today)
    if closure is not None:
        rows = _refusal(app, actor, closure, None)
        with write_transaction():
            _insert(app)
            for row in rows:
                row["application"] = app.id
            _write_audit(rows)
        return app

    workflow = _started_workflow(facts, subject, tier, snapshot, today)
    _check_identity(subject, _outcome(workflow)[1])
    app.due_date = add_working_days(today, promised)
    app.state = runtime.dump_state(workflow)
    rows = _acceptance(app, workflow, actor, None, facts)
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
    try:
        spec_pair = specs.for_id(app.process_id)
    except DiagramError as e:
        incidents.record("load", str(e), application=app)
        raise ApplicationError(f"办件 {app.number} 的流程未通过安全检查，未执行：{e}") from None
    return runtime.load_state(spec_pair, app.state, *_credit_context(app.tier_snapshot))


def ready_tasks(app: Application) -> list[dict]:
    """The human tasks the case waits on, with their forms."""
    if app.state is None or app.status in FINAL:
        return []
    workflow = load_workflow(app)
    return [{"id": str(t.id), "element_id": t.task_spec.bpmn_id,
             "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id, "lane": t.task_spec.lane,
             "documentation": getattr(t.task_spec, "documentation", None) or "",
             "fields": forms.describe(t.task_spec)} for t in runtime.ready_human_tasks(workflow)]


def _check_actor(app: Application, lane: str, actor: Actor, task_name: str) -> None:
    if lane == "applicant":
        if actor.kind != "applicant" or actor.id != app.subject.code:
            raise NotAllowed(f"“{task_name}”只能由申请人本人办理")
    elif actor.kind != "staff" or actor.role != lane:
        from plugin.engine.validate import LANES
        raise NotAllowed(f"“{task_name}”须由{LANES.get(lane, lane)}办理，当前用户无此权限")


def complete_task(number: str, task_id: str, values: dict, actor: Actor,
                  expected_version: int | None = None, extra=None) -> Application:
    """Complete a ready human task with form `values` (validated against its formData).

    `extra(app, clean_values)`, when given, runs inside the transaction that saves the case (the
    portal records a signed commitment with the signing task this way)."""
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
    real_id = str(task.id)
    _check_claim(real_id, actor, name)
    clean = forms.validate(task.task_spec, values)
    if app.path == "repair" and task.task_spec.lane == "applicant" and "record_ids" in clean:
        _check_repair_request(app, clean)
    try:
        runtime.complete_human_task(workflow, task, clean)
    except runtime.EngineError as e:
        incidents.record("task", str(e), application=app)
        raise ApplicationError(f"办理“{name}”时流程出错，未保存：{e}") from None
    with write_transaction():
        before = app.status
        rows = _apply_outcome(app, workflow, actor, "task_completed", task=name,
                              element=task.task_spec.bpmn_id, values=clean)
        rows += _consequences(app, workflow, before, actor)
        _save(app, workflow, version)
        _write_audit(rows)
        _sync_tasks(app, workflow, completed_task_id=real_id, actor=actor)
        if app.path == "tolerance" and app.next_due_at is not None:
            _materials.set_supplement_due(app, _local_date(app.next_due_at))
        if extra is not None:
            extra(app, clean)
    return app


class Claimed(Conflict):
    """The task is claimed by someone else."""


def _check_claim(task_id: str, actor: Actor, name: str) -> None:
    if actor.kind != "staff":
        return
    row = HumanTask.get_or_none(HumanTask.task_id == task_id)
    if row is not None and row.claimed_by and row.claimed_by != actor.id:
        raise Claimed(f"任务“{name}”已由 {row.claimed_by} 认领，请由认领人办理或请其释放")


def _claimable(task_id: str, actor: Actor) -> HumanTask:
    row = HumanTask.get_or_none(HumanTask.task_id == task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if row.state != "ready":
        raise Conflict(f"任务“{row.name}”已{'完成' if row.state == 'completed' else '取消'}，不能再认领")
    _check_actor(row.application, row.lane, actor, row.name)
    return row


def claim_task(task_id: str, actor: Actor) -> HumanTask:
    """Claim a ready staff task: from now on only `actor` completes it (until released)."""
    row = _claimable(task_id, actor)
    with write_transaction():
        updated = (HumanTask.update(claimed_by=actor.id, claimed_at=now())
                   .where((HumanTask.id == row.id) & (HumanTask.state == "ready")
                          & (HumanTask.claimed_by.is_null() | (HumanTask.claimed_by == actor.id))).execute())
        if updated != 1:
            fresh = HumanTask.get_by_id(row.id)
            raise Claimed(f"任务“{row.name}”已由 {fresh.claimed_by} 认领" if fresh.claimed_by
                          else f"任务“{row.name}”已不能认领，请刷新")
        _write_audit([_audit(row.application, actor, "task_claimed", task=row.name, element=row.element_id)])
    return HumanTask.get_by_id(row.id)


def release_task(task_id: str, actor: Actor, override: bool = False) -> HumanTask:
    """Give a claimed task back to the pool; only its claimant may, or a system administrator
    (`override`) when the claimant is away."""
    row = HumanTask.get_or_none(HumanTask.task_id == task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if row.state != "ready":
        raise Conflict(f"任务“{row.name}”已{'完成' if row.state == 'completed' else '取消'}，无需释放")
    if row.claimed_by is None:
        return row
    if row.claimed_by != actor.id and not override:
        raise Claimed(f"任务“{row.name}”由 {row.claimed_by} 认领，只有认领人可以释放")
    with write_transaction():
        HumanTask.update(claimed_by=None, claimed_at=None).where(HumanTask.id == row.id).execute()
        _write_audit([_audit(row.application, actor, "task_released", task=row.name, element=row.element_id,
                             claimed_by=row.claimed_by)])
    return HumanTask.get_by_id(row.id)


@dataclasses.dataclass
class TickReport:
    checked: int = 0
    fired: int = 0
    revoked: int = 0
    conflicts: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def _due_query(limit: int, exclude: set[int]):
    query = (Application.select()
             .where(Application.next_due_at.is_null(False) & (Application.next_due_at <= runtime.business_utc())
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
    before = app.status
    rows = _apply_outcome(app, workflow, Actor.system(), "timer_fired")
    rows += _consequences(app, workflow, before, Actor.system())
    _save(app, workflow, version)
    _write_audit(rows)
    _sync_tasks(app, workflow)
    report.fired += 1
    report.revoked += app.status == REVOKED and before != REVOKED


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
        if isinstance(e, runtime.EngineError):
            incidents.record("timer", str(e), application=app)
        report.errors.append(f"{app.number}: {e}")


def timeline(app: Application) -> list[dict]:
    return [{"at": a.at.isoformat(sep=" ", timespec="seconds"), "actor": a.actor, "action": a.action,
             "from": a.from_status, "to": a.to_status, "detail": a.detail}
            for a in app.audit.order_by(AuditEntry.at, AuditEntry.id)]


# ---------------------------------------------------------------------------------------------
# The applicant's side (办事大厅): the matter guide, drafts, submission, signing, supplement
# ---------------------------------------------------------------------------------------------
PATH_LABELS = PATH_DESCRIPTIONS  # the words are defined in plugin.applications.vocabulary
SIGNING_KINDS = {"tolerance": _materials.TOLERANCE, "commitment": _materials.NOTIFICATION}


class Closed(ApplicationError):
    """The matter is on the negative list and closed to this applicant."""

    def __init__(self, closure):
        super().__init__(closure.reason)
        self.closure = closure


class CommitmentChanged(ApplicationError):
    """The commitment's text changed after the applicant read it: they must read it again."""


_local_date = clock.local_date
_today = clock.today


def _valid_code(applicant_code: str) -> str:
    try:
        return validate_subject_code(applicant_code)[0]
    except InvalidCode as e:
        raise ApplicationError(f"申请人证件号码无效：{e}") from None


def _open_facts(matter_code: str):
    facts = matter_facts(matter_code)
    if facts is None:
        raise NotFound(f"事项 {matter_code} 不存在")
    if facts.status != PUBLISHED:
        raise ApplicationError(f"事项“{facts.name}”未发布（状态：{dict(MATTER_STATUSES)[facts.status]}），暂不受理")
    if facts.process_id is None:
        raise ApplicationError(f"事项“{facts.name}”尚未绑定办理流程，暂不受理")
    return facts


def _credit(code: str, today: _dt.date):
    subject, records = subject_with_records(code, today)
    if subject is None:
        raise NotFound(f"申请人 {code} 不在信用主体库中，请先完成身份核验")
    return subject, effective_tier(subject, today, scheme=active_scheme_info(), records=records)


def published_matters(query: str = "") -> list:
    """Published matters whose name, code or department contains `query` (all when empty)."""
    from plugin.catalog.models import Matter
    rows = Matter.select().where(Matter.status == PUBLISHED)
    words = (query or "").split()
    for word in words[:5]:
        rows = rows.where(Matter.name.contains(word) | Matter.code.contains(word)
                          | Matter.department.contains(word))
    return list(rows.order_by(Matter.department, Matter.code))


def repair_matter():
    """The published credit-repair matter (信用修复), if the catalog has one."""
    from plugin.catalog.models import Matter
    from plugin.engine.models import ProcessDefinition
    return (Matter.select().join(ProcessDefinition, on=(Matter.process == ProcessDefinition.id))
            .where((Matter.status == PUBLISHED) & (ProcessDefinition.key == "credit_repair"))
            .order_by(Matter.code).first())


@dataclasses.dataclass
class Guide:
    """What the matter guide shows; `tier` and what follows from it only for an identified applicant."""

    matter: object
    facts: object
    tier: object = None
    path: str | None = None
    path_label: str | None = None
    promised_days: int | None = None
    dispositions: list = dataclasses.field(default_factory=list)
    closure: object = None
    unverified: bool = False     # the path needs a verified identity the applicant does not have yet

    def grouped(self) -> dict[str, list]:
        groups: dict[str, list] = {}
        for d in self.dispositions:
            groups.setdefault(d.disposition, []).append(d)
        return groups


def matter_guide(matter_code: str, applicant_code: str | None = None) -> Guide:
    """The guide of a published matter, and what `applicant_code`'s effective tier gets them."""
    from plugin.catalog.models import Matter
    from plugin.catalog.requirements import requirements_for
    from plugin.engine.paths import expected_path
    matter = Matter.get_or_none((Matter.code == matter_code) & (Matter.status == PUBLISHED))
    facts = matter_facts(matter_code) if matter is not None else None
    if facts is None:
        raise NotFound(f"事项 {matter_code} 不存在或未发布")
    guide = Guide(matter=matter, facts=facts)
    if applicant_code is None:
        guide.dispositions = requirements_for(matter, active_scheme_info().default_tier_code, path="standard")
        return guide
    today = _today()
    _subject, tier = _credit(_valid_code(applicant_code), today)
    guide.tier = tier
    guide.closure = closure_for(facts, tier, today)
    guide.path = expected_path(matter, tier)
    guide.path_label = PATH_LABELS.get(guide.path, guide.path)
    from plugin.identity.accounts import restricted
    guide.unverified = restricted(_subject, guide.path)
    guide.promised_days = facts.promised_days_for(active_scheme_info().tier(tier.code).id)
    guide.dispositions = requirements_for(matter, tier, path=guide.path)
    return guide


def cases_of(applicant_code: str) -> list[Application]:
    """The applicant's own cases, drafts included, newest first."""
    from plugin.credit.models import Subject
    return list(Application.select(Application).join(Subject)
                .where(Subject.code == applicant_code).order_by(Application.submitted_at.desc(),
                                                                Application.id.desc()))


def get_for_applicant(number: str, applicant_code: str) -> Application:
    """The case `number` when it is the applicant's own; NotFound otherwise (never tell them apart)."""
    from plugin.credit.models import Subject
    app = (Application.select(Application).join(Subject)
           .where((Application.number == number) & (Subject.code == applicant_code)).first())
    if app is None:
        raise NotFound(f"办件 {number} 不存在")
    return app


def _own_draft(number: str, actor: Actor) -> Application:
    app = get_for_applicant(number, actor.id)
    if app.status != DRAFT:
        raise Conflict(f"办件 {app.number} 已提交（{app.status_label}），不能再修改")
    return app


_DRAFT_FORM = None


def draft_form():
    """The application form every draft has (申请信息), as a camunda form so that the same
    validation as the diagrams' forms applies."""
    global _DRAFT_FORM
    if _DRAFT_FORM is None:
        _DRAFT_FORM = forms.form_holder("draft", [
            {"id": "contact_name", "label": "经办人姓名", "required": True, "minlength": 2, "maxlength": 50},
            {"id": "contact_phone", "label": "联系电话", "required": True, "minlength": 7, "maxlength": 20},
            {"id": "description", "label": "申请说明", "required": False, "maxlength": 500},
        ])
    return _DRAFT_FORM


def draft_fields() -> list[dict]:
    return forms.describe(draft_form())


def validate_draft(values: dict) -> dict:
    """The draft's values checked like a task form (FormErrors with one message per field)."""
    known = {f["id"] for f in draft_fields()}
    values = {k: v for k, v in (values or {}).items() if k in known}
    errors = {}
    try:
        clean = forms.validate(draft_form(), values)
    except forms.FormErrors as e:
        errors, clean = dict(e.errors), {}
    phone = str(values.get("contact_phone") or "").strip()
    if "contact_phone" not in errors and phone and not all(c.isdigit() or c in "-+ " for c in phone):
        errors["contact_phone"] = "“联系电话”只能包含数字、“-”、“+”和空格"
    if errors:
        raise forms.FormErrors(errors)
    return clean


def start_draft(matter_code: str, applicant_code: str) -> Application:
    """Open (or resume) the applicant's draft of an application for a matter. A matter closed to
    them by the negative list raises `Closed` and nothing is stored."""
    code = _valid_code(applicant_code)
    facts = _open_facts(matter_code)
    today = _today()
    subject, tier = _credit(code, today)
    closure = closure_for(facts, tier, today)
    if closure is not None:
        raise Closed(closure)
    existing = (Application.select().where((Application.subject == subject.id) & (Application.matter == facts.id)
                                           & (Application.status == DRAFT)).first())
    if existing is not None:
        return existing
    scheme = active_scheme_info()
    app = Application(number=_number(), matter=facts.id, subject=subject, process=facts.process_id, status=DRAFT,
                      tier_code=tier.code, tier_snapshot=tier.snapshot(), form_data={},
                      promised_days=facts.promised_days_for(scheme.tier(tier.code).id), submitted_at=now())
    with write_transaction():
        _insert(app)
        _write_audit([_audit(app, Actor.applicant(code), "draft_created", None, DRAFT)])
    return app


def save_draft(number: str, values: dict, actor: Actor) -> Application:
    """Keep what the applicant typed, as typed (checked only on submission: nothing is lost)."""
    app = _own_draft(number, actor)
    known = {f["id"] for f in draft_fields()}
    data = {k: str(v)[:2000] for k, v in (values or {}).items() if k in known}
    (Application.update(form_data=data, updated_at=now())
     .where((Application.id == app.id) & (Application.status == DRAFT)).execute())
    app.form_data = data
    return app


def draft_requirements(app: Application) -> list:
    """The materials of a draft for the applicant's effective tier now."""
    from plugin.catalog.requirements import requirements_for
    from plugin.engine.paths import expected_path
    _subject, tier = _credit(app.subject.code, _today())
    return requirements_for(app.matter, tier, path=expected_path(app.matter, tier))


def attach_draft_file(number: str, material_code: str, stored, actor: Actor, dispositions=None):
    """Attach a stored file to a material of the applicant's draft."""
    from plugin.catalog.requirements import ELICENCE, WAIVED
    app = _own_draft(number, actor)
    found = next((d for d in dispositions or draft_requirements(app) if d.material_code == material_code), None)
    if found is None:
        raise _materials.MaterialError({material_code: "本事项不需要这项材料"})
    if found.disposition in (WAIVED, ELICENCE):
        raise _materials.MaterialError({material_code: f"“{found.material_name}”{found.label}，无需上传"})
    return _materials.attach(app, found, stored)


def remove_draft_file(number: str, material_code: str, actor: Actor) -> None:
    app = _own_draft(number, actor)
    (_materials.CaseMaterial.delete().where((_materials.CaseMaterial.application == app)
                                            & (_materials.CaseMaterial.material_code == material_code)).execute())


def discard_draft(number: str, actor: Actor) -> None:
    """Delete a draft that was never submitted (its audit rows stay, pointing at no case)."""
    app = _own_draft(number, actor)
    with write_transaction():
        _materials.CaseMaterial.delete().where(_materials.CaseMaterial.application == app).execute()
        _write_audit([_audit(app, actor, "draft_discarded", DRAFT, None, number=app.number)])
        AuditEntry.update(application=None).where(AuditEntry.application == app.id).execute()
        Application.delete().where((Application.id == app.id) & (Application.status == DRAFT)).execute()


def submit_draft(number: str, actor: Actor) -> Application:
    """Submit the applicant's draft: the credit check again (逢报必查), the negative list, the
    materials the tier's path requires, then the matter's process; the materials are frozen onto
    the case in the same transaction. A refusal by the negative list is recorded on the case."""
    from plugin.catalog.requirements import requirements_for
    app = _own_draft(number, actor)
    version = app.version
    clean = validate_draft(app.form_data)
    today = _today()
    code = app.subject.code
    facts = _open_facts(app.matter.code)
    subject, tier = _credit(code, today)
    scheme = active_scheme_info()
    snapshot = tier.snapshot()
    app.tier_code, app.tier_snapshot, app.form_data = tier.code, snapshot, clean
    app.process = facts.process_id
    app.promised_days = facts.promised_days_for(scheme.tier(tier.code).id)
    app.submitted_at = now()
    fields = [Application.status, Application.tier_code, Application.tier_snapshot, Application.form_data,
              Application.process, Application.promised_days, Application.submitted_at, Application.refusal_reason,
              Application.decided_at, Application.state, Application.path, Application.decision,
              Application.next_due_at, Application.due_date, Application.updated_at]

    def write(rows, freeze=None, workflow=None):
        app.updated_at = now()
        updated = (Application.update({f: app.__data__.get(f.name) for f in fields} | {Application.version: version + 1})
                   .where((Application.id == app.id) & (Application.status == DRAFT)
                          & (Application.version == version)).execute())
        if updated != 1:
            raise Conflict(f"办件 {app.number} 已被提交或修改，本次提交未保存，请刷新后查看")
        app.version = version + 1
        if freeze is not None:
            _materials.freeze(app, freeze)
        _write_audit(rows)
        if workflow is not None:
            _sync_tasks(app, workflow, new_case=True)

    closure = closure_for(facts, tier, today)
    if closure is not None:
        rows = _refusal(app, actor, closure, DRAFT)
        with write_transaction():
            write(rows)
        return app

    workflow = _started_workflow(facts, subject, tier, snapshot, today)
    path = _outcome(workflow)[1]
    _check_identity(subject, path)
    dispositions = requirements_for(app.matter, tier, path=path) if path else requirements_for(app.matter, tier)
    missing = _materials.missing_uploads(dispositions, _materials.uploaded(app))
    if missing:
        raise _materials.MaterialError(missing)
    app.due_date = add_working_days(today, app.promised_days)
    app.state = runtime.dump_state(workflow)
    rows = _acceptance(app, workflow, actor, DRAFT, facts)
    with write_transaction():
        write(rows, freeze=dispositions, workflow=workflow)
    return app


def pending_commitment(app: Application, task: dict):
    """(kind, text) of the commitment an applicant signs with `task`, or None when it signs none."""
    kind = SIGNING_KINDS.get(app.path or "")
    if kind is None or task.get("lane") != "applicant" or not any(f["id"] == "agree" for f in task["fields"]):
        return None
    return kind, _materials.commitment_text(app, kind, _today(),
                                            supplement_days=matter_facts(app.matter.code).supplement_days)


def _ready_task(app: Application, task_id: str) -> dict:
    task = next((t for t in ready_tasks(app) if t["id"] == task_id), None)
    if task is None:
        raise NotFound(f"办件 {app.number} 当前没有待办任务 {task_id}")
    return task


def complete_applicant_task(number: str, task_id: str, values: dict, actor: Actor,
                            expected_version: int | None = None, shown_sha256: str | None = None) -> Application:
    """Complete an applicant's task. A signing task records the signed commitment (its full text,
    the text's SHA-256 and the time) in the transaction that completes it; the text must be the one
    the applicant was shown (`shown_sha256`)."""
    app = get_for_applicant(number, actor.id)
    pending = pending_commitment(app, _ready_task(app, task_id))
    if pending is None:
        return complete_task(number, task_id, values, actor, expected_version)
    kind, text = pending
    if shown_sha256 != _materials.text_hash(text):
        raise CommitmentChanged("承诺书内容已更新（例如日期或材料变化），请重新阅读后再签署")

    def sign(case, clean):
        if clean.get("agree") is True:
            _materials.record_signature(case, kind, text)

    return complete_task(number, task_id, values, actor, expected_version, extra=sign)


def supplement_deadline(app: Application) -> _dt.date | None:
    """The last day of the case's supplement (容缺补正), once the supplement has started."""
    if app.next_due_at is None or app.status in FINAL:
        return None
    return _local_date(app.next_due_at)


def complete_supplement(number: str, task_id: str, values: dict, files: dict, actor: Actor,
                        expected_version: int | None = None) -> Application:
    """Supplement the owed materials (`files`: material code → StoredFile) and, once nothing is
    owed any more, complete the supplement task. Files are kept even when something else is wrong."""
    app = get_for_applicant(number, actor.id)
    _ready_task(app, task_id)
    if app.next_due_at is not None and app.next_due_at <= runtime.business_utc():
        raise ApplicationError(f"补正期限已于 {_local_date(app.next_due_at):%Y-%m-%d} 届满，不能再补正")
    if files:
        with write_transaction():
            for code, stored in files.items():
                _materials.supply(app, code, stored)
    still = _materials.owed(app)
    if still:
        raise _materials.MaterialError({m.material_code: f"请上传“{m.material_name}”" for m in still})
    return complete_task(number, task_id, values, actor, expected_version)


def opinions(app: Application) -> list[dict]:
    """What staff wrote when they completed the case's tasks (the reasons of the decision)."""
    out = []
    for a in app.audit.where(AuditEntry.action == "task_completed").order_by(AuditEntry.at, AuditEntry.id):
        values = (a.detail or {}).get("values") or {}
        if a.actor.startswith("staff:") and values.get("opinion"):
            role = a.actor.rsplit("(", 1)[-1].rstrip(")") if "(" in a.actor else ""
            out.append({"task": a.detail.get("task"), "opinion": values["opinion"], "role": role,
                        "at": a.at, "values": values})
    return out
