"""Attacks on sign-in sessions, against the app served for real: a cookie copied before sign-out or
before a password change must be worth nothing afterwards (the session lives on the server), for
staff and applicants; the session cookie is HttpOnly, SameSite=Lax, and Secure over HTTPS."""
from __future__ import annotations

from plugin.applications.models import AuditEntry
from plugin.identity.models import SignInSession
from tests.helpers import bound_account, demo_code
from tests.identity.conftest import (PASSWORD, STAFF_PASSWORD, applicant_sign_in, browser, copy_of, csrf,
                                     staff, staff_sign_in)


def test_a_staff_cookie_copied_before_sign_out_is_dead_after_it(live):
    staff("clerk")
    http = browser()
    assert staff_sign_in(http, live, "clerk").status_code == 302
    thief = copy_of(http)
    assert thief.get(f"{live}/admin/", allow_redirects=False).status_code == 200   # the copy works now …
    token = csrf(http.get(f"{live}/admin/").text)
    assert http.post(f"{live}/admin/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302
    r = thief.get(f"{live}/admin/", allow_redirects=False)                          # … and not after sign-out
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    r = thief.get(f"{live}/admin/xinyipi_subject/", allow_redirects=False)
    assert r.status_code == 302
    row = SignInSession.get(SignInSession.kind == "staff")
    assert row.ended_at is not None and row.end_reason == "sign_out"


def test_an_applicant_cookie_copied_before_sign_out_is_dead_after_it(live):
    code = demo_code("red")
    bound_account(code)
    http = browser()
    assert applicant_sign_in(http, live, code).status_code == 302
    thief = copy_of(http)
    assert thief.get(f"{live}/portal/cases", allow_redirects=False).status_code == 200
    token = csrf(http.get(f"{live}/portal/cases").text)
    assert http.post(f"{live}/portal/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302
    r = thief.get(f"{live}/portal/cases", allow_redirects=False)
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]
    page = thief.get(f"{live}/portal/").text
    assert "海口椰城餐饮管理有限公司" not in page          # not even the name is shown to the copy


def test_a_staff_password_change_kills_every_other_session(live):
    staff("clerk")
    http, laptop = browser(), browser()
    assert staff_sign_in(http, live, "clerk").status_code == 302
    assert staff_sign_in(laptop, live, "clerk").status_code == 302
    thief = copy_of(http)
    token = csrf(http.get(f"{live}/admin/password").text)
    r = http.post(f"{live}/admin/password", data={"current": STAFF_PASSWORD, "password": "a-new-staff-pass",
                                                  "confirm": "a-new-staff-pass", "csrf_token": token},
                  allow_redirects=False)
    assert r.status_code == 302
    assert http.get(f"{live}/admin/", allow_redirects=False).status_code == 200     # the changer stays in
    for other in (thief, laptop):
        assert other.get(f"{live}/admin/", allow_redirects=False).status_code == 302
    assert AuditEntry.select().where(AuditEntry.action == "staff.password_changed").count() == 1


def test_a_staff_password_change_needs_the_current_password(live):
    staff("clerk")
    http = browser()
    staff_sign_in(http, live, "clerk")
    token = csrf(http.get(f"{live}/admin/password").text)
    r = http.post(f"{live}/admin/password", data={"current": "guessed-wrong", "password": "a-new-staff-pass",
                                                  "confirm": "a-new-staff-pass", "csrf_token": token})
    assert r.status_code == 422 and "当前密码不正确" in r.text
    assert staff_sign_in(browser(), live, "clerk").status_code == 302              # the old one still works


def test_an_applicant_password_change_kills_every_other_session(live):
    code = demo_code("orange")
    bound_account(code)
    http = browser()
    assert applicant_sign_in(http, live, code).status_code == 302
    thief = copy_of(http)
    token = csrf(http.get(f"{live}/portal/account/password").text)
    r = http.post(f"{live}/portal/account/password",
                  data={"current": PASSWORD, "password": "another-pass-2", "confirm": "another-pass-2",
                        "csrf_token": token}, allow_redirects=False)
    assert r.status_code == 302
    assert http.get(f"{live}/portal/cases", allow_redirects=False).status_code == 200
    assert thief.get(f"{live}/portal/cases", allow_redirects=False).status_code == 302
    assert applicant_sign_in(browser(), live, code).status_code == 401                 # the old password is gone
    assert applicant_sign_in(browser(), live, code, "another-pass-2").status_code == 302


def test_a_password_changed_behind_the_session_s_back_ends_it(id_app):
    """However the password changes (here straight in the table), a session started under the old one dies."""
    code = demo_code("blue")
    account = bound_account(code)
    client = id_app.test_client()
    token = csrf(client.get("/portal/login").get_data(as_text=True))
    client.post("/portal/login", data={"code": code, "password": PASSWORD, "csrf_token": token})
    assert client.get("/portal/cases").status_code == 200
    account.set_password("changed-elsewhere-1")
    account.save()
    assert client.get("/portal/cases").status_code == 302


def _cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_session_cookies_are_httponly_lax_and_secure_over_https(id_app):
    staff("clerk")
    for scheme, secure in (("http", False), ("https", True)):
        client = id_app.test_client()
        base = f"{scheme}://localhost"
        page = client.get("/admin/login", base_url=base).get_data(as_text=True)
        r = client.post("/admin/login", base_url=base, data={"username": "clerk", "password": STAFF_PASSWORD,
                                                             "csrf_token": csrf(page)})
        assert r.status_code == 302
        cookies = _cookies(r)
        for name in ("session", "xinyipi_device"):
            header = cookies[name]
            assert "HttpOnly" in header and "SameSite=Lax" in header, header
            assert ("; Secure" in header) is secure, (scheme, header)


def test_a_sysadmin_resetting_a_staff_password_kills_that_member_s_sessions(live):
    from plugin.identity.models import SignInGuard
    clerk = staff("clerk")
    staff("root", role="sysadmin")
    http = browser()
    assert staff_sign_in(http, live, "clerk").status_code == 302
    thief = copy_of(http)
    # the clerk's own address had been locked out by guesses; the reset clears that too
    for i in range(5):
        staff_sign_in(browser(), live, "clerk", f"wrong-{i}")
    assert SignInGuard.get(SignInGuard.account_id == clerk.id).locked_until is not None
    admin = browser()
    assert staff_sign_in(admin, live, "root").status_code == 302
    edit = f"{live}/admin/xinyipi_staff_user/edit/?id={clerk.id}"
    r = admin.post(edit, data={"username": "clerk", "name": clerk.name, "role": clerk.role, "department": "测试",
                               "active": "y", "password": "reset-by-root-1", "csrf_token": csrf(admin.get(edit).text)},
                   allow_redirects=False)
    assert r.status_code == 302
    for other in (http, thief):
        assert other.get(f"{live}/admin/", allow_redirects=False).status_code == 302
    assert not SignInGuard.select().where(SignInGuard.account_id == clerk.id).exists()
    assert staff_sign_in(browser(), live, "clerk", "reset-by-root-1").status_code == 302
    assert AuditEntry.get(AuditEntry.action == "staff_user.sessions_ended").detail["sessions_ended"] == 1
