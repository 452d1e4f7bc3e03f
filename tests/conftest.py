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


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def database_url(backend, tmp_path):
    """A fresh, empty database for one test; yields its URL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/xinyipi.db"
        _close()
        return
    import psycopg
    schema = f"xyt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _pg_schema_url(schema)
    _close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def db(database_url):
    """The bound, migrated, empty database."""
    from plugin.migrations import migrate
    database = dbmod.bind(database_url)
    migrate()
    yield database
    _close()


_SEEDED_TEMPLATE: dict[str, Path] = {}


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
            load_all()
            dbmod.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            _close()
            _SEEDED_TEMPLATE["sqlite"] = template
        shutil.copy(template, database_url[len("sqlite:///"):])
        database = dbmod.bind(database_url)
    else:
        database = dbmod.bind(database_url)
        migrate()
        load_all()
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
