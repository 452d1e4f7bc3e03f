"""The Flask extension: mounted into a host app with its own routes and admin, and the standalone app."""
from __future__ import annotations

import flask
import flask_admin
import pytest
from flask_admin import BaseView, expose
from flask_admin.theme import Bootstrap4Theme

from tests.helpers import sign_in
from plugin import XinYiPi, create_app
from plugin.credit.models import TierScheme

HOST_BODY = "hello from the host app"
HOST_ADMIN_BODY = "the host's own admin view"


class HostView(BaseView):
    @expose("/")
    def index(self):
        return HOST_ADMIN_BODY


def make_host(database_url: str, tmp_path) -> tuple[flask.Flask, flask_admin.Admin]:
    host = flask.Flask("host_app", instance_path=str(tmp_path / "host_instance"))
    host.config.update(TESTING=True, SECRET_KEY="host-secret", XINYIPI_DATABASE_URL=database_url,
                       XINYIPI_SECRET_KEY="test")

    @host.get("/hello")
    def hello():
        return HOST_BODY

    admin = flask_admin.Admin(host, name="Host admin", theme=Bootstrap4Theme())
    admin.add_view(HostView(name="Host view", endpoint="hostview"))
    return host, admin


def _check_mounted(host: flask.Flask, admin: flask_admin.Admin, ext: XinYiPi):
    assert ext.admin is admin
    assert host.extensions["xinyipi"] is ext
    client = host.test_client()

    r = client.get("/hello")
    assert r.status_code == 200 and r.get_data(as_text=True) == HOST_BODY

    r = client.get("/admin/hostview/")
    assert r.status_code == 200 and r.get_data(as_text=True) == HOST_ADMIN_BODY

    # xinyipi's views were added to the host's admin, not to a second one
    endpoints = {view.endpoint for view in admin._views}
    assert {"hostview", "xinyipi_matter", "xinyipi_subject", "xinyipi_negative_list_entry"} <= endpoints
    r = client.get("/admin/xinyipi_matter/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]   # staff only
    sign_in(client)
    r = client.get("/admin/xinyipi_matter/")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Host admin" in page and "Host view" in page      # rendered inside the host's admin

    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}

    assert "xinyipi" in host.cli.commands
    assert {"init", "seed", "import-subjects", "import-dishonesty", "subject", "matters", "workdays"} <= set(
        host.cli.commands["xinyipi"].commands)
    # `flask xinyipi init` runs against the host's database (migrated by the fixture)
    result = host.test_cli_runner().invoke(args=["xinyipi", "init"])
    assert result.exit_code == 0, result.output
    assert "schema is up to date" in result.output


def test_mount_into_host_app_with_its_own_admin(db, database_url, tmp_path):
    host, admin = make_host(database_url, tmp_path)
    ext = XinYiPi(host, admin)
    _check_mounted(host, admin, ext)


def test_mount_with_init_app(db, database_url, tmp_path):
    host, admin = make_host(database_url, tmp_path)
    ext = XinYiPi()
    assert ext.admin is None
    ext.init_app(host, admin)
    _check_mounted(host, admin, ext)


def test_host_keeps_its_secret_key(db, database_url, tmp_path):
    host, admin = make_host(database_url, tmp_path)
    XinYiPi(host, admin)
    assert host.config["SECRET_KEY"] == "host-secret"


# ---------------------------------------------------------------------------------------------
# the standalone app
# ---------------------------------------------------------------------------------------------
def test_standalone_admin_and_home(db, app):
    client = app.test_client()
    r = client.get("/admin/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    sign_in(client)
    r = client.get("/admin/")
    assert r.status_code == 200
    r = client.get("/")                     # citizens land in the portal; the admin stays at /admin
    assert r.status_code in (301, 302, 303, 307, 308)
    assert r.headers["Location"].rstrip("/").endswith("/portal")
    assert client.get(r.headers["Location"]).status_code == 200
    r = client.get("/api/v1/health")
    assert r.get_json() == {"status": "ok"}


def test_standalone_defaults_to_chinese_and_accepts_lang_en(db, app):
    assert app.config["XINYIPI_LOCALE"] == "zh_CN"
    client = app.test_client()
    sign_in(client)
    page = client.get("/admin/xinyipi_matter/").get_data(as_text=True)
    # Flask-Admin's own strings come out in Chinese ("Create" → 创建, "List" → 列表)
    assert "事项" in page and "创建" in page and "列表" in page
    assert "Create" not in page

    r = client.get("/admin/xinyipi_matter/?lang=en")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Create" in page and "创建" not in page
    # the choice is remembered for the session
    page = client.get("/admin/xinyipi_matter/").get_data(as_text=True)
    assert "Create" in page and "创建" not in page
    # an unsupported language is ignored
    other = app.test_client()
    sign_in(other)
    page = other.get("/admin/xinyipi_matter/?lang=xx").get_data(as_text=True)
    assert "创建" in page


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
def test_database_url_from_environment(db, database_url, monkeypatch):
    TierScheme.create(code="envcheck", name="环境变量测试体系")
    monkeypatch.setenv("XINYIPI_DATABASE_URL", database_url)
    app = create_app({"TESTING": True, "XINYIPI_SECRET_KEY": "test"})
    assert app.config["XINYIPI_DATABASE_URL"] == database_url
    client = app.test_client()
    sign_in(client)
    page = client.get("/admin/xinyipi_tier_scheme/").get_data(as_text=True)
    assert "环境变量测试体系" in page


def test_app_config_wins_over_environment(db, database_url, monkeypatch):
    monkeypatch.setenv("XINYIPI_DATABASE_URL", "mysql://user@localhost/never-used")
    app = create_app({"TESTING": True, "XINYIPI_SECRET_KEY": "test", "XINYIPI_DATABASE_URL": database_url})
    assert app.config["XINYIPI_DATABASE_URL"] == database_url
    assert app.test_client().get("/api/v1/health").get_json() == {"status": "ok"}


@pytest.mark.parametrize("url", ["mysql://user@localhost/xinyipi", "sqlite:relative.db"])
def test_unsupported_database_url_is_refused(url, monkeypatch):
    with pytest.raises(ValueError) as excinfo:
        create_app({"XINYIPI_DATABASE_URL": url, "XINYIPI_SECRET_KEY": "test"})
    assert url in str(excinfo.value)

    monkeypatch.setenv("XINYIPI_DATABASE_URL", url)
    with pytest.raises(ValueError) as excinfo:
        create_app({"XINYIPI_SECRET_KEY": "test"})
    assert url in str(excinfo.value)
