"""The unit of work: the one way in for every write that changes a case, a subject's credit, the
catalog or the negative list (DESIGN §3.2).

    with unit_of_work(actor, "import-subjects") as work:
        work.watch_credit(subject)          # before changing what the tier depends on
        subject.tier = new_tier; subject.save()
        work.audit("subject.update", subject=subject, tier=new_tier.code)
        work.emit("subject.tier_changed", subject_code=subject.code)

A unit
- opens one transaction (the write lock at once on SQLite), or joins the unit already open in
  this thread, so a service calling another service stays in one transaction;
- carries the actor and the business clock, frozen for the unit: every `now()` and `today()`
  inside it (and every stored timestamp) is the same moment in `XINYIPI_TIMEZONE`;
- writes its audit rows in one statement before commit;
- records a `TierChange` for every subject whose effective tier or blacklisting moved between
  `watch_credit` and the end of the unit, whatever caused it (a breach, a repair, an admin edit,
  an import): the tier is still computed in one place, `plugin.credit.tiers.effective_tier`;
- writes its domain events to the outbox (`domain_event`) in the same transaction, and hands them
  to the in-process subscribers only after commit (a rolled-back unit announces nothing).

Nothing is written when the block raises: the transaction rolls back whole.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as _dt
import json
import logging

import peewee as pw

from plugin import clock
from plugin.db import BaseModel, PreparedInsert, database, write_transaction

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, an applicant (by subject code), a platform client, or the system."""

    kind: str            # staff / applicant / platform / system
    id: str
    role: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, what: str = "system") -> "Actor":
        return cls("system", what)

    @classmethod
    def staff(cls, username: str, role: str | None = None, name: str | None = None) -> "Actor":
        return cls("staff", username, role, name)

    @classmethod
    def applicant(cls, code: str, name: str | None = None) -> "Actor":
        return cls("applicant", code, None, name)

    def __str__(self):
        return self.id if self.kind != "system" else f"system:{self.id}" if self.id != "system" else "system"


class DomainEvent(BaseModel):
    """The outbox: what happened, written with the change, delivered after commit."""

    name = pw.CharField(max_length=64, index=True, verbose_name="事件")
    payload = pw.TextField(verbose_name="内容")          # JSON
    actor = pw.CharField(max_length=100, verbose_name="操作人")
    subject_code = pw.CharField(max_length=18, null=True, index=True, verbose_name="信用主体")
    case_number = pw.CharField(max_length=32, null=True, index=True, verbose_name="办件编号")
    created_at = pw.DateTimeField(index=True, verbose_name="发生时间")
    delivered_at = pw.DateTimeField(null=True, index=True, verbose_name="投递时间")
    attempts = pw.IntegerField(default=0, verbose_name="投递次数")
    last_error = pw.TextField(null=True, verbose_name="最近错误")

    class Meta:
        table_name = "domain_event"


_current: contextvars.ContextVar["UnitOfWork | None"] = contextvars.ContextVar("xinyipi_unit", default=None)
_subscribers: dict[str, list] = {}


def subscribe(name: str, handler) -> None:
    """Call `handler(event)` after the commit of every unit that emitted `name` ("*" for all)."""
    _subscribers.setdefault(name, []).append(handler)


class UnitOfWork:
    def __init__(self, actor: Actor | str, purpose: str, moment: _dt.datetime):
        self.actor = actor if isinstance(actor, Actor) else Actor("staff", str(actor))
        self.purpose = purpose
        self.moment = moment
        self._stamp = moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)   # stored form of `moment`
        self._audit: list[dict] = []
        self._events: list[dict] = []
        self._watched: dict[int, tuple] = {}      # subject id → (subject, tier before)
        self.tier_changes: list = []

    # -- the clock ---------------------------------------------------------------------------
    @property
    def now(self) -> _dt.datetime:
        return clock.now()

    @property
    def today(self) -> _dt.date:
        return clock.today()

    # -- what the unit writes ----------------------------------------------------------------
    def audit(self, action: str, application=None, subject=None, from_status: str | None = None,
              to_status: str | None = None, tier_code: str | None = None, *, by: "Actor | str | None" = None,
              **detail) -> None:
        """An audit row, written with the unit. `by` names who acted when it is not the unit's actor
        (the system accepting the case an applicant submitted, in the applicant's unit)."""
        self._audit.append({"application": getattr(application, "id", application),
                            "subject": getattr(subject, "id", subject), "actor": str(self.actor if by is None else by),
                            "action": action, "from_status": from_status, "to_status": to_status,
                            "tier_code": tier_code, "detail": detail, "at": self._stamp})

    def emit(self, name: str, subject_code: str | None = None, case_number: str | None = None, **payload) -> None:
        """A domain event: into the outbox with the unit, to subscribers after commit."""
        self._events.append({"name": name, "subject_code": subject_code, "case_number": case_number,
                             "payload": payload})

    def watch_credit(self, subject) -> None:
        """Remember `subject`'s effective tier now; at the end of the unit a move is recorded."""
        if subject.id not in self._watched:
            from plugin.credit.tiers import effective_tier
            self._watched[subject.id] = (subject, effective_tier(subject, self.today))

    # -- the end of the unit -----------------------------------------------------------------
    def _flush(self) -> None:
        from plugin.applications.models import AuditEntry
        from plugin.credit.models import Subject, TierChange
        from plugin.credit.tiers import effective_tier
        for subject_id, (subject, before) in self._watched.items():
            fresh = Subject.get_or_none(Subject.id == subject_id)
            if fresh is None:
                continue
            after = effective_tier(fresh, self.today)
            if (before.code, before.blacklisted) != (after.code, after.blacklisted):
                change = TierChange.create(subject=fresh, scheme=after.scheme, from_code=before.code,
                                           to_code=after.code, from_blacklisted=before.blacklisted,
                                           to_blacklisted=after.blacklisted, cause=self.purpose[:16],
                                           reason=self.purpose, case_number=None, actor=str(self.actor))
                self.tier_changes.append(change)
                self.emit("subject.tier_changed", subject_code=fresh.code, from_tier=before.code,
                          to_tier=after.code, blacklisted=after.blacklisted, cause=self.purpose)
        self._watched.clear()
        if self._audit:
            _inserts(AuditEntry).execute(self._audit)
            self._audit.clear()
        if self._events:
            actor, at = str(self.actor), self._stamp
            rows = [{"name": e["name"], "payload": _payload(e["payload"]),
                     "actor": actor, "subject_code": e["subject_code"], "case_number": e["case_number"],
                     "created_at": at, "attempts": 0} for e in self._events]
            _inserts(DomainEvent).execute(rows)

    def _announce(self) -> None:
        for event in self._events:
            for handler in _subscribers.get(event["name"], []) + _subscribers.get("*", []):
                try:
                    handler(event)
                except Exception:  # noqa: BLE001 — a subscriber never undoes a committed unit
                    log.exception("subscriber of %s failed", event["name"])
        self._events.clear()


_INSERTED = {"audit_entry": ["application", "subject", "actor", "action", "from_status", "to_status", "tier_code",
                              "detail", "at"],
             "domain_event": ["name", "payload", "actor", "subject_code", "case_number", "created_at", "attempts"]}
_prepared: dict = {}
_payload = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _inserts(model) -> PreparedInsert:
    """The unit's rows of `model` go in as one multi-row INSERT whose SQL is built once (per database
    kind and row count), not by peewee on every unit: an instant approval is on the hot path."""
    found = _prepared.get(model)
    if found is None:
        found = _prepared[model] = PreparedInsert(model, _INSERTED[model._meta.table_name])
    return found


def current() -> UnitOfWork | None:
    """The unit open in this thread, if any."""
    return _current.get()


@contextlib.contextmanager
def unit_of_work(actor: Actor | str, purpose: str = ""):
    """Open a unit (or join the one already open: the outer unit commits, audits and announces)."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    moment = clock.now()
    unit = UnitOfWork(actor, purpose, moment)
    token = _current.set(unit)
    try:
        with clock.frozen(moment), write_transaction():
            yield unit
            unit._flush()
    finally:
        _current.reset(token)
    unit._announce()
