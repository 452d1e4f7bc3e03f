"""m0008_identity upgrades a database of the previous release: the columns and tables it states are
added, accounts bound before it stay unverified, and `xinyipi init` stays idempotent."""
from __future__ import annotations

import peewee as pw

from plugin.credit.models import Subject
from plugin.db import database
from plugin.migrations import SchemaMigration, migrate
from plugin.portal.models import ApplicantAccount
from plugin.credit.codes import make_credit_code

NEW_TABLES = ("sign_in_session", "sign_in_guard", "binding_request", "notification")


def _as_before_0008(db) -> None:
    """Take the schema back to what m0007 left (m0001/m0004 create tables from today's models)."""
    for table in NEW_TABLES:
        db.execute_sql(f'DROP TABLE "{table}"')
    for table, column in (("subject", "contact_email"), ("subject", "contact_phone"),
                          ("applicant_account", "verified_at"), ("applicant_account", "verified_via"),
                          ("applicant_account", "must_change_password")):
        db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    SchemaMigration.delete().where(SchemaMigration.number == 8).execute()


def test_m0008_upgrades_an_older_database(db):
    import random
    subject = Subject.create(code=make_credit_code(random.Random(8)), name="升级前的主体", kind="organisation",
                             tier=None, source="信用平台导入")
    db.execute_sql('INSERT INTO "applicant_account" ("subject_id", "code", "password_hash", "failed_logins", '
                   '"active", "created_at", "verified_at", "verified_via", "must_change_password") '
                   f"VALUES ({subject.id}, '{subject.code}', 'pbkdf2:x', 0, {'true' if isinstance(db, pw.PostgresqlDatabase) else 1}, "
                   "'2026-01-02 03:04:05', NULL, NULL, "
                   f"{'false' if isinstance(db, pw.PostgresqlDatabase) else 0})")
    _as_before_0008(db)
    assert "contact_email" not in {c.name for c in db.get_columns("subject")}
    assert migrate() == ["0008_identity"]
    assert migrate() == []                                             # idempotent
    assert set(NEW_TABLES) <= set(database.get_tables())
    columns = {c.name: c for c in db.get_columns("applicant_account")}
    assert {"verified_at", "verified_via", "must_change_password"} <= set(columns)
    account = ApplicantAccount.get(ApplicantAccount.code == subject.code)
    assert account.verified_at is None and account.must_change_password is False   # proven nothing yet
    assert Subject.get_by_id(subject.id).contact_email is None
    indexes = {i.name: i for i in db.get_indexes("sign_in_guard")}
    assert indexes["sign_in_guard_kind_account_id_client"].unique
    assert {i.name for i in db.get_indexes("sign_in_session")} >= {"sign_in_session_token_hash"}
