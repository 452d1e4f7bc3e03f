"""Numbered schema migrations, applied in order by `xinyipi init`.

Each migration is a module `mNNNN_<what>.py` with `apply(db, migrator)`. The
`schema_migration` table records what has been applied, so running `init`
twice changes nothing. Migrations are frozen once landed: a later change to a
model gets a new migration (add_column, add_index …) rather than an edit here.
"""
from __future__ import annotations

import importlib
import pkgutil

import peewee as pw
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator

from plugin.db import BaseModel, database, now


class SchemaMigration(BaseModel):
    number = pw.IntegerField(unique=True)
    name = pw.CharField(max_length=200)
    applied_at = pw.DateTimeField(default=now)

    class Meta:
        table_name = "schema_migration"


def frozen_base(db):
    """The base class of a migration's frozen models: bound to `db`, no live model imported.
    A migration states its tables as they were when it was written, so a database migrated from
    0001 and the models can be compared (tests/integration/test_migrations.py)."""
    class Frozen(pw.Model):
        class Meta:
            database = db
    return Frozen


def stub(db):
    """`stub(db)(table)`: a stand-in for a table another migration created, as a foreign key's target."""
    stubs: dict = {}

    def make(table: str):
        if table not in stubs:
            stubs[table] = type(f"Stub_{table}", (pw.Model,), {"Meta": type("Meta", (), {"database": db, "table_name": table})})
        return stubs[table]
    return make


def add_missing_columns(db, migrator, table: str, columns: dict) -> None:
    """Add the columns a table lacks. (m0001 creates its tables with every column they had when it
    was frozen, so a fresh database already has columns that later migrations add to older ones.)"""
    from playhouse.migrate import migrate as run
    present = {c.name for c in db.get_columns(table)}
    run(*[migrator.add_column(table, name, field) for name, field in columns.items() if name not in present])


def available() -> list[tuple[int, str, object]]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            found.append((int(info.name[1:5]), info.name[6:],
                          importlib.import_module(f"{__name__}.{info.name}")))
    return sorted(found, key=lambda m: m[0])


def migrate() -> list[str]:
    """Apply every migration not applied yet; return the names applied."""
    db = database.obj
    db.create_tables([SchemaMigration], safe=True)
    done = {m.number for m in SchemaMigration.select(SchemaMigration.number)}
    migrator = PostgresqlMigrator(db) if isinstance(db, pw.PostgresqlDatabase) else SqliteMigrator(db)
    applied = []
    for number, name, module in available():
        if number in done:
            continue
        with db.atomic():
            module.apply(db, migrator)
            SchemaMigration.create(number=number, name=name)
        applied.append(f"{number:04d}_{name}")
    return applied
