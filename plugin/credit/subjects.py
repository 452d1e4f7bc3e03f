"""Keeping the credit subjects (信用主体) by hand: staff create, edit and delete them, and an applicant
files a code new to the library by registering. Each change is one unit of work, audited as
subject.create / subject.update / subject.delete and announced as `subject.changed` (or
`subject.registered`). An edit that moves the subject's effective tier (its imported tier
changed) records a TierChange, cause "admin". Bulk loads from the credit platform are
`plugin.credit.importer`."""
from __future__ import annotations

from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import Subject
from plugin.db import assign, delete_with_owned, now
from plugin.events import CREATED, DELETED, UPDATED
from plugin.work import Refused, refuse_if_referenced, row_to_edit, unit_of_work

FIELDS = ("code", "name", "kind", "tier", "source", "contact_email", "contact_phone")
ADMIN = "admin"


def _audit(unit, action: str, subject: Subject, **detail) -> None:
    unit.audit(action, table="subject", id=subject.id, label=str(subject)[:200], **detail)


def _subject(subject_id: int) -> Subject:
    from plugin.i18n import _
    return row_to_edit(Subject, subject_id, _("所选信用主体不存在（可能已被删除）。"))


def save(actor, values: dict, subject_id: int | None = None) -> Subject:
    """Create a subject (`subject_id` None) or edit one. The code is checked (GB 32100 / GB 11643)
    and decides the kind, whatever `values` says; giving a tier stamps its time."""
    with unit_of_work(actor, ADMIN) as unit:
        created = subject_id is None
        subject = Subject() if created else _subject(subject_id)
        if not created:
            unit.watch_credit(subject, reason="工作人员修改信用主体")
        assign(subject, values, FIELDS)
        try:
            subject.code, subject.kind = validate_subject_code(subject.code or "")
        except InvalidCode as e:
            raise Refused(str(e)) from None
        if values.get("tier") is not None:
            subject.tier_updated_at = now()
        subject.save(force_insert=created)
        _audit(unit, f"subject.{'create' if created else 'update'}", subject)
        unit.emit("subject.changed", subject_code=subject.code, change=CREATED if created else UPDATED,
                  id=subject.id, code=subject.code)
    return subject


def delete(actor, subject_id: int) -> None:
    """Delete a subject nothing refers to (records, cases, accounts, its archive): InUse otherwise."""
    with unit_of_work(actor, ADMIN) as unit:
        subject = _subject(subject_id)
        refuse_if_referenced(subject)
        _audit(unit, "subject.delete", subject, removed={})
        unit.emit("subject.changed", subject_code=subject.code, change=DELETED, id=subject.id, code=subject.code)
        delete_with_owned(subject)


def register(actor, code: str, name: str, kind: str, source: str) -> tuple[Subject, bool]:
    """File the subject of an applicant who registers a code: a new subject with no imported tier
    (the active scheme's default until the credit platform rates it), or, for a self-registered
    code nobody holds any more, the new registrant's name. Returns (subject, created). Runs in the
    caller's unit when there is one (the account is created with it)."""
    with unit_of_work(actor, "register") as unit:
        subject = Subject.get_or_none(Subject.code == code)
        created = subject is None
        if created:
            subject = Subject.create(code=code, name=name, kind=kind, tier=None, source=source,
                                     tier_updated_at=None)
            unit.emit("subject.registered", subject_code=code, id=subject.id, code=code)
        elif subject.name != name:
            Subject.update(name=name).where(Subject.id == subject.id).execute()
            subject.name = name
    return subject, created
