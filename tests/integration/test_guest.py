"""xinyipi as a good guest (issue #13 §6): mounted into a host app that has its own Flask-Login
users and routes, it leaves the host's LoginManager, its users and its sign-in working; host
sign-in, xinyipi's staff sign-in and the portal's applicant sign-in live side by side in one
browser and neither sees the other's user. What xinyipi keeps per app (the database binding, the
spec cache, its login manager) lives in ``app.extensions["xinyipi"]``."""
from __future__ import annotations

import flask
import flask_admin
import flask_login
import pytest
from flask_admin.theme import Bootstrap4Theme

from plugin import XinYiPi, create_app
from plugin import db as dbmod
from plugin.identity.login import Manager
from plugin.identity.models import SignInSession
from tests.helpers import demo_code, sign_in
from tests.portal.conftest import sign_in_applicant

HOST_USERS = {"alice", "bob"}


class HostUser(flask_login.UserMixin):
    def __init__(self, name: str):
        self.id = name


def make_host(database_url: str, tmp_path, login_first: bool = True):
    """A host app with Flask-Login users of its own (`alice`, `bob`), its routes and its admin."""
    host = flask.Flask("host_with_users", instance_path=str(tmp_path / "host_instance"))
    host.config.update(TESTING=True, SECRET_KEY="host-secret", XINYIPI_DATABASE_URL=database_url,
                       XINYIPI_SECRET_KEY="test", WTF_CSRF_ENABLED=False,
                       XINYIPI_UPLOAD_DIR=str(tmp_path / "uploads"))
    loaded: list[str] = []
    manager = flask_login.LoginManager()
    manager.login_view = "host_login"

    @manager.user_loader
    def load_host_user(user_id):
        loaded.append(user_id)
        return HostUser(user_id) if user_id in HOST_USERS else None

    @host.route("/host/login", methods=["GET", "POST"])
    def host_login():
        if flask.request.method == "POST":
            name = flask.request.form["name"]
            if name not in HOST_USERS:
                return "who?", 401
            flask_login.login_user(HostUser(name))
            return "signed in"
        return "host sign-in page"

    @host.post("/host/logout")
    def host_logout():
        flask_login.logout_user()
        return "signed out"

    @host.get("/host/whoami")
    def whoami():
        user = flask_login.current_user
        return user.get_id() if user.is_authenticated else "anonymous"

    @host.get("/host/secret")
    @flask_login.login_required
    def secret():
        return f"the host's secret, for {flask_login.current_user.get_id()}"

    admin = flask_admin.Admin(host, name="Host admin", theme=Bootstrap4Theme())
    if login_first:
        manager.init_app(host)
        ext = XinYiPi(host, admin)
    else:
        ext = XinYiPi(host, admin)
        manager.init_app(host)
    return host, manager, ext, loaded


def host_sign_in(client, name="alice"):
    r = client.post("/host/login", data={"name": name})
    assert r.status_code == 200, r.get_data(as_text=True)


def whoami(client) -> str:
    return client.get("/host/whoami").get_data(as_text=True)


def xinyipi_current_user(host, client, path: str):
    """What `flask_login.current_user` is while xinyipi serves `path` to this browser."""
    cookie = client.get_cookie("session")
    with host.test_request_context(path, headers={"Cookie": f"session={cookie.value}"} if cookie else {}):
        host.preprocess_request()
        user = flask_login.current_user._get_current_object()
        return user.get_id() if user.is_authenticated else "anonymous"


def test_the_hosts_login_manager_stays_the_apps(db, database_url, tmp_path):
    host, manager, ext, _loaded = make_host(database_url, tmp_path)
    assert host.login_manager is manager
    assert isinstance(ext.login_manager, Manager) and ext.login_manager is not manager
    assert host.extensions["xinyipi"] is ext


def test_host_and_staff_sign_in_live_side_by_side(db, database_url, tmp_path):
    host, _manager, _ext, loaded = make_host(database_url, tmp_path)
    client = host.test_client()

    host_sign_in(client, "alice")
    assert whoami(client) == "alice"
    assert client.get("/host/secret").status_code == 200
    # the host's user is nobody to xinyipi
    r = client.get("/admin/xinyipi_matter/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    assert xinyipi_current_user(host, client, "/admin/xinyipi_matter/") == "anonymous"

    sign_in(client)                                     # xinyipi's staff sign-in, in the same browser
    assert client.get("/admin/xinyipi_matter/").status_code == 200
    assert whoami(client) == "alice"                    # … leaves the host's sign-in as it was
    assert xinyipi_current_user(host, client, "/admin/xinyipi_matter/").startswith("staff:")
    assert xinyipi_current_user(host, client, "/host/whoami") == "alice"

    assert client.post("/host/logout").status_code == 200
    assert whoami(client) == "anonymous"
    r = client.get("/host/secret")
    assert r.status_code == 302 and "/host/login" in r.headers["Location"]
    assert client.get("/admin/xinyipi_matter/").status_code == 200     # xinyipi's sign-in stays

    host_sign_in(client, "bob")
    assert client.post("/admin/logout").status_code == 302
    assert client.get("/admin/xinyipi_matter/").status_code == 302
    assert whoami(client) == "bob"                      # signing out of xinyipi leaves the host's
    assert SignInSession.get(SignInSession.kind == "staff").end_reason == "sign_out"

    # the host's user loader only ever saw the host's own ids
    assert loaded and set(loaded) <= HOST_USERS


def test_a_staff_member_is_nobody_to_the_host(db, database_url, tmp_path):
    host, _manager, _ext, loaded = make_host(database_url, tmp_path)
    client = host.test_client()
    sign_in(client)
    assert client.get("/admin/xinyipi_matter/").status_code == 200
    assert whoami(client) == "anonymous"
    r = client.get("/host/secret")
    assert r.status_code == 302 and "/host/login" in r.headers["Location"]
    assert set(loaded) <= HOST_USERS


def test_applicant_sign_in_lives_beside_the_hosts_and_the_staffs(seeded, database_url, tmp_path):
    host, _manager, _ext, loaded = make_host(database_url, tmp_path)
    client = host.test_client()
    host_sign_in(client, "alice")
    sign_in(client)
    sign_in_applicant(client, demo_code("red"))
    assert client.get("/portal/cases").status_code == 200
    assert client.get("/admin/xinyipi_matter/").status_code == 200      # staff still signed in
    assert whoami(client) == "alice"                                    # host still signed in
    assert xinyipi_current_user(host, client, "/portal/cases").startswith("applicant:")
    assert xinyipi_current_user(host, client, "/admin/xinyipi_matter/").startswith("staff:")
    assert xinyipi_current_user(host, client, "/api/v1/health") == "anonymous"

    assert client.post("/portal/logout").status_code == 302
    r = client.get("/portal/cases")
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]
    assert client.get("/admin/xinyipi_matter/").status_code == 200
    assert whoami(client) == "alice"
    assert set(loaded) <= HOST_USERS


def test_a_disabled_applicant_or_a_changed_password_ends_the_session_as_for_staff(seeded, database_url, tmp_path):
    from plugin.accounts import StaffUser
    from plugin.portal.models import ApplicantAccount
    host, _manager, _ext, _loaded = make_host(database_url, tmp_path)
    client = host.test_client()
    code = demo_code("red")
    sign_in_applicant(client, code)
    sign_in(client)
    ApplicantAccount.update(active=False).where(ApplicantAccount.code == code).execute()
    assert client.get("/portal/cases").status_code == 302
    StaffUser.update(active=False).where(StaffUser.username == "admin").execute()
    assert client.get("/admin/xinyipi_matter/").status_code == 302


def test_a_host_that_installs_flask_login_after_xinyipi_gets_its_own_manager_back(db, database_url, tmp_path):
    host, manager, ext, loaded = make_host(database_url, tmp_path, login_first=False)
    assert host.login_manager is manager
    client = host.test_client()
    host_sign_in(client, "bob")
    sign_in(client)
    assert whoami(client) == "bob"
    assert client.get("/admin/xinyipi_matter/").status_code == 200
    assert set(loaded) <= HOST_USERS


def test_the_standalone_app_uses_xinyipis_manager_with_prefixed_ids(db, app):
    ext = app.extensions["xinyipi"]
    assert app.login_manager is ext.login_manager
    client = app.test_client()
    sign_in(client)
    staff_id = xinyipi_current_user(app, client, "/admin/")
    assert staff_id.startswith("staff:")
    with app.test_request_context("/admin/"):
        user = ext.login_manager.load(staff_id)
        assert user is not None and user.username == "admin"
        assert ext.login_manager.load("applicant:" + staff_id.split(":", 1)[1]) is None   # a staff token is no applicant's
        assert ext.login_manager.load("alice") is None
    assert xinyipi_current_user(app, client, "/") == "anonymous"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_two_apps_in_one_process_keep_their_own_database_and_caches(backend, db, database_url, tmp_path):
    from plugin.credit.models import TierScheme
    from plugin.migrations import migrate
    first = create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test"})
    second = create_app({"XINYIPI_DATABASE_URL": f"sqlite:///{tmp_path}/second.db", "TESTING": True,
                         "XINYIPI_SECRET_KEY": "test"})
    one, two = first.extensions["xinyipi"], second.extensions["xinyipi"]
    assert one.binding is not two.binding and one.specs is not two.specs
    assert one.login_manager is not two.login_manager
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
