"""Frozen migrations: a database built by migrating from 0001 has exactly the schema the models
describe (tables, columns with their types and nullability, indexes, foreign keys), on SQLite and
PostgreSQL. A model changed without a migration, or a migration that drifts, fails here."""
from __future__ import annotations

import os
import uuid

import peewee as pw
import pytest

from plugin import db as dbmod
from plugin.db import BaseModel
from plugin.migrations import SchemaMigration, migrate


def _models() -> list[type]:
    """Every table model of the product (importing the app imports every package)."""
    import admin  # noqa: F401
    import plugin.cli  # noqa: F401
    import plugin.portal.models  # noqa: F401
    import plugin.work  # noqa: F401
    found, stack = [], list(BaseModel.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        if model not in found and model is not SchemaMigration:
            found.append(model)
    # shared bases, not tables of their own
    return [m for m in found if m.__name__ not in ("PasswordAccount", "ReferenceModel")]


def _schema(database: pw.Database) -> dict:
    out = {}
    for table in sorted(database.get_tables()):
        if table == "schema_migration":
            continue
        columns = {c.name: (c.data_type.lower(), c.null, c.primary_key) for c in database.get_columns(table)}
        indexes = sorted((tuple(i.columns), i.unique) for i in database.get_indexes(table))
        keys = sorted((k.column, k.dest_table, k.dest_column) for k in database.get_foreign_keys(table))
        out[table] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
    return out


@pytest.fixture
def second_database(backend, tmp_path):
    """Another empty database on the same backend."""
    if backend == "sqlite":
        yield dbmod.open_database(f"sqlite:///{tmp_path}/models.db")
        return
    import psycopg
    from urllib.parse import urlsplit, urlunsplit
    server = os.environ["XINYIPI_TEST_POSTGRES_URL"]
    name = f"xyt_models_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    database = dbmod.open_database(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    yield database
    database.close()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_a_migrated_database_equals_one_created_from_the_models(database_url, second_database):
    migrated = dbmod.bind(database_url)
    migrate()
    models = [m for m in _models() if m._meta.table_name != "schema_migration"]
    with second_database.bind_ctx(models, bind_refs=False, bind_backrefs=False):
        second_database.create_tables(models)
    mine, theirs = _schema(migrated), _schema(second_database)
    assert sorted(mine) == sorted(theirs), f"tables differ: {set(mine) ^ set(theirs)}"
    for table in theirs:
        assert mine[table] == theirs[table], f"table {table} differs:\nmigrated {mine[table]}\nmodels   {theirs[table]}"


def test_migrating_twice_changes_nothing(database_url):
    dbmod.bind(database_url)
    first = migrate()
    assert first and migrate() == []
