"""The one database handle and the base model every xinyipi table derives from.

`database` is a peewee `DatabaseProxy`; `bind(url)` points it at SQLite (WAL,
foreign keys on) or PostgreSQL. Everything else imports `database` and
`BaseModel` from here and never opens a connection of its own.
"""
from __future__ import annotations

import datetime as _dt
import os

import peewee
from playhouse.db_url import connect

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10000,
    "cache_size": -64 * 1000,
}


def open_database(url: str) -> peewee.Database:
    """Open (lazily) the database at `url`: ``sqlite:///path`` or ``postgresql://…``."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    if url.startswith(("postgresql://", "postgres://")):
        return connect(url)
    raise ValueError(f"unsupported XINYIPI_DATABASE_URL {url!r}: use sqlite:///… or postgresql://…")


def bind(url: str) -> peewee.Database:
    """Point the shared proxy at `url` and return the concrete database."""
    db = open_database(url)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def now() -> _dt.datetime:
    """Naive UTC timestamp, the one clock every stored time uses."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def write_transaction():
    """A transaction that takes the write lock at once on SQLite (no upgrade deadlocks under WAL)."""
    db = database.obj
    if isinstance(db, peewee.SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return db.atomic()
