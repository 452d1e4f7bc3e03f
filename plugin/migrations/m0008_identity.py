"""Identity (issue #12): contacts of credit subjects; verified applicant accounts; server-side
sign-in sessions; wrong-password counters per account and client; binding requests with activation
codes; the record of every message sent (notifications).

Frozen: the DDL is stated here, not taken from the live models.
"""
import peewee as pw

from plugin.migrations import add_missing_columns

# column types by dialect: SQLite, PostgreSQL
TYPES = {
    "sqlite": {"pk": "INTEGER NOT NULL PRIMARY KEY", "ts": "DATETIME", "bool": "INTEGER", "text": "TEXT"},
    "postgres": {"pk": "SERIAL NOT NULL PRIMARY KEY", "ts": "TIMESTAMP", "bool": "BOOLEAN", "text": "TEXT"},
}

TABLES = {
    "sign_in_session": [
        '"id" {pk}',
        '"token_hash" VARCHAR(64) NOT NULL',
        '"kind" VARCHAR(16) NOT NULL',
        '"account_id" INTEGER NOT NULL',
        '"credential" VARCHAR(64) NOT NULL',
        '"ip" VARCHAR(64) NOT NULL',
        '"via" VARCHAR(16) NOT NULL',
        '"created_at" {ts} NOT NULL',
        '"seen_at" {ts} NOT NULL',
        '"ended_at" {ts}',
        '"end_reason" VARCHAR(32)',
    ],
    "sign_in_guard": [
        '"id" {pk}',
        '"kind" VARCHAR(16) NOT NULL',
        '"account_id" INTEGER NOT NULL',
        '"client" VARCHAR(100) NOT NULL',
        '"failed_logins" INTEGER NOT NULL',
        '"locked_until" {ts}',
        '"updated_at" {ts} NOT NULL',
    ],
    "binding_request": [
        '"id" {pk}',
        '"token_hash" VARCHAR(64) NOT NULL',
        '"subject_id" INTEGER NOT NULL REFERENCES "subject" ("id") ON DELETE RESTRICT',
        '"code" VARCHAR(18) NOT NULL',
        '"name" VARCHAR(200) NOT NULL',
        '"password_hash" VARCHAR(256) NOT NULL',
        '"status" VARCHAR(16) NOT NULL',
        '"contact" VARCHAR(200) NOT NULL',
        '"activation_hash" VARCHAR(64)',
        '"activation_expires_at" {ts}',
        '"activation_attempts" INTEGER NOT NULL',
        '"codes_sent" INTEGER NOT NULL',
        '"ip" VARCHAR(64) NOT NULL',
        '"created_at" {ts} NOT NULL',
        '"decided_at" {ts}',
        '"decided_by" VARCHAR(100)',
        '"note" {text} NOT NULL',
    ],
    "notification": [
        '"id" {pk}',
        '"subject_id" INTEGER REFERENCES "subject" ("id") ON DELETE RESTRICT',
        '"kind" VARCHAR(32) NOT NULL',
        '"channel" VARCHAR(16) NOT NULL',
        '"recipient" VARCHAR(200) NOT NULL',
        '"title" VARCHAR(200) NOT NULL',
        '"body" {text} NOT NULL',
        '"status" VARCHAR(16) NOT NULL',
        '"error" {text}',
        '"created_at" {ts} NOT NULL',
    ],
}

INDEXES = [
    'CREATE UNIQUE INDEX IF NOT EXISTS "sign_in_session_token_hash" ON "sign_in_session" ("token_hash")',
    'CREATE INDEX IF NOT EXISTS "sign_in_session_kind_account_id" ON "sign_in_session" ("kind", "account_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "sign_in_guard_kind_account_id_client" ON "sign_in_guard" ("kind", "account_id", "client")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "binding_request_token_hash" ON "binding_request" ("token_hash")',
    'CREATE INDEX IF NOT EXISTS "binding_request_subject_id" ON "binding_request" ("subject_id")',
    'CREATE INDEX IF NOT EXISTS "binding_request_code" ON "binding_request" ("code")',
    'CREATE INDEX IF NOT EXISTS "binding_request_status" ON "binding_request" ("status")',
    'CREATE INDEX IF NOT EXISTS "notification_subject_id" ON "notification" ("subject_id")',
    'CREATE INDEX IF NOT EXISTS "notification_created_at" ON "notification" ("created_at")',
]


def apply(db, migrator):
    add_missing_columns(db, migrator, "subject", {
        "contact_email": pw.CharField(max_length=200, null=True),
        "contact_phone": pw.CharField(max_length=32, null=True),
    })
    # accounts bound before this migration proved nothing beyond a public code and name: they stay
    # unverified until staff verify them (or the applicant signs in through the identity provider)
    add_missing_columns(db, migrator, "applicant_account", {
        "verified_at": pw.DateTimeField(null=True),
        "verified_via": pw.CharField(max_length=100, null=True),
        "must_change_password": pw.BooleanField(default=False),
    })
    types = TYPES["postgres" if isinstance(db, pw.PostgresqlDatabase) else "sqlite"]
    for table, columns in TABLES.items():
        db.execute_sql(f'CREATE TABLE IF NOT EXISTS "{table}" ('
                       + ", ".join(c.format(**types) for c in columns) + ")")
    for statement in INDEXES:
        db.execute_sql(statement)
