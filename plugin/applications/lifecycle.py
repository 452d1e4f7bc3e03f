"""The life of a case (DESIGN §3.7): opened (`apply`), moved to where its workflow says (the outcome
of a start, a task or a timer), and what follows from its new status (a breach, a verification, a
credit repair), up to its revocation (`revoke`).

Before a process starts the plugin enforces, whatever the diagram says: the credit check and its
snapshot, the negative list, and that the matter is published (`plugin.applications.admission`).
Every change to a case is written in one unit of work (`plugin.work.unit_of_work`) with its audit
rows, its domain events (`plugin.applications.events`) and its human-task index; a version counter
makes concurrent writers safe: the second of two completions of one task gets `Conflict` and
changes nothing.

What a change records is gathered in a `Trail` while the change is worked out (the workflow runs
before the unit opens, so the write lock is held only for writing) and written with it.
"""
from __future__ import annotations

import datetime as _dt
import secrets

from plugin import clock
from plugin.applications import admission, events, incidents
from plugin.applications.errors import ApplicationError, Conflict, NotFound
from plugin.applications.models import (ACCEPTED, APPROVED, IN_REVIEW, REFUSED, REJECTED, RETURNED, REVOKED,
                                        SUBMITTED, Application, HumanTask)
from plugin.calendar import add_working_days
from plugin.catalog.negative_list import closure_for
from plugin.credit.tiers import active_scheme_info
from plugin.db import PreparedInsert, now
from plugin.engine import forms, runtime
from plugin.engine.definitions import DiagramError, specs
from plugin.work import Actor, unit_of_work

SUPPLEMENT_BREACH = "容缺材料未在期限内补正，构成违约，撤销许可"
DECISIONS = {APPROVED, REJECTED, RETURNED}


# ---------------------------------------------------------------------------------------------
# what a change records
# ---------------------------------------------------------------------------------------------
def recorded_as(actor: Actor | str) -> str:
    """How a case's record (its audit rows, the task index's `completed_by`) names who acted:
    'staff:wang(reviewer)', 'applicant:<code>', 'system:system'. A string is such a name already."""
    if isinstance(actor, str):
        return actor
    return f"{actor.kind}:{actor.id}" + (f"({actor.role})" if actor.role else "")


class Trail:
    """The audit rows and domain events of one change to a case, gathered while the change is
    worked out and written into the unit with it (`write`)."""

    __slots__ = ("app", "rows", "events", "_matter_code", "_subject_code")

    def __init__(self, app: Application, matter_code: str | None = None, subject_code: str | None = None):
        self.app = app
        self.rows: list[tuple] = []
        self.events: list[tuple] = []
        self._matter_code, self._subject_code = matter_code, subject_code

    @property
    def matter_code(self) -> str:
        if self._matter_code is None:
            self._matter_code = self.app.matter.code
        return self._matter_code

    def audit(self, actor: Actor | str, action: str, from_status: str | None = None, to_status: str | None = None,
              **detail) -> None:
        self.rows.append((recorded_as(actor), action, from_status, to_status, detail))

    def emit(self, name: str, **payload) -> None:
        self.events.append((name, payload))

    def write(self, unit) -> None:
        """Into `unit`: the rows (for the case as it is now: its id and tier), then the events."""
        app = self.app
        for actor, action, from_status, to_status, detail in self.rows:
            unit.audit(action, application=app.id, subject=app.subject_id, from_status=from_status,
                       to_status=to_status, tier_code=app.tier_code, by=actor, **detail)
        if self.events:
            subject_code = self._subject_code or app.subject.code
            for name, payload in self.events:
                unit.emit(name, subject_code=subject_code, case_number=app.number, **payload)
        self.rows, self.events = [], []


def record(unit, app: Application, actor: Actor | str, action: str, from_status: str | None = None,
           to_status: str | None = None, **detail) -> None:
    """One audit row for `app`, written with `unit`."""
    unit.audit(action, application=app.id, subject=app.subject_id, from_status=from_status, to_status=to_status,
               tier_code=app.tier_code, by=recorded_as(actor), **detail)


# ---------------------------------------------------------------------------------------------
# a case and its workflow
# ---------------------------------------------------------------------------------------------
def get(number: str) -> Application:
    app = Application.get_or_none(Application.number == number)
    if app is None:
        raise NotFound(f"办件 {number} 不存在")
    return app


def get_for_applicant(number: str, applicant_code: str) -> Application:
    """The case `number` when it is the applicant's own; NotFound otherwise (never tell them apart)."""
    from plugin.credit.models import Subject
    app = (Application.select(Application).join(Subject)
           .where((Application.number == number) & (Subject.code == applicant_code)).first())
    if app is None:
        raise NotFound(f"办件 {number} 不存在")
    return app


def credit_context(snapshot: dict) -> tuple[dict, int]:
    return snapshot["scheme_ranks"], snapshot["rank"]


def load_workflow(app: Application):
    if app.state is None:
        raise ApplicationError(f"办件 {app.number} 没有流程状态（{app.status_label}）")
    try:
        spec_pair = specs.for_id(app.process_id)
    except DiagramError as e:
        incidents.record("load", str(e), application=app)
        raise ApplicationError(f"办件 {app.number} 的流程未通过安全检查，未执行：{e}") from None
    return runtime.load_state(spec_pair, app.state, *credit_context(app.tier_snapshot))


def new_number() -> str:
    return f"XYP{clock.now():%Y%m%d}{secrets.token_hex(4).upper()}"


_insert_application = PreparedInsert(Application, [
    "number", "matter", "subject", "process", "status", "path", "decision", "tier_code", "tier_snapshot",
    "form_data", "refusal_reason", "state", "version", "next_due_at", "promised_days", "due_date",
    "submitted_at", "decided_at", "updated_at"])


def insert(app: Application) -> None:
    """Insert a new case (and learn its id) without peewee building the statement each time."""
    app.updated_at = now()
    [app.id] = _insert_application.execute([app.__data__])


def save(app: Application, workflow, expected_version: int) -> None:
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


def sync_tasks(app, workflow, completed_task_id=None, actor=None, new_case=False):
    """Keep the human-task index in step with the workflow (the caller holds the unit)."""
    if new_case and workflow.completed:
        return  # a case that ended at once (an instant approval) never had a human task
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
                          completed_by=recorded_as(actor) if done else None)
         .where(HumanTask.id == row.id).execute())
    if ready:
        HumanTask.insert_many([
            {"application": app.id, "task_id": task_id, "element_id": task.task_spec.bpmn_id,
             "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "lane": task.task_spec.lane or "",
             "state": "ready", "created_at": stamp}
            for task_id, task in ready.items()]).execute()


# ---------------------------------------------------------------------------------------------
# the outcome of a step, and what follows from it
# ---------------------------------------------------------------------------------------------
def outcome(workflow) -> tuple[str, str | None, str | None, bool]:
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
    if workflow.completed:
        return None  # an ended workflow waits on no timer
    times = runtime.timer_due_times(workflow)
    return times[0].astimezone(_dt.timezone.utc).replace(tzinfo=None) if times else None


def apply_outcome(app: Application, workflow, actor, action: str, trail: Trail, **detail) -> None:
    """Move `app` to what the workflow says; `trail` records it (and a decision reached)."""
    before = app.status
    status, path, decision, breach = outcome(workflow)
    app.path = path or app.path
    app.decision = decision
    app.status = status
    app.next_due_at = _due(workflow)
    if status in (APPROVED, REJECTED, RETURNED, REVOKED) and app.decided_at is None:
        app.decided_at = now()
    trail.audit(actor, action, before, status, **detail)
    if breach and before != REVOKED:
        trail.audit(Actor.system(), "breach", before, REVOKED, reason=SUPPLEMENT_BREACH)
    if status in DECISIONS and status != before:
        events.decided(trail)


def breach(app: Application, cause: str, reason: str, actor: Actor, trail: Trail, severity: str | None = None) -> None:
    """What a breach costs, for a case just moved to REVOKED (the caller's unit): the revocation's
    time and reason on the case, a dishonesty record, the tier recomputed."""
    from plugin.credit.changes import record_breach
    from plugin.credit.models import SEVERE
    from plugin.supervision.service import cancel_open_items
    app.revoked_at = app.revoked_at or now()
    app.revocation_reason = reason
    found, change = record_breach(app.subject, clock.today(), reason, app.number, cause, recorded_as(actor),
                                  severity or SEVERE)
    cancel_open_items(app, f"办件已撤销：{reason}")
    trail.audit(actor, "dishonesty_recorded", record=found.id, severity=found.severity, reason=reason)
    if change is not None:
        trail.audit(actor, "tier_changed", scheme=change.scheme, from_tier=change.from_code,
                    to_tier=change.to_code, blacklisted=change.to_blacklisted, cause="breach")
    events.revoked(trail, cause, reason)


def consequences(app: Application, workflow, before: str, actor: Actor, trail: Trail) -> None:
    """What follows from the case's new status beyond the case itself (the caller's unit): a
    breach records dishonesty; an approved notification-commitment opens its verification; an
    approved credit repair repairs the records it named."""
    if app.status == before:
        return
    if app.status == REVOKED:
        breach(app, "supplement", SUPPLEMENT_BREACH, Actor.system(), trail)
    elif app.status == APPROVED and app.path == "commitment":
        from plugin.supervision.service import open_verification
        item = open_verification(app)
        trail.audit(Actor.system(), "verification_opened", item=item.id, due_date=item.due_date.isoformat())
    elif app.status == APPROVED and app.path == "repair":
        _repair(app, workflow, actor, trail)


def _repair(app: Application, workflow, actor: Actor, trail: Trail) -> None:
    from plugin.credit.changes import RepairRefused, parse_record_ids, repair_records
    try:
        ids = parse_record_ids(workflow.last_task.data.get("record_ids"))
    except RepairRefused as e:
        raise ApplicationError(f"信用修复申请的失信记录编号有误，未保存：{e}") from None
    repaired, change = repair_records(app.subject, ids, clock.today(), app.number, recorded_as(actor),
                                      f"信用修复办件 {app.number} 准予修复")
    trail.audit(actor, "records_repaired", records=[r.id for r in repaired])
    if change is not None:
        trail.audit(actor, "tier_changed", scheme=change.scheme, from_tier=change.from_code,
                    to_tier=change.to_code, blacklisted=change.to_blacklisted, cause="repair")


def check_repair_request(app: Application, clean: dict) -> None:
    """An applicant asking for repair names records that are theirs and not yet repaired."""
    from plugin.credit.changes import RepairRefused, parse_record_ids, repairable
    try:
        repairable(app.subject, parse_record_ids(clean.get("record_ids")))
    except RepairRefused as e:
        raise forms.FormErrors({"record_ids": str(e)}) from None


def revoke(app: Application, cause: str, reason: str, actor: Actor, severity: str | None = None) -> None:
    """Revoke an approved case for a breach found after approval (a failed verification or
    inspection), in the caller's unit (or a unit of its own): the case revoked and its open tasks
    cancelled, the dishonesty recorded, the tier recomputed, all audited. Conflict if the case
    changed meanwhile."""
    if app.status != APPROVED:
        raise ApplicationError(f"办件 {app.number} 当前为“{app.status_label}”，只有准予许可的办件可以撤销")
    with unit_of_work(actor, "case.revoke") as unit:
        before, version = app.status, app.version
        app.status, app.next_due_at = REVOKED, None
        trail = Trail(app)
        trail.audit(actor, "revoked", before, REVOKED, reason=reason, cause=cause)
        breach(app, cause, reason, actor, trail, severity)
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
        trail.write(unit)


# ---------------------------------------------------------------------------------------------
# opening a case
# ---------------------------------------------------------------------------------------------
def refuse(app: Application, actor: Actor, closure, from_status: str | None, trail: Trail) -> None:
    """Refuse `app` by the negative list: its new state, and the submission and refusal recorded."""
    app.status, app.refusal_reason, app.decided_at = REFUSED, closure.reason, now()
    trail.audit(actor, "submitted", from_status, SUBMITTED)
    trail.audit(Actor.system(), "refused", SUBMITTED, REFUSED, reason=closure.reason,
                negative_list_entry=closure.entry_id, legal_basis=closure.legal_basis)
    events.submitted(trail, reason=closure.reason)


def started_workflow(facts, subject, tier, snapshot: dict, today):
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
        *credit_context(snapshot))
    try:
        runtime.run_engine(workflow)
    except runtime.EngineError as e:
        incidents.record("start", str(e), matter_id=facts.id, process_id=facts.process_id, subject_code=subject.code)
        raise ApplicationError(f"事项“{facts.name}”的办理流程出错，申请未提交：{e}") from None
    return workflow


def accept(app: Application, workflow, actor: Actor, from_status: str | None, facts, trail: Trail) -> None:
    """Accept `app` (its due date set): the submission, the acceptance and the process start."""
    trail.audit(actor, "submitted", from_status, SUBMITTED)
    app.status = ACCEPTED
    trail.audit(Actor.system(), "accepted", SUBMITTED, ACCEPTED,
                promised_days=app.promised_days, due_date=app.due_date.isoformat())
    events.submitted(trail)
    apply_outcome(app, workflow, Actor.system(), "process_started", trail, process=specs.label(facts.process_id))


def apply(matter_code: str, applicant_code: str, data: dict | None = None,
          actor: Actor | None = None) -> Application:
    """Submit an application: credit check, negative list, then start the matter's process."""
    code = admission.valid_code(applicant_code)
    today = clock.today()
    subject, tier = admission.credit(code, today)
    facts = admission.open_facts(matter_code)
    actor = actor or Actor.applicant(code)

    scheme = active_scheme_info()
    snapshot = tier.snapshot()
    promised = facts.promised_days_for(scheme.tier(tier.code).id)
    app = Application(number=new_number(), matter=facts.id, subject=subject, process=facts.process_id,
                      status=SUBMITTED, tier_code=tier.code, tier_snapshot=snapshot,
                      form_data=data or {}, promised_days=promised, submitted_at=now())
    trail = Trail(app, matter_code=facts.code, subject_code=code)

    closure = closure_for(facts, tier, today)
    if closure is not None:
        refuse(app, actor, closure, None, trail)
        with unit_of_work(actor, "case.apply") as unit:
            insert(app)
            trail.write(unit)
        return app

    workflow = started_workflow(facts, subject, tier, snapshot, today)
    admission.check_identity(subject, outcome(workflow)[1])
    app.due_date = add_working_days(today, promised)
    app.state = runtime.dump_state(workflow)
    accept(app, workflow, actor, None, facts, trail)
    with unit_of_work(actor, "case.apply") as unit:
        insert(app)
        trail.write(unit)
        sync_tasks(app, workflow, new_case=True)
    return app
