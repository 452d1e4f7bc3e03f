"""The case file (案卷): what the pages show about cases, read in one place. Nothing here writes.

`case_file(number, viewer)` gathers everything one case's page shows into a plain `CaseFile`, for
a member of staff (the staff case page) or for the applicant whose case it is (the portal's case
page; anyone else's case is NotFound). The views render it and format it; they query nothing
themselves. Also: an applicant's cases, a case's record (`timeline`), the staff's opinions on it,
and the last day of its supplement.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from plugin import clock
from plugin.applications import lifecycle, progress
from plugin.applications.materials import commitments_of, materials_of
from plugin.applications.models import FINAL, REFUSED, STATUSES, Application, AuditEntry
from plugin.applications.tasks import ready_tasks
from plugin.applications.vocabulary import INTERNAL_ACTIONS, action_label
from plugin.work import Actor


@dataclasses.dataclass
class CaseFile:
    """One case as its page shows it. Fields after `commitments` are filled for the viewer's page
    only: staff (the credit snapshot, the task index and its claims, the full record, supervision)
    or the applicant (their record in their words, the staff's opinions, what they owe)."""

    case: Application
    today: _dt.date
    deadline: progress.Deadline
    tasks: list[dict]                 # ready human tasks with their forms (`ready_tasks`), for staff with claims
    current: list[str]                # BPMN ids of the steps the case is at
    done: list[str]                   # … and of those it has been through
    materials: list
    commitments: list
    timeline: list[dict] = dataclasses.field(default_factory=list)
    # staff
    snapshot: dict = dataclasses.field(default_factory=dict)
    scheme_name: str = ""
    human_tasks: list = dataclasses.field(default_factory=list)
    current_names: list[str] = dataclasses.field(default_factory=list)
    supervision_items: list = dataclasses.field(default_factory=list)
    breach_records: list = dataclasses.field(default_factory=list)
    tier_changes: list = dataclasses.field(default_factory=list)
    staff_names: dict[str, str] = dataclasses.field(default_factory=dict)
    # the applicant
    opinions: list[dict] = dataclasses.field(default_factory=list)
    supplement_due: _dt.date | None = None
    refusal_basis: str | None = None
    repair: object = None             # the credit-repair matter, offered on a refused case

    def fields(self) -> dict:
        """The file as template variables (shallow: the rows stay as they are)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def case_file(number: str, viewer: Actor, works: tuple[str, ...] = ()) -> CaseFile:
    """The case file of case `number` for `viewer`: a member of staff, who works the task lanes
    `works` (their claims and forms), or the applicant, whose own case it must be."""
    applicant = viewer.kind == "applicant"
    app = lifecycle.get_for_applicant(number, viewer.id) if applicant else lifecycle.get(number)
    today = clock.today()
    current, done = progress.diagram_state(app)
    file = CaseFile(case=app, today=today, deadline=progress.deadline(app, today), tasks=ready_tasks(app),
                    current=current, done=done, materials=materials_of(app), commitments=commitments_of(app))
    if applicant:
        _for_applicant(file)
    else:
        _for_staff(file, viewer, works)
    return file


def _for_staff(file: CaseFile, viewer: Actor, works: tuple[str, ...]) -> None:
    from plugin.credit.models import DishonestyRecord, TierChange
    from plugin.credit.tiers import schemes
    from plugin.engine.validate import LANES
    from plugin.supervision.models import SupervisionItem
    app = file.case
    file.human_tasks = progress.human_tasks(app)
    claims = {t.task_id: t for t in file.human_tasks}
    for task in file.tasks:
        row = claims.get(task["id"])
        task["lane_label"] = LANES.get(task["lane"], task["lane"])
        task["mine"] = task["lane"] in works
        task["claimed_by"] = row.claimed_by if row is not None else None
        task["claimed_at"] = row.claimed_at if row is not None else None
        task["claimed_by_other"] = bool(task["claimed_by"]) and task["claimed_by"] != viewer.id
    names_of = {t.element_id: t.name for t in file.human_tasks}
    file.current_names = [names_of.get(i, i) for i in file.current]
    file.supervision_items = list(SupervisionItem.select().where(SupervisionItem.application == app.id)
                                  .order_by(SupervisionItem.id))
    file.staff_names = staff_names([t.claimed_by for t in file.human_tasks]
                                   + [i.assignee for i in file.supervision_items])
    file.timeline = [{"at": a.at, "actor": a.actor, "action": a.action, "from": a.from_status,
                      "to": a.to_status, "detail": a.detail} for a in _record_of(app)]
    file.snapshot = app.tier_snapshot or {}
    scheme = next((s for s in schemes().values() if s.code == file.snapshot.get("scheme")), None)
    file.scheme_name = scheme.name if scheme else file.snapshot.get("scheme", "")
    if app.revoked_at:
        file.breach_records = list(DishonestyRecord.select().where(DishonestyRecord.case_number == app.number)
                                   .order_by(DishonestyRecord.id))
        file.tier_changes = list(TierChange.select().where(TierChange.case_number == app.number)
                                 .order_by(TierChange.id))


def _for_applicant(file: CaseFile) -> None:
    from plugin.applications.guide import repair_matter
    app = file.case
    rows = _record_of(app)
    file.timeline = _applicant_record(rows)
    file.opinions = _opinions(rows)
    file.supplement_due = supplement_deadline(app)
    if app.refusal_reason:
        refusal = next((a for a in rows if a.action == "refused"), None)
        file.refusal_basis = (refusal.detail or {}).get("legal_basis") if refusal else None
    if app.status == REFUSED:
        file.repair = repair_matter()


def staff_names(usernames) -> dict[str, str]:
    """username → name of the staff accounts among `usernames` (gone accounts left out)."""
    from plugin.accounts import StaffUser
    names = {u for u in usernames if u}
    if not names:
        return {}
    return {u: n for u, n in StaffUser.select(StaffUser.username, StaffUser.name)
            .where(StaffUser.username.in_(sorted(names))).tuples()}


# ---------------------------------------------------------------------------------------------
# a case's record
# ---------------------------------------------------------------------------------------------
def _record_of(app: Application) -> list[AuditEntry]:
    return list(app.audit.order_by(AuditEntry.at, AuditEntry.id))


def timeline(app: Application) -> list[dict]:
    """The case's audit rows, oldest first, as plain data (the CLI and the API print these)."""
    return [{"at": a.at.isoformat(sep=" ", timespec="seconds"), "actor": a.actor, "action": a.action,
             "from": a.from_status, "to": a.to_status, "detail": a.detail}
            for a in _record_of(app)]


def _opinions(rows) -> list[dict]:
    out = []
    for a in rows:
        if a.action != "task_completed":
            continue
        values = (a.detail or {}).get("values") or {}
        if a.actor.startswith("staff:") and values.get("opinion"):
            role = a.actor.rsplit("(", 1)[-1].rstrip(")") if "(" in a.actor else ""
            out.append({"task": a.detail.get("task"), "opinion": values["opinion"], "role": role,
                        "at": a.at, "values": values})
    return out


def opinions(app: Application) -> list[dict]:
    """What staff wrote when they completed the case's tasks (the reasons of the decision)."""
    return _opinions(AuditEntry.select().where((AuditEntry.application == app.id)
                                               & (AuditEntry.action == "task_completed"))
                     .order_by(AuditEntry.at, AuditEntry.id))


def _applicant_record(rows) -> list[dict]:
    """The case's record as the applicant reads it: who (the applicant, a role, the system), what
    happened in their words, the status it led to, and a note (a reason, an opinion)."""
    from plugin.accounts import ROLES
    from plugin.i18n import _
    out = []
    for a in rows:
        if a.action in INTERNAL_ACTIONS:
            continue
        actor = a.actor
        if actor.startswith("applicant:"):
            who = _("申请人")
        elif actor.startswith("staff:"):
            role = actor.rsplit("(", 1)[-1].rstrip(")") if "(" in actor else ""
            who = _(ROLES.get(role, "工作人员"))
        else:
            who = _("系统")
        detail = a.detail or {}
        if a.action == "task_completed":
            text = _("完成“%(task)s”", task=detail.get("task", ""))
        elif a.action == "tier_changed":
            text = _("信用等级由“%(a)s”变为“%(b)s”", a=_tier_label(detail.get("from_tier")),
                     b=_tier_label(detail.get("to_tier")))
        else:
            text = action_label(a.action, applicant=True)
        values = detail.get("values") or {}
        note = detail.get("reason") or (values.get("opinion") if actor.startswith("staff:") else None)
        if a.action.endswith(("_passed", "_failed")) and a.action.startswith(("verification", "inspection")):
            note = detail.get("note")
        out.append({"at": progress.local_time(a.at.replace(microsecond=0)), "who": who, "text": text,
                    "to": STATUSES.get(a.to_status) if a.to_status else None, "note": note})
    return out


def _tier_label(code: str | None) -> str:
    from plugin.credit.tiers import active_scheme_info
    try:
        tier = active_scheme_info().tier(code) if code else None
    except RuntimeError:
        tier = None
    return tier.label if tier is not None else (code or "")


# ---------------------------------------------------------------------------------------------
# lists and dates
# ---------------------------------------------------------------------------------------------
def cases_of(applicant_code: str) -> list[Application]:
    """The applicant's own cases, drafts included, newest first."""
    from plugin.credit.models import Subject
    return list(Application.select(Application).join(Subject)
                .where(Subject.code == applicant_code).order_by(Application.submitted_at.desc(),
                                                                Application.id.desc()))


def supplement_deadline(app: Application) -> _dt.date | None:
    """The last day of the case's supplement (容缺补正), once the supplement has started."""
    if app.next_due_at is None or app.status in FINAL:
        return None
    return clock.local_date(app.next_due_at)
