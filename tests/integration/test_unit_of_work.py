"""The unit of work (plugin.work): one transaction, one frozen clock, its audit rows, its tier
changes and its events, all or nothing; events reach subscribers only after commit."""
from __future__ import annotations

import datetime as _dt

import pytest

from helpers import add_record, new_subject
from plugin import clock, work
from plugin.applications.models import AuditEntry
from plugin.credit.models import SEVERE, TierChange


def test_a_unit_writes_audit_tier_change_and_event_together(seeded):
    subject = new_subject("red")
    seen = []
    work.subscribe("subject.tier_changed", seen.append)
    with work.unit_of_work(work.Actor.staff("catalog"), "admin-edit") as unit:
        first = unit.now
        unit.watch_credit(subject)
        add_record(subject, SEVERE)
        unit.audit("dishonesty_record.create", subject=subject, reason="测试")
        assert unit.now == first  # the clock stands still inside a unit
        assert not seen           # nothing announced before commit
    change = TierChange.get(TierChange.subject == subject)
    assert (change.from_code, change.to_code, change.to_blacklisted, change.actor) == ("red", "black", True, "catalog")
    assert AuditEntry.get(AuditEntry.action == "dishonesty_record.create").at == first.astimezone(
        _dt.timezone.utc).replace(tzinfo=None)
    event = work.DomainEvent.get(work.DomainEvent.name == "subject.tier_changed")
    assert event.subject_code == subject.code and event.delivered_at is None
    assert [e["subject_code"] for e in seen] == [subject.code]


def test_a_unit_that_raises_leaves_nothing(seeded):
    subject = new_subject("red")
    seen = []
    work.subscribe("*", seen.append)
    before = (AuditEntry.select().count(), TierChange.select().count(), work.DomainEvent.select().count())
    with pytest.raises(RuntimeError):
        with work.unit_of_work(work.Actor.staff("catalog"), "admin-edit") as unit:
            unit.watch_credit(subject)
            add_record(subject, SEVERE)
            unit.audit("dishonesty_record.create", subject=subject)
            unit.emit("record.created", subject_code=subject.code)
            raise RuntimeError("boom")
    assert (AuditEntry.select().count(), TierChange.select().count(), work.DomainEvent.select().count()) == before
    assert not seen
    from plugin.credit.models import DishonestyRecord
    assert not DishonestyRecord.select().where(DishonestyRecord.subject == subject).exists()


def test_nested_units_join_the_outer_one(seeded):
    with work.unit_of_work("outer", "outer") as outer:
        with work.unit_of_work("inner", "inner") as inner:
            assert inner is outer
            inner.audit("inner.action")
        assert work.current() is outer
    assert work.current() is None
    assert AuditEntry.get(AuditEntry.action == "inner.action").actor == "outer"


def test_a_tier_that_did_not_move_records_nothing(seeded):
    subject = new_subject("black")
    with work.unit_of_work("x", "edit") as unit:
        unit.watch_credit(subject)
    assert not TierChange.select().where(TierChange.subject == subject).exists()
    assert clock.is_frozen() is False
