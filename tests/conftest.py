"""Shared fixtures: a real database (SQLite, and PostgreSQL when XINYIPI_TEST_POSTGRES_URL is set),
migrated by the real migrations, optionally seeded by the real seed loader."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from plugin import db as dbmod

POSTGRES_URL = os.environ.get("XINYIPI_TEST_POSTGRES_URL")
_SEEDED_TEMPLATE: dict[str, object] = {}
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ROOT = Path(__file__).resolve().parents[1]


def _close():
    if dbmod.database.obj is not None and not dbmod.database.is_closed():
        dbmod.database.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("XINYIPI_TEST_POSTGRES_URL is not set")
    return request.param


def _pg_url(database: str) -> str:
    """POSTGRES_URL pointing at another database of the same server."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _pg_admin(sql: str) -> None:
    import psycopg
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def database_url(backend, tmp_path, request):
    """A fresh database for one test (on PostgreSQL a database of its own, dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/xinyipi.db"
        _close()
        return
    name = f"xyt_{uuid.uuid4().hex[:12]}"
    template = _pg_seed_template() if "seeded" in request.fixturenames else None
    _pg_admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    yield _pg_url(name)
    _close()
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _pg_seed_template() -> str:
    """A PostgreSQL database seeded once per session, copied by CREATE DATABASE … TEMPLATE."""
    name = _SEEDED_TEMPLATE.get("postgres")
    if name is None:
        from plugin.migrations import migrate
        from seeds.loader import load_all
        name = f"xyt_seed_{uuid.uuid4().hex[:8]}"
        _pg_admin(f"CREATE DATABASE {name}")
        dbmod.bind(_pg_url(name))
        migrate()
        load_all(demo_staff=True)
        _close()
        _SEEDED_TEMPLATE["postgres"] = name
    return name


def pytest_sessionfinish(session, exitstatus):
    name = _SEEDED_TEMPLATE.get("postgres")
    if name:
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db(database_url):
    """The bound, migrated, empty database."""
    from plugin.migrations import migrate
    database = dbmod.bind(database_url)
    migrate()
    yield database
    _close()


@pytest.fixture
def seeded(database_url, backend, tmp_path_factory):
    """The bound database holding the full seed data (SQLite: a copy of one seeded per session)."""
    from plugin.migrations import migrate
    from seeds.loader import load_all
    if backend == "sqlite":
        template = _SEEDED_TEMPLATE.get("sqlite")
        if template is None:
            template = tmp_path_factory.mktemp("seed") / "seeded.db"
            dbmod.bind(f"sqlite:///{template}")
            migrate()
            load_all(demo_staff=True)
            dbmod.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            _close()
            _SEEDED_TEMPLATE["sqlite"] = template
        shutil.copy(template, database_url[len("sqlite:///"):])
        database = dbmod.bind(database_url)
    else:
        database = dbmod.bind(database_url)  # created from the seeded template
    yield database
    _close()


@pytest.fixture
def app(database_url):
    from plugin import create_app
    app = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True,
                      "XINYIPI_SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})
    return app


@pytest.fixture
def cli_runner(database_url):
    """Runs `xinyipi …` commands in-process against the test database."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from plugin import create_app
    from plugin.cli import cli

    class Runner:
        def __call__(self, *args, input=None):
            info = ScriptInfo(create_app=lambda: create_app({"XINYIPI_DATABASE_URL": database_url,
                                                             "XINYIPI_SECRET_KEY": "test"}))
            result = CliRunner().invoke(cli, [str(a) for a in args], obj=info, input=input)
            if result.exception and not isinstance(result.exception, SystemExit):
                raise result.exception
            return result

    return Runner()
