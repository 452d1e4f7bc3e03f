"""Incidents (流程异常): when a diagram fails while a case runs, the case keeps its last good state
and staff get a row that says where and why. Written in a transaction of its own, after the failed
operation has rolled back, so recording the failure never half-applies the operation."""
from __future__ import annotations

import re

from plugin.applications.models import Application, Incident
from plugin.db import database, now

_ELEMENT = re.compile(r"（元素 ([^）]+)）|停在元素 ([^）]+)）|^([A-Za-z_][\w.-]*): ")


def element_of(message: str) -> str | None:
    match = _ELEMENT.search(message or "")
    return next((g for g in match.groups() if g), None) if match else None


def record(operation: str, message: str, application: Application | None = None, matter_id: int | None = None,
           process_id: int | None = None, subject_code: str | None = None) -> Incident:
    """Keep (or count again) the open incident for this case, element and message."""
    element = element_of(message)
    if application is not None:
        matter_id = matter_id or application.matter_id
        process_id = process_id or application.process_id
    with database.atomic():
        where = Incident.resolved_at.is_null() & (Incident.operation == operation) & (Incident.message == message)
        where &= (Incident.application == application.id) if application is not None else Incident.application.is_null()
        where &= (Incident.matter == matter_id) if matter_id else Incident.matter.is_null()
        query = Incident.select().where(where)
        found = query.first()
        if found is not None:
            Incident.update(occurrences=Incident.occurrences + 1, last_at=now()).where(Incident.id == found.id).execute()
            return found
        return Incident.create(application=application, matter=matter_id, process=process_id,
                               subject_code=subject_code, operation=operation, element_id=element,
                               message=message[:4000])


def resolve(incident_ids, actor: str) -> int:
    """Mark incidents handled; returns how many were open."""
    return (Incident.update(resolved_at=now(), resolved_by=actor)
            .where(Incident.id.in_(list(incident_ids)) & Incident.resolved_at.is_null()).execute())


def open_count() -> int:
    return Incident.select().where(Incident.resolved_at.is_null()).count()
