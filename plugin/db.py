"""The one database handle and the base model every xinyipi table derives from.

`database` is a peewee `DatabaseProxy`; `bind(url)` points it at SQLite (WAL,
foreign keys on) or PostgreSQL. Everything else imports `database` and
`BaseModel` from here and never opens a connection of its own.
"""
from __future__ import annotations

import datetime as _dt
import os
import threading
import time

import peewee
from playhouse.db_url import connect

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10000,
    "wal_autocheckpoint": 8000,  # pages; fewer, larger checkpoints copy each hot page once
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


_bind_hooks: list = []


def on_bind(callback):
    """Call `callback()` whenever the proxy is pointed at another database (caches keyed by row
    ids belong to one database)."""
    _bind_hooks.append(callback)
    return callback


def bind(url: str) -> peewee.Database:
    """Point the shared proxy at `url` and return the concrete database."""
    db = open_database(url)
    db.xinyipi_url = url
    database.initialize(db)
    ReferenceCache.clear_all()
    for hook in _bind_hooks:
        hook()
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def now() -> _dt.datetime:
    """Naive UTC timestamp, the one clock every stored time uses: the business clock
    (`plugin.clock`), so a frozen moment stamps rows with that moment too."""
    from plugin import clock
    return clock.utc_naive()


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


class ReferenceCache:
    """Reference data (tier schemes, the catalog) read on every application, cached per process.

    Code that changes such data calls `clear()` (this process sees the change at once); other
    processes see it within `ttl` seconds. Values are plain immutable snapshots, never models
    bound to a connection, so threads may share them.
    """

    registry: list["ReferenceCache"] = []

    def __init__(self, ttl: float = 2.0):
        self.ttl = ttl
        self._values: dict = {}
        self._lock = threading.Lock()
        ReferenceCache.registry.append(self)

    def get(self, key, load):
        found = self._values.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        value = load()
        if value is not None:  # never cache misses: keys of unknown things come from callers' input
            with self._lock:
                self._values[key] = (time.monotonic() + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    @classmethod
    def clear_all(cls) -> None:
        for cache in cls.registry:
            cache.clear()


class PreparedInsert:
    """An INSERT for one model and a fixed list of fields, its SQL built once per database.

    Peewee builds SQL anew on every call, which costs more than the insert itself for the few
    statements on the application hot path; this keeps peewee's field conversions (db_value) and
    returns the new rows' ids.
    """

    def __init__(self, model, field_names: list[str]):
        self.model = model
        self.fields = [model._meta.fields[name] for name in field_names]
        self._converters = [(f.name, f.db_value) for f in self.fields]
        self._sql: dict[tuple, str] = {}

    def _statement(self, db, rows: int) -> str:
        key = (type(db), rows)  # the SQL depends only on the kind of database (placeholder style)
        sql = self._sql.get(key)
        if sql is None:
            columns = ", ".join(f'"{f.column_name}"' for f in self.fields)
            one = "(" + ", ".join([db.param] * len(self.fields)) + ")"
            sql = (f'INSERT INTO "{self.model._meta.table_name}" ({columns}) VALUES '
                   + ", ".join([one] * rows))
            if isinstance(db, peewee.PostgresqlDatabase):
                sql += f' RETURNING "{self.model._meta.primary_key.column_name}"'
            self._sql[key] = sql
        return sql

    def execute(self, rows: list[dict]) -> list[int]:
        """Insert `rows` (dicts keyed by field name); return their ids in order."""
        db = database.obj
        params = []
        append, model = params.append, peewee.Model
        for row in rows:
            for name, db_value in self._converters:
                value = row.get(name)
                if isinstance(value, model):
                    value = value.get_id()
                append(db_value(value))
        cursor = db.execute_sql(self._statement(db, len(rows)), params)
        if isinstance(db, peewee.PostgresqlDatabase):
            return [r[0] for r in cursor.fetchall()]
        last = cursor.lastrowid
        return list(range(last - len(rows) + 1, last + 1))


class ReferenceModel(BaseModel):
    """Reference data (schemes, tiers, the catalog, the calendar): saving or deleting a row clears
    the ReferenceCache of this process. Bulk `update()`/`delete()` queries bypass this and must
    call `ReferenceCache.clear_all()` themselves."""

    def save(self, *args, **kwargs):
        result = super().save(*args, **kwargs)
        ReferenceCache.clear_all()
        return result

    def delete_instance(self, *args, **kwargs):
        result = super().delete_instance(*args, **kwargs)
        ReferenceCache.clear_all()
        return result
