"""Staff sign-in: passwords, lockout, expiry, CSRF, safe redirects, sign-out."""
from __future__ import annotations

import re
import time

import pytest

from plugin import create_app
from plugin.accounts import StaffUser
from plugin.applications.models import AuditEntry
from tests.helpers import PASSWORD, sign_in


@pytest.fixture
def csrf_app(database_url, db):
    """The standalone app with CSRF checking on, as in production."""
    return create_app({"XINYIPI_DATABASE_URL": database_url, "TESTING": True, "XINYIPI_SECRET_KEY": "test"})


def _token(client, url="/admin/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def _login(client, username, password, **extra):
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": _token(client), **extra})


def _staff(username="alice", role="catalog_admin", password=PASSWORD):
    user = StaffUser(username=username, name="张丽", role=role, department="市场监管局")
    user.set_password(password)
    user.save()
    return user


def test_password_is_hashed_and_checked(db):
    user = _staff()
    assert PASSWORD not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_anonymous_is_sent_to_sign_in_with_next(csrf_app):
    client = csrf_app.test_client()
    for url in ("/admin/", "/admin/xinyipi_matter/", "/admin/xinyipi_subject/details/?id=1"):
        r = client.get(url)
        assert r.status_code == 302
        assert r.headers["Location"].startswith("/admin/login?next=")


def test_sign_in_then_out(csrf_app):
    _staff()
    client = csrf_app.test_client()
    r = _login(client, "alice", PASSWORD, next="/admin/xinyipi_material/")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/xinyipi_material/"
    page = client.get("/admin/xinyipi_material/").get_data(as_text=True)
    assert "张丽" in page and "事项目录管理员" in page
    assert StaffUser.get(StaffUser.username == "alice").last_login_at is not None

    r = client.post("/admin/logout", data={"csrf_token": _token(client, "/admin/xinyipi_material/")})
    assert r.status_code == 302
    assert client.get("/admin/xinyipi_material/").status_code == 302
    actions = [a for (a,) in AuditEntry.select(AuditEntry.action).where(AuditEntry.actor == "alice").tuples()]
    assert actions == ["staff.login", "staff.logout"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_never_leaves_the_site(csrf_app, target):
    _staff()
    r = _login(csrf_app.test_client(), "alice", PASSWORD, next=target)
    assert r.status_code == 302 and r.headers["Location"] == "/admin/"


def test_wrong_password_and_unknown_user_say_the_same(csrf_app):
    _staff()
    client = csrf_app.test_client()
    wrong = _login(client, "alice", "not-the-password")
    unknown = _login(client, "nobody", "whatever")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "用户名或密码不正确" in r.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert AuditEntry.select().where(AuditEntry.action == "staff.login_failed").count() == 2


def test_five_failures_lock_the_account(csrf_app):
    from plugin.identity.models import SignInGuard
    _staff()
    client = csrf_app.test_client()
    for _ in range(4):
        assert "用户名或密码不正确" in _login(client, "alice", "wrong").get_data(as_text=True)
    page = _login(client, "alice", "wrong").get_data(as_text=True)
    assert "账号已锁定" in page
    user = StaffUser.get(StaffUser.username == "alice")
    guard = SignInGuard.get((SignInGuard.kind == "staff") & (SignInGuard.account_id == user.id))
    assert guard.client == "ip:127.0.0.1" and guard.locked_until is not None
    assert AuditEntry.select().where(AuditEntry.action == "staff.locked").count() == 1
    # even the right password is refused while locked
    r = _login(client, "alice", PASSWORD)
    assert r.status_code == 401 and "账号已锁定" in r.get_data(as_text=True)
    # once the lock has passed, the right password works and the counter starts again
    guard.locked_until = guard.locked_until.replace(year=2000)
    guard.save()
    assert _login(client, "alice", PASSWORD).status_code == 302
    assert SignInGuard.get_by_id(guard.id).failed_logins == 0


def test_disabled_account_cannot_sign_in_and_loses_its_session(csrf_app):
    user = _staff()
    client = csrf_app.test_client()
    assert _login(client, "alice", PASSWORD).status_code == 302
    user.active = False
    user.save()
    assert client.get("/admin/").status_code == 302            # the open session ends
    assert _login(client, "alice", PASSWORD).status_code == 401


def test_password_change_ends_other_sessions(csrf_app):
    user = _staff()
    client = csrf_app.test_client()
    assert _login(client, "alice", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    user.set_password("a-brand-new-password")
    user.save()
    assert client.get("/admin/").status_code == 302


def test_idle_session_expires(csrf_app):
    _staff()
    client = csrf_app.test_client()
    assert _login(client, "alice", PASSWORD).status_code == 302
    with client.session_transaction() as session:
        session["xinyipi_seen"] = time.time() - 31 * 60
    r = client.get("/admin/xinyipi_matter/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    assert "登录已超时" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_post_without_csrf_token_is_refused_and_changes_nothing(csrf_app):
    _staff(role="sysadmin")
    client = csrf_app.test_client()
    # the sign-in form itself
    r = client.post("/admin/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    # an admin form, signed in
    assert _login(client, "alice", PASSWORD).status_code == 302
    from plugin.catalog.models import Material
    before = Material.select().count()
    r = client.post("/admin/xinyipi_material/new/", data={"code": "M-CSRF", "name": "跨站请求的材料",
                                                           "type": "其他", "form": "电子", "source": "其他"})
    assert r.status_code == 400 and "刷新页面" in r.get_data(as_text=True)
    assert Material.select().count() == before
    # with the token the same form is accepted
    token = _token(client, "/admin/xinyipi_material/new/")
    r = client.post("/admin/xinyipi_material/new/", data={"code": "M-CSRF", "name": "正常提交的材料", "type": "其他",
                                                           "form": "电子", "source": "其他", "csrf_token": token})
    assert r.status_code == 302 and Material.select().count() == before + 1


def test_api_is_not_behind_the_staff_sign_in(csrf_app):
    r = csrf_app.test_client().get("/api/v1/health")
    assert r.status_code == 200


def test_sign_in_page_is_chinese_and_switches_to_english(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    assert "工作人员登录" in page and 'lang="zh-CN"' in page
    page = client.get("/admin/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page and "Staff sign-in" in page


def test_sign_in_helper_is_a_real_sign_in(db, app):
    client = app.test_client()
    sign_in(client, "bob", "reviewer")
    assert client.get("/admin/").status_code == 200
