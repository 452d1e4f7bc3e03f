"""The case file (案卷): what the pages show about cases, read in one place. Nothing here writes.

An applicant's cases, a case's record (`timeline`), the staff's opinions on it, and the last day of
its supplement.
"""
from __future__ import annotations

import datetime as _dt

from plugin import clock
from plugin.applications.models import FINAL, Application, AuditEntry


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
