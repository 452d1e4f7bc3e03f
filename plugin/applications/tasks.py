"""Human tasks and claims (DESIGN §3.7): the tasks a case waits on, completing one (staff, or the
applicant: signing a commitment, supplementing materials), and claiming and releasing staff tasks.

A completion runs the task in the workflow first and then writes the case, its audit rows, its
events and its task index in one unit of work; the case's version counter refuses the second of
two completions (`Conflict`).
"""
from __future__ import annotations

from plugin import clock
from plugin.applications import incidents, lifecycle
from plugin.applications import materials as _materials
from plugin.applications.errors import ApplicationError, Claimed, CommitmentChanged, Conflict, NotAllowed, NotFound
from plugin.applications.lifecycle import Trail, record
from plugin.applications.models import FINAL, Application, HumanTask
from plugin.catalog.facts import matter_facts
from plugin.db import now
from plugin.engine import forms, runtime
from plugin.work import Actor, unit_of_work

#: The commitment an applicant signs on each path that has one.
SIGNING_KINDS = {"tolerance": _materials.TOLERANCE, "commitment": _materials.NOTIFICATION}


def ready_tasks(app: Application) -> list[dict]:
    """The human tasks the case waits on, with their forms."""
    if app.state is None or app.status in FINAL:
        return []
    workflow = lifecycle.load_workflow(app)
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

    `extra(app, clean_values)`, when given, runs inside the unit that saves the case (the portal
    records a signed commitment with the signing task this way)."""
    app = lifecycle.get(number)
    if expected_version is not None and expected_version != app.version:
        raise Conflict(f"办件 {app.number} 在您打开表单后已被更新，请刷新后重试（表单版本 {expected_version}，当前 {app.version}）")
    if app.status in FINAL:
        raise ApplicationError(f"办件 {app.number} 已{app.status_label}，不能再办理任务")
    version = app.version
    workflow = lifecycle.load_workflow(app)
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
        lifecycle.check_repair_request(app, clean)
    try:
        runtime.complete_human_task(workflow, task, clean)
    except runtime.EngineError as e:
        incidents.record("task", str(e), application=app)
        raise ApplicationError(f"办理“{name}”时流程出错，未保存：{e}") from None
    with unit_of_work(actor, "case.task") as unit:
        before = app.status
        trail = Trail(app)
        lifecycle.apply_outcome(app, workflow, actor, "task_completed", trail, task=name,
                                element=task.task_spec.bpmn_id, values=clean)
        lifecycle.consequences(app, workflow, before, actor, trail)
        lifecycle.save(app, workflow, version)
        trail.write(unit)
        lifecycle.sync_tasks(app, workflow, completed_task_id=real_id, actor=actor)
        if app.path == "tolerance" and app.next_due_at is not None:
            _materials.set_supplement_due(app, clock.local_date(app.next_due_at))
        if extra is not None:
            extra(app, clean)
    return app


# ---------------------------------------------------------------------------------------------
# the applicant's tasks: signing, supplementing
# ---------------------------------------------------------------------------------------------
def pending_commitment(app: Application, task: dict):
    """(kind, text) of the commitment an applicant signs with `task`, or None when it signs none."""
    kind = SIGNING_KINDS.get(app.path or "")
    if kind is None or task.get("lane") != "applicant" or not any(f["id"] == "agree" for f in task["fields"]):
        return None
    return kind, _materials.commitment_text(app, kind, clock.today(),
                                            supplement_days=matter_facts(app.matter.code).supplement_days)


def _ready_task(app: Application, task_id: str) -> dict:
    task = next((t for t in ready_tasks(app) if t["id"] == task_id), None)
    if task is None:
        raise NotFound(f"办件 {app.number} 当前没有待办任务 {task_id}")
    return task


def complete_applicant_task(number: str, task_id: str, values: dict, actor: Actor,
                            expected_version: int | None = None, shown_sha256: str | None = None) -> Application:
    """Complete an applicant's task. A signing task records the signed commitment (its full text,
    the text's SHA-256 and the time) in the unit that completes it; the text must be the one the
    applicant was shown (`shown_sha256`)."""
    app = lifecycle.get_for_applicant(number, actor.id)
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


def complete_supplement(number: str, task_id: str, values: dict, files: dict, actor: Actor,
                        expected_version: int | None = None) -> Application:
    """Supplement the owed materials (`files`: material code → StoredFile) and, once nothing is
    owed any more, complete the supplement task. Files are kept even when something else is wrong."""
    app = lifecycle.get_for_applicant(number, actor.id)
    _ready_task(app, task_id)
    if app.next_due_at is not None and app.next_due_at <= runtime.business_utc():
        raise ApplicationError(f"补正期限已于 {clock.local_date(app.next_due_at):%Y-%m-%d} 届满，不能再补正")
    if files:
        with unit_of_work(actor, "case.supplement"):
            for code, stored in files.items():
                _materials.supply(app, code, stored)
    still = _materials.owed(app)
    if still:
        raise _materials.MaterialError({m.material_code: f"请上传“{m.material_name}”" for m in still})
    return complete_task(number, task_id, values, actor, expected_version)


# ---------------------------------------------------------------------------------------------
# claims
# ---------------------------------------------------------------------------------------------
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
    with unit_of_work(actor, "case.claim") as unit:
        updated = (HumanTask.update(claimed_by=actor.id, claimed_at=now())
                   .where((HumanTask.id == row.id) & (HumanTask.state == "ready")
                          & (HumanTask.claimed_by.is_null() | (HumanTask.claimed_by == actor.id))).execute())
        if updated != 1:
            fresh = HumanTask.get_by_id(row.id)
            raise Claimed(f"任务“{row.name}”已由 {fresh.claimed_by} 认领" if fresh.claimed_by
                          else f"任务“{row.name}”已不能认领，请刷新")
        record(unit, row.application, actor, "task_claimed", task=row.name, element=row.element_id)
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
    with unit_of_work(actor, "case.claim") as unit:
        HumanTask.update(claimed_by=None, claimed_at=None).where(HumanTask.id == row.id).execute()
        record(unit, row.application, actor, "task_released", task=row.name, element=row.element_id,
               claimed_by=row.claimed_by)
    return HumanTask.get_by_id(row.id)
