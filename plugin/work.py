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
  an import), with the cause the watcher names (`TIER_CHANGE_CAUSES`): this is the one place
  that records tier changes, and the tier is still computed in one place, `plugin.credit.tiers`
  (`credit_states`, many subjects in a few queries, for imports); `settle_credit` records a move
  at once for a caller that must report it inside the unit (a breach's audit row);
- writes its domain events to the outbox (`domain_event`) in the same transaction, and hands them
  to the in-process subscribers only after commit (a rolled-back unit announces nothing). The
  event names are listed in `plugin.events`.

Nothing is written when the block raises: the transaction rolls back whole. A service refuses
with `Refused` (a reason a person can read), or `InUse` when a row still referred to would go.

A unit opened inside a transaction that is not a unit's (code not yet moved onto units) writes
in that transaction, and its events reach subscribers when that transaction commits.
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
from plugin.db import BaseModel, PreparedInsert, assign, database, references, write_transaction

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


class Refused(ValueError):
    """A service refused the write, for a reason a person can read; nothing was written."""


def refuse_if_referenced(row, owned: tuple[str, ...] = ()) -> None:
    """InUse naming what still refers to `row` (its `owned` rows apart), before a service deletes it."""
    uses = references(row, owned)
    if uses:
        raise InUse(str(row), uses)


def row_to_edit(model, row_id: int | None, missing: str):
    """The row of `model` a service is asked to change (a new one when `row_id` is None), or
    Refused(`missing`) when it is gone: the row was deleted since the page was opened."""
    if row_id is None:
        return model()
    found = model.get_or_none(model._meta.primary_key == row_id)
    if found is None:
        raise Refused(missing)
    return found


class InUse(Refused):
    """A row cannot be deleted while other rows refer to it. `uses` is [(table name, count)],
    for the caller to name in its own words (see `plugin.db.references`)."""

    def __init__(self, label: str, uses: list[tuple[str, int]]):
        self.label, self.uses = label, uses
        super().__init__(f"无法删除“{label}”：仍被 "
                         + "、".join(f"{count} 行 {table}" for table, count in uses) + " 引用。")


@dataclasses.dataclass
class _Watch:
    before: object           # plugin.credit.tiers.CreditState
    cause: str
    reason: str
    case_number: str | None


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
        self._watched: dict[int, _Watch] = {}     # subject id → its tier before, and why it may move
        self.tier_changes: list = []              # the TierChange rows written (not those written in bulk)
        self.tier_change_count = 0                # how many were written, in bulk or not

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

    def watch_credit(self, subject, cause: str | None = None, reason: str | None = None,
                     case_number: str | None = None) -> None:
        """Remember `subject`'s effective tier now (a Subject or its id): a move by the end of the
        unit is recorded as a TierChange with `cause` (a key of TIER_CHANGE_CAUSES; the unit's
        purpose by default), `reason` and `case_number`. Watching twice keeps the first."""
        self.watch_credit_many([subject], cause, reason, case_number)

    def watch_credit_many(self, subjects, cause: str | None = None, reason: str | None = None,
                          case_number: str | None = None) -> None:
        """`watch_credit` for many subjects (or ids) at once, in a few queries (imports)."""
        from plugin.credit.tiers import NoActiveScheme, credit_states
        ids = [i for i in dict.fromkeys(getattr(s, "id", s) for s in subjects)
               if i is not None and i not in self._watched]
        if not ids:
            return
        try:
            states = credit_states(ids, self.today)
        except NoActiveScheme:     # no scheme, no effective tier: nothing can move
            return
        cause = cause or self.purpose[:16]
        for subject_id, state in states.items():
            self._watched[subject_id] = _Watch(state, cause, reason or self.purpose, case_number)

    def settle_credit(self, subject):
        """Record now the move of a watched subject's tier since it was watched (the TierChange,
        or None when it did not move), and keep watching from here."""
        subject_id = getattr(subject, "id", subject)
        if subject_id not in self._watched:
            return None
        changes = self._record_tier_changes([subject_id], keep_watching=True)
        return changes[0] if changes else None

    # -- the end of the unit -----------------------------------------------------------------
    def _record_tier_changes(self, ids: list[int], keep_watching: bool = False) -> list:
        from plugin.credit.models import TierChange
        from plugin.credit.tiers import NoActiveScheme, credit_states
        try:
            after = credit_states(ids, self.today)
        except NoActiveScheme:
            after = {}
        at, actor = clock.utc_naive(), str(self.actor)[:100]
        rows = []
        for subject_id in ids:
            watch = self._watched.pop(subject_id)
            now_ = after.get(subject_id)
            if now_ is None:
                continue
            if keep_watching:
                self._watched[subject_id] = dataclasses.replace(watch, before=now_)
            before = watch.before
            if (before.tier, before.blacklisted) == (now_.tier, now_.blacklisted):
                continue
            rows.append({"subject": subject_id, "scheme": now_.scheme, "from_code": before.tier,
                         "to_code": now_.tier, "from_blacklisted": before.blacklisted,
                         "to_blacklisted": now_.blacklisted, "cause": watch.cause[:16], "reason": watch.reason,
                         "case_number": watch.case_number, "actor": actor, "at": at})
            self.emit("subject.tier_changed", subject_code=now_.subject_code, from_tier=before.tier,
                      to_tier=now_.tier, blacklisted=now_.blacklisted, cause=watch.cause)
        if len(rows) <= 10:
            changes = [TierChange.create(**row) for row in rows]
        else:   # an import's batch: many rows, one prepared statement (peewee's SQL building would dominate)
            _bulk_insert(_inserts(TierChange), rows)
            changes = []
        self.tier_changes.extend(changes)
        self.tier_change_count += len(rows)
        return changes

    def _flush(self) -> None:
        from plugin.applications.models import AuditEntry
        if self._watched:
            self._record_tier_changes(list(self._watched))
        if self._audit:
            _bulk_insert(_inserts(AuditEntry), self._audit)
            self._audit.clear()
        if self._events:
            actor, at = str(self.actor)[:100], self._stamp
            rows = [{"name": e["name"], "payload": _payload(e["payload"]),
                     "actor": actor, "subject_code": e["subject_code"], "case_number": e["case_number"],
                     "created_at": at, "attempts": 0} for e in self._events]
            _bulk_insert(_inserts(DomainEvent), rows)

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
             "domain_event": ["name", "payload", "actor", "subject_code", "case_number", "created_at", "attempts"],
             "tier_change": ["subject", "scheme", "from_code", "to_code", "from_blacklisted", "to_blacklisted",
                             "cause", "reason", "case_number", "actor", "at"]}
_prepared: dict = {}
_payload = json.JSONEncoder(ensure_ascii=False, default=str).encode
_BULK = 500


def _inserts(model) -> PreparedInsert:
    """The unit's rows of `model` go in as multi-row INSERTs whose SQL is built once (per database
    kind and row count), not by peewee on every unit: an instant approval is on the hot path, and an
    import's batch writes many rows."""
    found = _prepared.get(model)
    if found is None:
        found = _prepared[model] = PreparedInsert(model, _INSERTED[model._meta.table_name])
    return found


def _bulk_insert(statement: PreparedInsert, rows: list[dict]) -> None:
    """Insert `rows` in chunks of one size (so each statement is built once) and one remainder."""
    for start in range(0, len(rows), _BULK):
        statement.execute(rows[start:start + _BULK])


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
    after_commit = getattr(database.obj, "after_commit", None)
    if after_commit is None:        # peewee without commit hooks: the unit is its own transaction
        unit._announce()
    else:                           # now, or when the transaction this unit ran inside commits
        after_commit(unit._announce)


# --- what services use to apply a form's inline rows ---------------------------------------------
class RowEdit:
    """One row of a list a parent owns (a matter's material requirements, a scheme's tiers), as
    an edit form sends it: `id` None for a new row, `delete` for a row to remove."""

    __slots__ = ("id", "values", "delete")

    def __init__(self, id: int | None, values: dict, delete: bool = False):
        self.id, self.values, self.delete = id, values, delete

    def __repr__(self):
        return f"RowEdit({self.id!r}, {self.values!r}, delete={self.delete})"


def save_owned_rows(parent, model, link: str, edits, fields) -> list[tuple[str, object]]:
    """Apply `edits` (RowEdit) to the rows of `model` whose `link` points at `parent`: update the
    parent's rows named by id, delete those marked (refused with `plugin.work.InUse` while
    anything else refers to one), create the others. An id that is not one of the parent's rows
    makes a new row. Returns [(what, row)], what being created / updated / deleted."""
    mine = {r._pk: r for r in model.select().where(getattr(model, link) == parent._pk)}
    done = []
    for edit in edits or ():
        row = mine.get(edit.id)
        if row is not None and edit.delete:
            refuse_if_referenced(row)
            row.delete_instance()
            done.append(("deleted", row))
            continue
        if edit.delete:
            continue
        created = row is None
        if created:
            row = model()
        assign(row, edit.values, fields)
        setattr(row, link, parent._pk)
        row.save(force_insert=created)
        done.append(("created" if created else "updated", row))
    return done
