"""Identity test fixtures: the standalone app (CSRF on, as in production) on the seeded database of
the test's backend, served for real by werkzeug on 127.0.0.1 when a test needs a server, and real
HTTP clients (`requests`) that keep their cookies like a browser."""
from __future__ import annotations

import contextlib
import re
import threading

import pytest
import requests

from plugin.accounts import StaffUser

STAFF_PASSWORD = "staff-pass-2026"
PASSWORD = "portal-pass-1"


def make_app(database_url, tmp_path, **config):
    from plugin import create_app
    settings = {"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "identity-tests",
                "XINYIPI_UPLOAD_DIR": str(tmp_path / "uploads")}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def id_app(seeded, database_url, tmp_path):
    return make_app(database_url, tmp_path)


@contextlib.contextmanager
def serving(app):
    """The app on a real port of 127.0.0.1 (threaded werkzeug server); yields its base URL."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"identity-server-{server.server_port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def live(id_app):
    with serving(id_app) as url:
        yield url


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def staff(username="clerk", role="catalog_admin", password=STAFF_PASSWORD) -> StaffUser:
    user = StaffUser.get_or_none(StaffUser.username == username)
    if user is None:
        user = StaffUser(username=username, name=f"测试{username}", role=role, department="测试")
    user.set_password(password)
    user.save()
    return user


def browser() -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "zh-CN"
    return session


def staff_sign_in(http: requests.Session, url: str, username: str, password: str = STAFF_PASSWORD):
    token = csrf(http.get(f"{url}/admin/login").text)
    return http.post(f"{url}/admin/login", data={"username": username, "password": password, "csrf_token": token},
                     allow_redirects=False)


def applicant_sign_in(http: requests.Session, url: str, code: str, password: str = PASSWORD):
    token = csrf(http.get(f"{url}/portal/login").text)
    return http.post(f"{url}/portal/login", data={"code": code, "password": password, "csrf_token": token},
                     allow_redirects=False)


def copy_of(http: requests.Session) -> requests.Session:
    """Another browser holding a copy of `http`'s cookies (what a thief copies)."""
    other = browser()
    for cookie in http.cookies:
        other.cookies.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
    return other
