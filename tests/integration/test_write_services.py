"""The services that write credit, the catalog, the negative list and the calendar (issue #13 §1):
each runs in a unit of work, so a tier that moves leaves a TierChange whatever moved it (a staff
edit, an import), and a call that fails leaves no audit row, no tier change and no event."""
from __future__ import annotations

import datetime as _dt
import io

import peewee as pw
import pytest

from helpers import add_record, new_subject
from plugin import clock, work
from plugin.applications.models import AuditEntry
from plugin.calendar import CalendarDay, save_day
from plugin.catalog import matters, negative_list
from plugin.catalog.models import Matter, NegativeListEntry
from plugin.credit import records, subjects
from plugin.credit.changes import record_breach
from plugin.credit.importer import import_dishonesty, import_subjects
from plugin.credit.models import SEVERE, DishonestyRecord, Subject, Tier, TierChange, TierScheme
from plugin.credit.tiers import credit_states, effective_tier
from plugin.db import write_transaction
from plugin.events import EVENTS

STAFF = work.Actor.staff("catalog", "catalog_admin")


def haikou(code: str) -> Tier:
    return Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == code)).get()


def counts() -> tuple[int, int, int]:
    return AuditEntry.select().count(), TierChange.select().count(), work.DomainEvent.select().count()


@pytest.fixture
def heard():
    """The events subscribers were handed (after commit) during the test."""
    seen = []
    work.subscribe("*", seen.append)
    yield seen
    work._subscribers["*"].remove(seen.append)


# --- tier changes, whatever moved the tier -------------------------------------------------------
def test_a_staff_edit_of_the_imported_tier_records_a_tier_change(seeded, heard):
    subject = new_subject("red", seed=301)
    subjects.save(STAFF, {"code": subject.code, "name": subject.name, "kind": subject.kind,
                          "tier": haikou("blue"), "source": "人工"}, subject.id)
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.from_code, change.to_code, change.cause, change.actor) == ("red", "blue", "admin", "catalog")
    assert change.cause_label == "人工维护"
    assert Subject.get_by_id(subject.id).tier_updated_at is not None
    assert [e["name"] for e in heard] == ["subject.changed", "subject.tier_changed"]  # tier changes come last
    assert heard[1]["subject_code"] == subject.code and heard[1]["payload"]["cause"] == "admin"
    # an edit that leaves the tier alone records none
    subjects.save(STAFF, {"name": "改名有限公司"}, subject.id)
    assert TierChange.select().where(TierChange.subject == subject).count() == 1


def test_records_entered_expired_and_repaired_by_staff_move_the_tier_with_their_cause(seeded):
    subject = new_subject("orange", seed=302)
    record = records.save(STAFF, {"subject": subject, "severity": SEVERE, "reason": "虚假材料", "authority": "市场监管局",
                                  "start": clock.today(), "end": None})
    assert effective_tier(Subject.get_by_id(subject.id)).blacklisted
    records.expire(STAFF, [record.id])
    again = records.save(STAFF, {"subject": subject, "severity": SEVERE, "reason": "又一次虚假材料",
                                 "authority": "市场监管局", "start": clock.today(), "end": None})
    assert records.repair(work.Actor.staff("supervisor", "supervisor"), [again.id]) == 1
    changes = [(c.from_code, c.to_code, c.to_blacklisted, c.cause)
               for c in TierChange.select().where(TierChange.subject == subject).order_by(TierChange.id)]
    assert changes == [("orange", "black", True, "admin"), ("black", "orange", False, "admin"),
                       ("orange", "black", True, "admin"), ("black", "orange", False, "repair")]
    actions = [a.action for a in AuditEntry.select().where(AuditEntry.action.startswith("dishonesty_record."))
               .order_by(AuditEntry.id)]
    assert actions == ["dishonesty_record.create", "dishonesty_record.expire", "dishonesty_record.create",
                       "dishonesty_record.repair"]
    # a general record does not move the tier: no change
    records.save(STAFF, {"subject": subject, "severity": "一般", "reason": "轻微", "authority": "市场监管局",
                         "start": clock.today(), "end": None})
    assert TierChange.select().where(TierChange.subject == subject).count() == 4


def test_an_import_records_the_tier_changes_of_the_batch(seeded, heard):
    moved, same = new_subject("red", seed=303), new_subject("blue", seed=304)
    fresh = new_subject("blue", seed=305)
    code_of_new = fresh.code
    fresh.delete_instance()
    text = (f"code,name,tier\n{moved.code},{moved.name},orange\n{same.code},{same.name},blue\n"
            f"{code_of_new},新主体有限公司,red\n91460100MA5T00000X,坏行,red\n")
    report = import_subjects(io.StringIO(text))
    assert report.imported == 3 and report.errors[0].startswith("line 5: ")   # line numbers still reported
    [change] = TierChange.select().where(TierChange.cause == "import")
    assert (change.subject_id, change.from_code, change.to_code, change.actor) == (moved.id, "red", "orange",
                                                                                   "system:import")
    assert AuditEntry.get(AuditEntry.action == "subject.import").detail["rows"] == 3
    assert [e["name"] for e in heard] == ["subjects.imported", "subject.tier_changed"]

    # dishonesty imported: the subject is blacklisted, and that is a change too
    report = import_dishonesty(io.StringIO(
        f"code,severity,reason,authority,start,end\n{same.code},严重,拒不履行,法院,{clock.today().isoformat()},\n"))
    assert report.ok
    [change] = TierChange.select().where((TierChange.cause == "import") & (TierChange.subject == same))
    assert (change.from_code, change.to_code, change.to_blacklisted) == ("blue", "black", True)


def test_the_bulk_tier_agrees_with_effective_tier(seeded):
    subjects_ = list(Subject.select().limit(200))
    states = credit_states([s.id for s in subjects_])
    for s in subjects_:
        t = effective_tier(s)
        assert (states[s.id].tier, states[s.id].blacklisted, states[s.id].scheme) == (t.code, t.blacklisted, t.scheme)


# --- a failed call leaves nothing --------------------------------------------------------------
def test_a_refused_call_leaves_no_audit_no_tier_change_and_no_event(seeded, heard):
    subject = new_subject("red", seed=306)
    before = counts()
    with pytest.raises(work.Refused, match="截止日期不能早于起始日期"):
        records.save(STAFF, {"subject": subject, "severity": SEVERE, "reason": "倒填日期", "authority": "某局",
                             "start": _dt.date(2026, 5, 1), "end": _dt.date(2026, 4, 1)})
    with pytest.raises(work.Refused, match="承诺时限不能长于法定时限"):
        matters.save(STAFF, {"promised_days": 99}, Matter.select().first().id)
    assert counts() == before and not heard
    assert not DishonestyRecord.select().where(DishonestyRecord.subject == subject).exists()


def test_a_call_that_fails_after_writing_leaves_nothing(seeded, heard):
    """The severe record is written and the tier has moved when the second write fails: the unit
    rolls back whole, the TierChange and the events with it."""
    subject, other = new_subject("red", seed=307), new_subject("blue", seed=308)
    values = {"subject": subject, "severity": SEVERE, "reason": "重复录入", "authority": "某局",
              "start": _dt.date(2026, 1, 5), "end": None}
    records.save(STAFF, values)
    heard.clear()
    before = counts()
    # the same record for the same subject again: its fingerprint is taken (the insert fails)
    with pytest.raises(pw.IntegrityError):
        records.save(STAFF, values)
    # a subject edit that moves the tier and then collides with another subject's code
    with pytest.raises(pw.IntegrityError):
        subjects.save(STAFF, {"code": other.code, "tier": haikou("orange")}, subject.id)
    # a matter whose inline row cannot go: refused after the matter row itself was saved
    matter = Matter.select().where(Matter.id.in_(NegativeListEntry.select(NegativeListEntry.matter))).first()
    with pytest.raises(work.InUse):
        matters.delete(STAFF, matter.id)
    assert counts() == before and not heard
    assert Subject.get_by_id(subject.id).code == subject.code


def test_a_breach_inside_a_transaction_that_rolls_back_announces_nothing(seeded, heard):
    subject = new_subject("blue", seed=309)
    before = counts()
    with pytest.raises(RuntimeError):
        with write_transaction():
            record, change = record_breach(subject, clock.today(), "承诺不实", "XYPTEST0001", "verification", "staff:x")
            assert change is not None and change.cause == "breach"     # settled at once, for the case's audit
            raise RuntimeError("the case change failed")
    assert counts() == before and not heard
    with write_transaction():
        record_breach(subject, clock.today(), "承诺不实", "XYPTEST0001", "verification", "staff:x")
        assert not heard                   # announced when the case's transaction commits, not before
    assert [e["name"] for e in heard] == ["record.created", "subject.tier_changed"]
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.cause, change.case_number, change.reason) == ("breach", "XYPTEST0001", "承诺不实")


# --- the catalog, the negative list, the calendar ------------------------------------------------
def test_catalog_writes_are_audited_and_announced(seeded, heard):
    matter = Matter.select().where(Matter.id.not_in(NegativeListEntry.select(NegativeListEntry.matter))).first()
    entry = negative_list.save_entry(STAFF, {"matter": matter, "legal_basis": "《测试条例》", "severity": SEVERE,
                                             "effective_from": clock.today(), "effective_to": None, "note": ""})
    assert negative_list.end_entries(STAFF, [entry.id]) == 1
    assert negative_list.end_entries(STAFF, [entry.id]) == 0        # ended already
    negative_list.delete_entry(STAFF, entry.id)
    day = save_day(STAFF, {"day": _dt.date(2031, 1, 1), "is_workday": False, "name": "元旦", "note": ""})
    assert CalendarDay.get_by_id(day.id).name == "元旦"
    actions = [a.action for a in AuditEntry.select().order_by(AuditEntry.id)][-4:]
    assert actions == ["negative_list.create", "negative_list.end", "negative_list.delete", "calendar_day.create"]
    assert [(e["name"], e["payload"].get("change")) for e in heard] == [
        ("negative_list.changed", "created"), ("negative_list.changed", "ended"),
        ("negative_list.changed", "deleted"), ("calendar.changed", "created")]
    assert heard[0]["payload"]["matter_code"] == matter.code
    assert all(e["name"] in EVENTS for e in heard)
