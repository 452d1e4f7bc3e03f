"""xinyipi as a good guest (issue #13 §6): what xinyipi keeps per app (the database binding, the
spec cache) lives in ``app.extensions["xinyipi"]``."""
from __future__ import annotations

import pytest

from plugin import create_app
from plugin import db as dbmod


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_two_apps_in_one_process_keep_their_own_database_and_caches(backend, db, database_url, tmp_path):
    from plugin.credit.models import TierScheme
    from plugin.migrations import migrate
    first = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test"})
    second = create_app({"XINYIPI_DATABASE_URL": f"sqlite:///{tmp_path}/second.db", "TESTING": True,
                         "XINYIPI_SECRET_KEY": "test"})
    one, two = first.extensions["xinyipi"], second.extensions["xinyipi"]
    assert one.binding is not two.binding and one.specs is not two.specs
    with second.app_context():
        migrate()
        assert dbmod.database.obj is two.database
        TierScheme.create(code="second-only", name="只在第二个库")
    with first.app_context():
        assert dbmod.database.obj is one.database
        assert not TierScheme.select().where(TierScheme.code == "second-only").exists()
        TierScheme.create(code="first-only", name="只在第一个库")
    with second.app_context():
        assert not TierScheme.select().where(TierScheme.code == "first-only").exists()
        assert second.test_client().get("/api/v1/health").get_json() == {"status": "ok"}
    # outside any app context: the database bound last (the CLI helpers and tests rely on it)
    assert dbmod.database.obj is two.database
    with dbmod.using(one.binding):
        assert TierScheme.select().where(TierScheme.code == "first-only").exists()
    for ext in (one, two):
        ext.database.close()
