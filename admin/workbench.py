"""The workbench (工作台): the ready human tasks of the signed-in staff member's lanes, and for
supervisors their pending supervision items.

- Reviewers, approvers and supervisors see the ready tasks whose lane is their role; a system
  administrator sees every staff lane. Each row: case (link to the case page), matter, applicant,
  tier, task, since when, the case's promised due date and the working days left, who claimed it.
- Filters: mine / unclaimed / all of my lanes; overdue; due soon.
- Claim and release (POST, CSRF) go through `plugin.applications.service.claim_task` /
  `release_task`; the case page uses the same `claim_action` for its own buttons.
- `workload_figures(today)` gives the dashboard its task and supervision figures.

Tasks are completed on the case page, never here.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from flask import Response, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from admin.auth import SUPERVISOR, SYSADMIN, RoleAccess, current_staff, forbidden
from plugin.applications import service
from plugin.applications.casefile import staff_names
from plugin.applications.models import FINAL, REVOKED, Application, HumanTask
from plugin.applications.progress import business_today, local_time
from plugin.applications.statistics import due_soon_clause, overdue_clause
from plugin.calendar import working_days_between
from plugin.catalog.models import Matter
from plugin.credit.models import Subject
from plugin.db import now
from plugin.i18n import _, _l
from plugin.roles import LANES, STAFF_LANES
from plugin.supervision.models import INSPECTION, PENDING, VERIFICATION, SupervisionItem
from plugin.urls import safe_next as _safe_next

WORKERS = frozenset(STAFF_LANES)
SCOPES = {"all": _l("我所在泳道的全部"), "mine": _l("我认领的"), "unclaimed": _l("未认领的")}
PAGE_SIZE = 100
DUE_SOON_DAYS = 2
REVOCATION_DAYS = 30


def lanes_of(role: str) -> tuple[str, ...]:
    """The task lanes a role works: its own, or every staff lane for a system administrator."""
    if role == SYSADMIN:
        return STAFF_LANES
    return (role,) if role in STAFF_LANES else ()


def days_left(today: _dt.date, due: _dt.date | None) -> int | None:
    """Working days from today to the due date; negative when it has passed (at least -1)."""
    if due is None:
        return None
    if due >= today:
        return working_days_between(today, due)
    return -max(1, working_days_between(due, today))


def who(username: str | None, names: dict[str, str]) -> str:
    """'王海燕（reviewer）' for a username, or the username when the account is gone."""
    if not username:
        return ""
    if username == "system":
        return _("系统")
    name = names.get(username)
    return f"{name}（{username}）" if name and name != username else username


# --- queries ----------------------------------------------------------------------------------

def _ready_tasks_query(lanes):
    return (HumanTask.select(HumanTask, Application.id, Application.number, Application.status,
                             Application.tier_code, Application.due_date, Application.matter, Application.subject,
                             Matter.id, Matter.code, Matter.name, Subject.id, Subject.code, Subject.name)
            .join(Application, on=(HumanTask.application == Application.id))
            .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
            .join(Subject, on=(Application.subject == Subject.id))
            .where((HumanTask.state == "ready") & HumanTask.lane.in_(list(lanes))
                   & Application.status.not_in(list(FINAL))))


@dataclasses.dataclass
class TaskRow:
    task: HumanTask
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def due_soon(self) -> bool:
        return self.days_left is not None and 0 <= self.days_left <= DUE_SOON_DAYS


def task_rows(lanes, username: str, scope: str = "all", flag: str = "", today: _dt.date | None = None,
              limit: int = PAGE_SIZE) -> tuple[list[TaskRow], int, dict[str, int]]:
    """(rows, how many match, counts per scope) of the ready tasks of `lanes`."""
    today = today or business_today()
    if not lanes:
        return [], 0, {k: 0 for k in SCOPES}
    base = _ready_tasks_query(lanes)
    if flag == "overdue":
        base = base.where(overdue_clause(today))
    elif flag == "due_soon":
        base = base.where(due_soon_clause(today))
    scoped = {"all": base, "mine": base.where(HumanTask.claimed_by == username),
              "unclaimed": base.where(HumanTask.claimed_by.is_null())}
    counts = {k: q.count() for k, q in scoped.items()}
    query = scoped.get(scope, base).order_by(Application.due_date.asc(nulls="LAST"), HumanTask.created_at,
                                             HumanTask.id).limit(limit)
    rows = [TaskRow(t, days_left(today, t.application.due_date)) for t in query]
    return rows, counts.get(scope, counts["all"]), counts


def supervision_rows(user, today: _dt.date | None = None, limit: int = PAGE_SIZE) -> list[dict]:
    """The pending supervision items a supervisor should see on the workbench: the inspections
    assigned to them and the verifications nobody holds (a system administrator sees all)."""
    today = today or business_today()
    if user.role not in (SUPERVISOR, SYSADMIN):
        return []
    query = (SupervisionItem.select(SupervisionItem, Application.id, Application.number, Application.tier_code,
                                    Matter.id, Matter.name, Subject.id, Subject.name)
             .join(Application, on=(SupervisionItem.application == Application.id))
             .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
             .join(Subject, on=(Application.subject == Subject.id))
             .where(SupervisionItem.state == PENDING))
    if user.role == SUPERVISOR:
        query = query.where(((SupervisionItem.kind == INSPECTION) & (SupervisionItem.assignee == user.username))
                            | ((SupervisionItem.kind == VERIFICATION) & SupervisionItem.assignee.is_null()))
    return [{"item": item, "days_left": days_left(today, item.due_date)}
            for item in query.order_by(SupervisionItem.due_date, SupervisionItem.id).limit(limit)]


def workload_figures(today: _dt.date | None = None) -> dict:
    """The dashboard's figures of work to do: ready staff tasks whose case is overdue or due within
    two working days, pending supervision items (and overdue ones), revocations of the last 30 days."""
    today = today or business_today()
    tasks = _ready_tasks_query(STAFF_LANES)
    since = now() - _dt.timedelta(days=REVOCATION_DAYS)
    revoked = (Application.select(Application.id, Application.number, Application.revoked_at,
                                  Application.revocation_reason, Matter.id, Matter.name, Subject.id, Subject.name)
               .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
               .join(Subject, on=(Application.subject == Subject.id))
               .where((Application.status == REVOKED) & (Application.revoked_at >= since)))
    pending = SupervisionItem.select().where(SupervisionItem.state == PENDING)
    return {
        "tasks_ready": tasks.count(),
        "tasks_overdue": tasks.where(overdue_clause(today)).count(),
        "tasks_due_soon": tasks.where(due_soon_clause(today)).count(),
        "supervision_pending": pending.count(),
        "supervision_overdue": pending.where(SupervisionItem.due_date < today).count(),
        "revocations_count": revoked.count(),
        "revocations": list(revoked.order_by(Application.revoked_at.desc()).limit(20)),
    }


# --- claim and release ------------------------------------------------------------------------

def claim_action(task_id: str, action: str) -> tuple[bool, str, int]:
    """Claim or release a task as the signed-in staff member: (done, message, HTTP status)."""
    user = current_staff()
    row = HumanTask.get_or_none(HumanTask.task_id == task_id)
    if row is None:
        return False, _("任务 %(id)s 不存在。", id=task_id), 404
    role = row.lane if user.role == SYSADMIN and row.lane in STAFF_LANES else user.role
    actor = service.Actor.staff(user.username, role)
    try:
        if action == "claim":
            service.claim_task(task_id, actor)
            return True, _("已认领“%(task)s”：在您释放之前，只有您可以办理。", task=row.name), 200
        if row.claimed_by is None:
            return True, _("“%(task)s”未被认领，无需释放。", task=row.name), 200
        service.release_task(task_id, actor, override=user.role == SYSADMIN)
        return True, _("已释放“%(task)s”，其他人员可以认领。", task=row.name), 200
    except service.NotAllowed as e:
        return False, str(e), 403
    except service.NotFound as e:
        return False, str(e), 404
    except service.Conflict as e:
        return False, str(e), 409
    except service.ApplicationError as e:
        return False, str(e), 400


def safe_next(target: str | None) -> str | None:
    """Only a path inside the admin is followed after a claim or release."""
    return _safe_next(target, under=current_app.extensions["xinyipi"].admin.url.rstrip("/") + "/")


class WorkbenchView(RoleAccess, BaseView):
    """工作台: reviewers, approvers and supervisors (and system administrators, every lane)."""

    roles = WORKERS

    def _render(self, alert: str | None = None, status: int = 200):
        user = current_staff()
        today = business_today()
        scope = request.args.get("scope", "all")
        scope = scope if scope in SCOPES else "all"
        flag = request.args.get("flag", "")
        flag = flag if flag in ("overdue", "due_soon") else ""
        lanes = lanes_of(user.role)
        rows, total, counts = task_rows(lanes, user.username, scope, flag, today)
        items = supervision_rows(user, today)
        names = staff_names([r.task.claimed_by for r in rows] + [i["item"].assignee for i in items])
        from admin.cases import tier_badge
        body = self.render("xinyipi/workbench/index.html", tier_badge=tier_badge,
                           lane_label=lambda lane: LANES.get(lane, lane), rows=rows, total=total, counts=counts, scope=scope,
                           flag=flag, scopes=SCOPES, lanes=[LANES.get(l, l) for l in lanes], items=items,
                           today=today, who=lambda u: who(u, names), me=user, alert=alert,
                           fmt_time=lambda t: local_time(t).strftime("%Y-%m-%d %H:%M") if t else "",
                           page_size=PAGE_SIZE, here=request.full_path.rstrip("?"))
        return Response(body, status=status)

    @expose("/")
    def index(self):
        return self._render()

    def _act(self, task_id: str, action: str):
        done, message, status = claim_action(task_id, action)
        if status == 403:
            return forbidden()
        target = safe_next(request.form.get("next"))
        if done:
            flash(message, "success")
            return redirect(target or url_for(".index"))
        return self._render(alert=message, status=status)

    @expose("/claim/<task_id>", methods=("POST",))
    def claim(self, task_id):
        return self._act(task_id, "claim")

    @expose("/release/<task_id>", methods=("POST",))
    def release(self, task_id):
        return self._act(task_id, "release")


def register(admin) -> None:
    admin.add_view(WorkbenchView(name=_l("工作台"), endpoint="xinyipi_workbench", url="xinyipi_workbench"))
