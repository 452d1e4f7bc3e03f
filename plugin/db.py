"""The one database handle and the base model every xinyipi table derives from.

`database` is a peewee `DatabaseProxy` every model uses. It stands for the database of the current
**binding** (`Binding`: one database and the caches that belong to it, since rows of one database
mean nothing in another):

- inside an app context of an app xinyipi is mounted in, that app's binding, which its extension
  holds (``app.extensions["xinyipi"].binding``): two apps in one process, each with its own
  database, never see each other's rows or cached answers;
- inside `using(binding)`, that binding (scratch databases, the benchmarks);
- otherwise the default binding, the one `bind(url)` made last (the CLI helpers, the tests, the
  isolated validator).

`bind(url)` opens SQLite (WAL, foreign keys on) or PostgreSQL. Nothing else opens a connection of
its own.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import os
import threading
import time
import weakref

import peewee
from playhouse.db_url import connect

try:                                 # Flask's own context variable: the cheapest way to the current app
    from flask.globals import _cv_app
except ImportError:                  # pragma: no cover - a Flask without it: the public (slower) way
    _cv_app = None

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


class Binding:
    """One database xinyipi is bound to, and the caches whose contents belong to that database."""

    def __init__(self, database: peewee.Database, url: str | None = None):
        self.database = database
        self.url = url
        self._caches: dict = {}
        self._lock = threading.Lock()
        _bindings.add(self)

    def cache(self, key, make):
        """The cache `key` of this binding, made by `make()` the first time."""
        found = self._caches.get(key)
        if found is None:
            with self._lock:
                found = self._caches.setdefault(key, make())
        return found

    def __repr__(self):
        return f"<Binding {self.url or self.database!r}>"


_bindings: "weakref.WeakSet[Binding]" = weakref.WeakSet()
_default: Binding | None = None
_using: contextvars.ContextVar[Binding | None] = contextvars.ContextVar("xinyipi_binding", default=None)


def current_binding() -> Binding | None:
    """The binding of this context: `using`'s, else the current app's, else the default."""
    binding = _using.get()
    if binding is not None:
        return binding
    if _cv_app is not None:
        context = _cv_app.get(None)
        app = context.app if context is not None else None
    else:  # pragma: no cover
        from flask import current_app, has_app_context
        app = current_app._get_current_object() if has_app_context() else None
    if app is not None:
        ext = app.extensions.get("xinyipi")
        binding = getattr(ext, "binding", None)
        if binding is not None:
            return binding
    return _default


def default_binding() -> Binding | None:
    return _default


def set_default(binding: Binding | None) -> None:
    global _default
    _default = binding


@contextlib.contextmanager
def using(binding: Binding):
    """Inside the block, `database` is `binding`'s, whatever app context is current."""
    token = _using.set(binding)
    try:
        yield binding
    finally:
        _using.reset(token)


class _BindingProxy(peewee.DatabaseProxy):
    """The models' `DatabaseProxy`, standing for the current binding's database (see the module's
    docstring). ``initialize(db)`` (peewee's way) makes `db` the default binding."""

    __slots__ = ()

    @property
    def obj(self):
        binding = current_binding()
        return binding.database if binding is not None else None

    def __getattr__(self, attr):          # one lookup of the binding per attribute, not two
        binding = current_binding()
        if binding is None:
            raise AttributeError("Cannot use uninitialized Proxy.")
        return getattr(binding.database, attr)

    def initialize(self, obj):
        set_default(None if obj is None else Binding(obj, getattr(obj, "xinyipi_url", None)))
        for callback in self._callbacks:
            callback(obj)

    def __setattr__(self, attr, value):
        if attr not in ("_callbacks", "_Model"):
            raise AttributeError("Cannot set attribute on proxy.")
        object.__setattr__(self, attr, value)


database = _BindingProxy()

_bind_hooks: list = []


def on_bind(callback):
    """Call `callback()` whenever the default binding is pointed at another database."""
    _bind_hooks.append(callback)
    return callback


def open_binding(url: str) -> Binding:
    """A binding to the database at `url` (opened lazily), not yet the default of anything."""
    db = open_database(url)
    db.xinyipi_url = url
    return Binding(db, url)


def bind(url: str) -> peewee.Database:
    """Make the database at `url` the default binding and return the concrete database."""
    binding = open_binding(url)
    set_default(binding)
    for hook in _bind_hooks:
        hook()
    return binding.database


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


def in_list(field, values):
    """`field IN (…)` for a long list of plain values (ids, codes) with its SQL made in one piece:
    peewee would build one node per value, which costs more than the lookup for a batch of
    thousands (imports)."""
    values = list(values)
    if not values:
        return field.in_([])
    placeholders = "(" + ", ".join([database.obj.param] * len(values)) + ")"
    return field.in_(peewee.SQL(placeholders, [field.db_value(v) for v in values]))


def references(row, owned=()) -> list[tuple[str, int]]:
    """What still refers to `row`: [(table name, rows)] for each table with rows pointing at it,
    leaving out the backrefs named in `owned` (rows that go with it). Nothing cascades here:
    a service refuses to delete a row while this is not empty (`plugin.work.InUse`)."""
    found = []
    for field in row._meta.backrefs:
        if field.backref in owned:
            continue
        count = field.model.select().where(field == row._pk).count()
        if count:
            found.append((field.model._meta.table_name, count))
    return found


def assign(row, values: dict, fields) -> None:
    """Set the fields named in `fields` of `row` from plain `values` (a foreign key takes a row or
    its id). A key that is not one of `fields` is a programming error, not data to drop."""
    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"{type(row).__name__} has no editable field(s) {sorted(unknown)}")
    for name, value in values.items():
        setattr(row, name, value)


def delete_with_owned(row, owned=()) -> list[tuple[str, int]]:
    """Delete `row` with the rows of its backrefs in `owned` (a matter's requirements); return
    [(table name, rows deleted)] of those. The caller checked `references` first."""
    removed = []
    for field in row._meta.backrefs:
        if field.backref in owned:
            n = field.model.delete().where(field == row._pk).execute()
            if n:
                removed.append((field.model._meta.table_name, n))
    row.delete_instance()
    ReferenceCache.clear_all()
    return removed


class ReferenceCache:
    """Reference data (tier schemes, the catalog) read on every application, cached per process and
    per binding (a row id of one database means nothing in another).

    Code that changes such data calls `clear()` (this process sees the change at once, whichever
    binding it went through); other processes see it within `ttl` seconds. Values are plain
    immutable snapshots, never models bound to a connection, so threads may share them.
    """

    registry: list["ReferenceCache"] = []

    def __init__(self, ttl: float = 2.0):
        self.ttl = ttl
        self._unbound: dict = {}
        self._lock = threading.Lock()
        ReferenceCache.registry.append(self)

    def _values(self) -> dict:
        binding = current_binding()
        return binding.cache(self, dict) if binding is not None else self._unbound

    def get(self, key, load):
        values = self._values()
        found = values.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        value = load()
        if value is not None:  # never cache misses: keys of unknown things come from callers' input
            with self._lock:
                values[key] = (time.monotonic() + self.ttl, value)
        return value

    def clear(self) -> None:
        """Forget every cached value, in every binding of this process (cheap, and never stale)."""
        with self._lock:
            self._unbound.clear()
            for binding in list(_bindings):
                values = binding._caches.get(self)
                if values is not None:
                    values.clear()

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
