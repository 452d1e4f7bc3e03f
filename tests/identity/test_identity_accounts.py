"""Attacks through an unverified (self-registered) account, and what staff do to applicant accounts
(disable, enable, unbind, reset, verify) in the admin and from the command line: each audited, each
ending the account's sessions on the server where it must."""
from __future__ import annotations

import random
import re

import pytest

from plugin.applications.models import Application, AuditEntry, HumanTask
from plugin.credit.codes import make_credit_code
from plugin.credit.models import Subject
from plugin.identity.models import BindingRequest, SignInSession
from plugin.portal.models import ApplicantAccount
from tests.helpers import bound_account, demo_code
from tests.identity.conftest import PASSWORD, STAFF_PASSWORD, copy_of, csrf, staff
from tests.portal.conftest import CONTACT, PDF

TOLERANCE = "000128001000-HK"     # 户外广告设施设置审批: orange and better take tolerated acceptance
COMMITMENT = "000119001000-HK"    # 人力资源服务许可: orange and better take the commitment path
NEW_NAME = "海口新注册贸易有限公司"


def _sign_in(client, code, password=PASSWORD):
    page = client.get("/portal/login").get_data(as_text=True)
    return client.post("/portal/login", data={"code": code, "password": password, "csrf_token": csrf(page)})


def _self_registered(client, cli_runner, tmp_path) -> str:
    """A code new to the library, registered by whoever typed it; then the credit platform rates it red."""
    code = make_credit_code(random.Random(4242))
    page = client.get("/portal/register").get_data(as_text=True)
    r = client.post("/portal/register", data={"code": code, "name": NEW_NAME, "password": PASSWORD,
                                              "confirm": PASSWORD, "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/cases")
    assert not ApplicantAccount.get(ApplicantAccount.code == code).verified
    export = tmp_path / "rated.csv"
    export.write_text(f"code,name,tier\n{code},{NEW_NAME},red\n", encoding="utf-8")
    assert cli_runner("import-subjects", str(export)).exit_code == 0
    return code


def _draft(client, matter) -> str:
    page = client.get(f"/portal/matters/{matter}").get_data(as_text=True)
    r = client.post(f"/portal/matters/{matter}/apply", data={"csrf_token": csrf(page)})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return re.search(r"/portal/cases/([A-Z0-9]+)/draft", r.headers["Location"]).group(1)


def _submit(client, number):
    page = client.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    data = dict(CONTACT, action="submit", csrf_token=csrf(page))
    for code in re.findall(r'name="file_(\w+)"[^>]*aria-required="true"', page):
        data[f"file_{code}"] = (__import__("io").BytesIO(PDF + code.encode()), f"{code}.pdf")
    return client.post(f"/portal/cases/{number}/draft", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("matter, path", [(TOLERANCE, "容缺受理"), (COMMITMENT, "告知承诺")])
def test_an_unverified_account_cannot_take_commitment_or_tolerance(id_app, cli_runner, tmp_path, matter, path):
    client = id_app.test_client()
    code = _self_registered(client, cli_runner, tmp_path)
    guide = client.get(f"/portal/matters/{matter}").get_data(as_text=True)
    assert 'data-testid="unverified"' in guide and "身份尚未核验" in guide and path in guide
    number = _draft(client, matter)
    assert 'data-testid="unverified"' in client.get(f"/portal/cases/{number}/draft").get_data(as_text=True)
    audit_before = AuditEntry.select().count()
    r = _submit(client, number)
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "身份尚未核验" in page and path in page and "未提交" in page
    case = Application.get(Application.number == number)
    assert case.status == "draft" and case.state is None and case.path is None        # nothing of it saved
    assert HumanTask.select().where(HumanTask.application == case.id).count() == 0
    assert not AuditEntry.select().where((AuditEntry.id > 0) & (AuditEntry.action == "submitted")).exists()
    assert AuditEntry.select().count() == audit_before
    # the command line's apply is refused the same way
    result = cli_runner("apply", "--matter", matter, "--applicant", code)
    assert result.exit_code == 1 and "身份尚未核验" in result.output
    # staff check the papers: the same draft goes through on that path
    assert cli_runner("account", "verify", code, "--by", "window-3", "--note", "营业执照原件").exit_code == 0
    assert AuditEntry.get(AuditEntry.action == "account.verify").actor == "cli:window-3"
    assert 'data-testid="unverified"' not in client.get(f"/portal/matters/{matter}").get_data(as_text=True)
    r = _submit(client, number)
    assert r.status_code == 302
    assert Application.get(Application.number == number).path in ("tolerance", "commitment")


def test_an_unverified_account_may_still_take_standard_review(id_app, cli_runner, tmp_path):
    client = id_app.test_client()
    _self_registered(client, cli_runner, tmp_path)
    number = _draft(client, "000117003000-HK")          # 医疗机构执业登记: standard review
    assert _submit(client, number).status_code == 302
    assert Application.get(Application.number == number).path == "standard"


def _staff_client(app, username="keeper", role="catalog_admin"):
    staff(username, role=role)
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    assert client.post("/admin/login", data={"username": username, "password": STAFF_PASSWORD,
                                             "csrf_token": csrf(page)}).status_code == 302
    return client


def _action(admin, name, account):
    listing = admin.get("/admin/xinyipi_applicant_account/").get_data(as_text=True)
    return admin.post("/admin/xinyipi_applicant_account/action/", data={
        "action": name, "rowid": str(account.id), "csrf_token": csrf(listing)}, follow_redirects=True)


def test_disable_kills_the_live_session_and_sign_in_enable_restores_it(id_app, cli_runner):
    code = demo_code("red")
    account = bound_account(code)
    applicant = id_app.test_client()
    assert _sign_in(applicant, code).status_code == 302
    assert applicant.get("/portal/cases").status_code == 200
    admin = _staff_client(id_app)
    page = _action(admin, "disable", account).get_data(as_text=True)
    assert "已停用 1 个账号" in page
    assert applicant.get("/portal/cases").status_code == 302             # the open session died at once
    assert _sign_in(id_app.test_client(), code).status_code == 401
    entry = AuditEntry.get(AuditEntry.action == "account.disable")
    assert entry.actor == "staff:keeper" and entry.detail["sessions_ended"] == 1
    assert cli_runner("account", "enable", code).exit_code == 0
    assert _sign_in(id_app.test_client(), code).status_code == 302


def test_reset_gives_a_one_time_password_and_forces_a_new_one(id_app):
    code = demo_code("orange")
    account = bound_account(code)
    applicant = id_app.test_client()
    _sign_in(applicant, code)
    thief = copy_of_client(id_app, applicant)
    admin = _staff_client(id_app)
    page = _action(admin, "reset", account).get_data(as_text=True)
    temporary = re.search(rf"账号 {code} 的临时密码：(\S+?)（", page).group(1)
    assert applicant.get("/portal/cases").status_code == 302 and thief.get("/portal/cases").status_code == 302
    assert _sign_in(id_app.test_client(), code).status_code == 401                # the old password is gone
    fresh = id_app.test_client()
    assert _sign_in(fresh, code, temporary).status_code == 302
    r = fresh.get("/portal/cases")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/account/password")
    page = fresh.get("/portal/account/password").get_data(as_text=True)
    r = fresh.post("/portal/account/password", data={"current": temporary, "password": "chosen-anew-7",
                                                     "confirm": "chosen-anew-7", "csrf_token": csrf(page)})
    assert r.status_code == 302 and fresh.get("/portal/cases").status_code == 200
    assert not ApplicantAccount.get_by_id(account.id).must_change_password
    assert temporary not in str([e.detail for e in AuditEntry.select()])             # never kept in clear


def copy_of_client(app, client):
    """A second test client holding a copy of `client`'s cookies."""
    other = app.test_client()
    for cookie in client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def test_unbind_from_the_command_line_frees_the_code_and_kills_sessions(id_app, cli_runner):
    code = demo_code("blue")
    bound_account(code)
    applicant = id_app.test_client()
    _sign_in(applicant, code)
    result = cli_runner("account", "unbind", code, "--reason", "冒名绑定", "--by", "li")
    assert result.exit_code == 0 and "1 session(s) ended" in result.output
    assert applicant.get("/portal/cases").status_code == 302
    assert not ApplicantAccount.select().where(ApplicantAccount.code == code).exists()
    assert Subject.get(Subject.code == code) is not None                       # the subject stays
    entry = AuditEntry.get(AuditEntry.action == "account.unbind")
    assert entry.actor == "cli:li" and entry.detail["reason"] == "冒名绑定"
    # the code may be bound again, with proof
    again = id_app.test_client()
    page = again.get("/portal/register").get_data(as_text=True)
    r = again.post("/portal/register", data={
        "code": code, "name": Subject.get(Subject.code == code).name, "password": PASSWORD, "confirm": PASSWORD,
        "csrf_token": csrf(page)})
    assert r.status_code == 302 and BindingRequest.select().where(BindingRequest.code == code).count() == 2


def test_the_command_line_says_what_is_wrong(db, cli_runner):
    assert "证件号码无效" in cli_runner("account", "disable", "91460100QJWYLF5567").output
    result = cli_runner("account", "reset", "91460100QJWYLF5568")
    assert result.exit_code == 1 and "没有办事大厅账号" in result.output
    assert cli_runner("account", "approve", "999").exit_code == 1


def test_only_account_keepers_see_and_act(id_app):
    account = bound_account(demo_code("red"))
    reviewer = _staff_client(id_app, "rev", "reviewer")
    assert reviewer.get("/admin/xinyipi_applicant_account/").status_code == 403
    r = reviewer.post("/admin/xinyipi_applicant_account/action/", data={
        "action": "disable", "rowid": str(account.id), "csrf_token": csrf(reviewer.get("/admin/").get_data(as_text=True))})
    assert r.status_code == 403 and ApplicantAccount.get_by_id(account.id).active
    admin = _staff_client(id_app)
    page = admin.get("/admin/xinyipi_applicant_account/").get_data(as_text=True)
    assert account.code in page and "停用" in page and "解除绑定" in page and "重置密码" in page
    assert account.password_hash not in page
    assert admin.get(f"/admin/xinyipi_applicant_account/details/?id={account.id}").status_code == 200
    assert SignInSession.select().where(SignInSession.kind == "staff").count() == 2
