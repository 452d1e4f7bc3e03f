"""Attacks on password sign-in: parallel guessing, a stranger locking a company out, guesses spread
over many addresses, and the rate limits (memory, and Redis shared by two app processes)."""
from __future__ import annotations

import os
import threading
import uuid

import pytest

from plugin import accounts
from plugin.accounts import MAX_FAILED_LOGINS, StaffUser
from plugin.applications.models import AuditEntry
from plugin.identity.models import SignInGuard
from tests.helpers import bound_account, demo_code
from tests.identity.conftest import PASSWORD, STAFF_PASSWORD, csrf, make_app, serving, staff

STRANGER, COMPANY = "203.0.113.66", "198.51.100.20"


@pytest.fixture
def hash_checks(monkeypatch):
    """How many times a password was checked against its hash (werkzeug's check, counted)."""
    calls = []
    real = accounts.check_password_hash
    lock = threading.Lock()

    def counting(pwhash, password):
        with lock:
            calls.append(password)
        return real(pwhash, password)
    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return calls


def _parallel(n, work):
    """Run `work(i)` in n threads started together; their results."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        from plugin.db import database
        barrier.wait()
        try:
            results[i] = work(i)
        finally:
            if not database.is_closed():
                database.close()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_32_parallel_wrong_guesses_check_at_most_five_and_lock_once(db, hash_checks):
    user = staff("target")
    results = _parallel(32, lambda i: StaffUser.get_by_id(user.id).sign_in(f"guess-{i}", "ip:203.0.113.66"))
    assert not any(r.ok for r in results)
    assert len(hash_checks) <= MAX_FAILED_LOGINS, f"{len(hash_checks)} guesses reached the hash"
    assert sum(r.locked_now for r in results) == 1
    assert sum(1 for r in results if r.locked_minutes) >= 32 - MAX_FAILED_LOGINS
    guard = SignInGuard.get((SignInGuard.kind == "staff") & (SignInGuard.account_id == user.id))
    assert guard.locked_until is not None and guard.failed_logins == 0
    # locked: even the right password is not checked now
    before = len(hash_checks)
    assert StaffUser.get_by_id(user.id).sign_in(STAFF_PASSWORD, "ip:203.0.113.66").locked_minutes
    assert len(hash_checks) == before


def test_32_parallel_wrong_guesses_over_http_lock_once(seeded, database_url, tmp_path, hash_checks):
    """The same through the real server (rate limit off, so the database counter alone is tested)."""
    import requests
    app = make_app(database_url, tmp_path, XINYIPI_RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    user = staff("target")
    with serving(app) as url:
        results = _parallel(32, lambda i: requests.post(f"{url}/admin/login", allow_redirects=False,
                                                        data={"username": "target", "password": f"guess-{i}"}))
    assert all(r.status_code == 401 for r in results)
    assert len(hash_checks) <= MAX_FAILED_LOGINS
    assert AuditEntry.select().where(AuditEntry.action == "staff.locked").count() == 1
    assert sum("账号已锁定" in r.text for r in results) >= 32 - MAX_FAILED_LOGINS
    assert SignInGuard.get((SignInGuard.account_id == user.id)).locked_until is not None


def _post_login(client, ip, username, password, **extra):
    page = client.get("/admin/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True)
    return client.post("/admin/login", environ_base={"REMOTE_ADDR": ip}, data={
        "username": username, "password": password, "csrf_token": csrf(page), **extra})


def _sign_out(client, ip):
    page = client.get("/admin/", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf(page)}, environ_base={"REMOTE_ADDR": ip})


def test_a_stranger_cannot_lock_the_company_out(id_app):
    staff("company")
    stranger = id_app.test_client()
    for i in range(MAX_FAILED_LOGINS + 3):
        r = _post_login(stranger, STRANGER, "company", f"guess-{i}")
    assert "账号已锁定" in r.get_data(as_text=True)
    # the stranger is locked out even with the right password …
    r = _post_login(stranger, STRANGER, "company", STAFF_PASSWORD)
    assert r.status_code == 401 and "账号已锁定" in r.get_data(as_text=True)
    # … the company, from its own address, signs in
    company = id_app.test_client()
    assert _post_login(company, COMPANY, "company", STAFF_PASSWORD).status_code == 302


def test_a_stranger_behind_the_company_s_address_cannot_lock_its_browsers_out(id_app):
    """Same address (a shared NAT): the company's browser that signed in before has its own counter."""
    staff("company")
    company = id_app.test_client()
    assert _post_login(company, COMPANY, "company", STAFF_PASSWORD).status_code == 302   # recognised from now on
    _sign_out(company, COMPANY)
    stranger = id_app.test_client()
    for i in range(MAX_FAILED_LOGINS):
        _post_login(stranger, COMPANY, "company", f"guess-{i}")
    assert "账号已锁定" in _post_login(stranger, COMPANY, "company", STAFF_PASSWORD).get_data(as_text=True)
    assert _post_login(company, COMPANY, "company", STAFF_PASSWORD).status_code == 302


def test_a_stranger_cannot_lock_an_applicant_out(id_app):
    code = demo_code("red")
    bound_account(code)

    def post(client, ip, password):
        page = client.get("/portal/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True)
        return client.post("/portal/login", environ_base={"REMOTE_ADDR": ip},
                           data={"code": code, "password": password, "csrf_token": csrf(page)})
    stranger = id_app.test_client()
    for i in range(MAX_FAILED_LOGINS):
        post(stranger, STRANGER, f"guess-{i}")
    assert "账号已锁定" in post(stranger, STRANGER, PASSWORD).get_data(as_text=True)
    assert AuditEntry.select().where(AuditEntry.action == "applicant.locked").count() == 1
    assert post(id_app.test_client(), COMPANY, PASSWORD).status_code == 302


def test_guesses_spread_over_many_addresses_hit_the_account_limit_but_not_its_browsers(seeded, database_url,
                                                                                         tmp_path):
    app = make_app(database_url, tmp_path, XINYIPI_RATELIMIT_ACCOUNT="6 per hour")
    staff("company")
    company = app.test_client()
    assert _post_login(company, COMPANY, "company", STAFF_PASSWORD).status_code == 302
    _sign_out(company, COMPANY)
    stranger = app.test_client()
    statuses = [_post_login(stranger, f"203.0.113.{i}", "company", f"guess-{i}").status_code for i in range(1, 9)]
    assert statuses[:6] == [401] * 6 and statuses[6:] == [429, 429]
    r = _post_login(stranger, "203.0.113.200", "company", STAFF_PASSWORD)     # a fresh address, the right password
    assert r.status_code == 429 and "操作过于频繁" in r.get_data(as_text=True) and int(r.headers["Retry-After"]) > 0
    assert _post_login(company, COMPANY, "company", STAFF_PASSWORD).status_code == 302   # its own browser is not throttled


def test_per_address_limit_answers_a_chinese_429(seeded, database_url, tmp_path):
    app = make_app(database_url, tmp_path, XINYIPI_RATELIMIT_SIGN_IN="3 per minute")
    client = app.test_client()
    codes = []
    for i in range(4):
        page = client.get("/portal/login").get_data(as_text=True)
        r = client.post("/portal/login", data={"code": demo_code("red"), "password": f"x{i}", "csrf_token": csrf(page)})
        codes.append(r.status_code)
    assert codes == [401, 401, 401, 429]
    page = r.get_data(as_text=True)
    assert "操作过于频繁" in page and "秒后再试" in page and 'lang="zh-CN"' in page
    assert "Traceback" not in page and "Too Many Requests" not in page
    client.get("/portal/?lang=en")
    page = client.post("/portal/login", data={"code": "x", "password": "y",
                                              "csrf_token": csrf(client.get("/portal/login").get_data(as_text=True))})
    assert page.status_code == 429 and "Too many attempts" in page.get_data(as_text=True)


REDIS_URL = os.environ.get("XINYIPI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis():
    import redis
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        client.ping()
    except redis.RedisError as e:
        if os.environ.get("XINYIPI_REQUIRE_REDIS") == "1":
            pytest.fail(f"XINYIPI_REQUIRE_REDIS=1 but no Redis at {REDIS_URL}: {e}", pytrace=False)
        pytest.skip(f"no Redis at {REDIS_URL}: {e}")
    return client


def test_redis_limits_are_shared_by_two_app_processes(seeded, database_url, tmp_path):
    """Two apps (as two workers) on one Redis: the limit counts the attempts made at both."""
    redis = _redis()
    prefix = f"xyptest{uuid.uuid4().hex[:10]}"
    settings = dict(XINYIPI_RATELIMIT_STORAGE_URL=REDIS_URL, XINYIPI_RATELIMIT_KEY_PREFIX=prefix,
                    XINYIPI_RATELIMIT_SIGN_IN="4 per minute")
    first = make_app(database_url, tmp_path, **settings).test_client()
    second = make_app(database_url, tmp_path, **settings).test_client()
    try:
        statuses = []
        for client in (first, second, first, second, first):
            page = client.get("/admin/login").get_data(as_text=True)
            statuses.append(client.post("/admin/login", data={"username": "nobody", "password": "x",
                                                              "csrf_token": csrf(page)}).status_code)
        assert statuses == [401, 401, 401, 401, 429]
        assert any(prefix in key.decode() for key in redis.scan_iter(match=f"*{prefix}*"))
    finally:
        for key in redis.scan_iter(match=f"*{prefix}*"):
            redis.delete(key)


def test_a_rate_limit_store_that_is_down_does_not_break_sign_in(seeded, database_url, tmp_path):
    """Redis gone (nothing listens there): sign-in still answers, limits count in the process."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    app = make_app(database_url, tmp_path, XINYIPI_RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{dead}/0",
                   XINYIPI_RATELIMIT_SIGN_IN="2 per minute")
    staff("clerk")
    client = app.test_client()
    statuses = []
    for password in ("wrong-1", "wrong-2", STAFF_PASSWORD):
        page = client.get("/admin/login").get_data(as_text=True)
        statuses.append(client.post("/admin/login", data={"username": "clerk", "password": password,
                                                          "csrf_token": csrf(page)}).status_code)
    assert statuses == [401, 401, 429]
