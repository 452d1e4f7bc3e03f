"""Admin edits that move a subject's tier now leave a TierChange (before, only breaches and repairs
did), because the credit views hand their forms to the services (plugin.credit.*), which run in a
unit of work; a save that fails leaves no audit row, no tier change and no event."""
from __future__ import annotations

import datetime as _dt

from plugin import clock
from plugin.applications.models import AuditEntry
from plugin.credit.models import DishonestyRecord, Subject, Tier, TierChange, TierScheme
from plugin.credit.tiers import effective_tier
from plugin.work import DomainEvent
from tests.helpers import new_subject, sign_in


def _client(app, role):
    client = app.test_client()
    sign_in(client, f"user_{role}", role)
    return client


def _haikou(code: str) -> Tier:
    return Tier.select().join(TierScheme).where((TierScheme.code == "haikou") & (Tier.code == code)).get()


def _events(subject) -> list[str]:
    return [e.name for e in DomainEvent.select().where(DomainEvent.subject_code == subject.code)
            .order_by(DomainEvent.id)]


def test_a_catalog_admin_adding_a_severe_record_records_the_tier_change(seeded, app):
    client = _client(app, "catalog_admin")
    subject = new_subject("red", seed=401)
    r = client.post("/admin/xinyipi_dishonesty_record/new/", data={
        "subject": str(subject.id), "severity": "严重", "reason": "提供虚假材料", "authority": "市场监管局",
        "start": clock.today().isoformat(), "end": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.from_code, change.to_code, change.from_blacklisted, change.to_blacklisted) == ("red", "black",
                                                                                                  False, True)
    assert (change.cause, change.actor) == ("admin", "user_catalog_admin")
    assert "提供虚假材料" in change.reason
    assert AuditEntry.get(AuditEntry.action == "dishonesty_record.create").actor == "user_catalog_admin"
    assert _events(subject) == ["record.created", "subject.tier_changed"]
    # the archive page shows it
    page = client.get(f"/admin/xinyipi_credit_archive/{subject.code}/").get_data(as_text=True)
    assert "人工维护" in page

    # expiring it (the supervisor's action) moves the tier back, and so does nothing twice
    record = DishonestyRecord.get(DishonestyRecord.subject == subject)
    supervisor = _client(app, "supervisor")
    assert supervisor.post("/admin/xinyipi_dishonesty_record/action/",
                           data={"action": "expire", "rowid": [record.id]}).status_code == 302
    supervisor.post("/admin/xinyipi_dishonesty_record/action/", data={"action": "expire", "rowid": [record.id]})
    changes = [(c.from_code, c.to_code, c.actor) for c in
               TierChange.select().where(TierChange.subject == subject).order_by(TierChange.id)]
    assert changes == [("red", "black", "user_catalog_admin"), ("black", "red", "user_supervisor")]


def test_changing_a_subjects_imported_tier_records_the_tier_change(seeded, app):
    client = _client(app, "catalog_admin")
    subject = new_subject("orange", seed=402)
    data = {"code": subject.code, "name": subject.name, "kind": subject.kind, "tier": str(_haikou("red").id),
            "source": "人工核定", "contact_email": "", "contact_phone": ""}
    r = client.post(f"/admin/xinyipi_subject/edit/?id={subject.id}", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert effective_tier(Subject.get_by_id(subject.id)).code == "red"
    [change] = TierChange.select().where(TierChange.subject == subject)
    assert (change.from_code, change.to_code, change.cause, change.actor) == ("orange", "red", "admin",
                                                                              "user_catalog_admin")
    assert AuditEntry.select().where(AuditEntry.action == "subject.update").count() == 1
    assert _events(subject) == ["subject.changed", "subject.tier_changed"]


def test_the_repair_action_records_a_repair(seeded, app):
    subject = new_subject("blue", seed=403)
    client = _client(app, "catalog_admin")
    client.post("/admin/xinyipi_dishonesty_record/new/", data={
        "subject": str(subject.id), "severity": "严重", "reason": "失信", "authority": "法院",
        "start": (clock.today() - _dt.timedelta(days=3)).isoformat(), "end": ""})
    record = DishonestyRecord.get(DishonestyRecord.subject == subject)
    r = _client(app, "supervisor").post("/admin/xinyipi_dishonesty_record/action/",
                                        data={"action": "repair", "rowid": [record.id]})
    assert r.status_code == 302
    last = TierChange.select().where(TierChange.subject == subject).order_by(TierChange.id.desc()).first()
    assert (last.from_code, last.to_code, last.cause, last.cause_label) == ("black", "blue", "repair", "信用修复")


def test_a_failed_admin_save_leaves_no_audit_no_tier_change_and_no_event(seeded, app):
    """A subject edit that would move the tier, with a code another subject has: the database
    refuses the save after the tier was watched, and the unit leaves nothing behind."""
    client = _client(app, "catalog_admin")
    subject, other = new_subject("red", seed=404), new_subject("blue", seed=405)
    before = (AuditEntry.select().count(), TierChange.select().count(), DomainEvent.select().count())
    data = {"code": other.code, "name": subject.name, "kind": subject.kind, "tier": str(_haikou("orange").id),
            "source": "人工", "contact_email": "", "contact_phone": ""}
    page = client.post(f"/admin/xinyipi_subject/edit/?id={subject.id}", data=data,
                       follow_redirects=True).get_data(as_text=True)
    assert "保存失败" in page
    assert (AuditEntry.select().count(), TierChange.select().count(), DomainEvent.select().count()) == before
    fresh = Subject.get_by_id(subject.id)
    assert (fresh.code, fresh.tier_id) == (subject.code, subject.tier_id)


def test_the_bulk_delete_action_refuses_what_is_referred_to(seeded, app):
    """Flask-Admin's own bulk delete deleted recursively; ours goes through the service row by row."""
    client = _client(app, "catalog_admin")
    subject = new_subject("blue", seed=406)
    client.post("/admin/xinyipi_dishonesty_record/new/", data={
        "subject": str(subject.id), "severity": "一般", "reason": "记录", "authority": "法院",
        "start": clock.today().isoformat(), "end": ""})
    page = client.post("/admin/xinyipi_subject/action/", data={"action": "delete", "rowid": [subject.id]},
                       follow_redirects=True).get_data(as_text=True)
    assert "无法删除" in page and "失信记录" in page
    assert Subject.get_or_none(Subject.id == subject.id) is not None
    assert DishonestyRecord.select().where(DishonestyRecord.subject == subject).count() == 1

