"""Registration and sign-in with a subject code; separate from staff sign-in; lockout; idle expiry."""
from __future__ import annotations

import re

import pytest

from plugin.applications.models import AuditEntry
from plugin.credit.codes import make_id_number
from plugin.credit.models import Subject
from plugin.credit.tiers import effective_tier
from plugin.portal.models import ApplicantAccount
from tests.helpers import demo_code
from tests.portal.conftest import PASSWORD, account_for, sign_in_applicant

RED = "91460100QJWYLF5568"


def _register(client, **form):
    data = {"code": "", "name": "", "password": PASSWORD, "confirm": PASSWORD}
    data.update(form)
    return client.post("/portal/register", data=data)


def test_demo_codes_are_the_ones_the_brief_names(seeded):
    assert demo_code("red") == RED
    assert demo_code("black", "严重") == "91460100P3MR19AE6W"


@pytest.mark.parametrize("code, rule", [
    ("91460100QJWYLF5567", "第18位校验码"),          # wrong check character
    ("9146010", "长度"),                             # too short
    ("110105194912310021", "校验码"),                # ID number with a wrong check digit
    ("110105209912310023", "出生日期"),              # born in the future
])
def test_registration_says_which_rule_of_the_code_failed(portal_app, code, rule):
    client = portal_app.test_client()
    before = Subject.select().count()
    r = _register(client, code=code, name="某某")
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "证件号码无效" in page and rule in page
    # accessible: summary read out, the field marked invalid and pointing at its message
    assert 'role="alert"' in page
    assert re.search(r'id="f-code"[^>]*aria-invalid="true"', page, re.S)
    assert re.search(r'id="f-code"[^>]*aria-describedby="[^"]*f-code-error', page, re.S)
    assert ApplicantAccount.select().count() == 0 and Subject.select().count() == before


def test_registration_checks_name_and_password(portal_app):
    client = portal_app.test_client()
    page = _register(client, code=RED, name="", password="short", confirm="short").get_data(as_text=True)
    assert "请填写名称或姓名" in page and "密码至少 8 位" in page
    page = _register(client, code=RED, name="海口椰城餐饮管理有限公司", password="onlyletters",
                     confirm="onlyletters").get_data(as_text=True)
    assert "密码须同时包含字母和数字" in page
    page = _register(client, code=RED, name="海口椰城餐饮管理有限公司", confirm="different-1").get_data(as_text=True)
    assert "两次输入的密码不一致" in page
    # a subject of the library must come with the name it is registered under
    page = _register(client, code=RED, name="冒名有限公司").get_data(as_text=True)
    assert "名称与信用主体库中登记的名称不一致" in page
    assert ApplicantAccount.select().count() == 0


def test_the_public_code_and_name_of_a_known_subject_bind_nothing(portal_app):
    """Attack: a stranger registers a company of the library with its public code and name. Nothing
    is bound and nobody is signed in: the binding waits for its proof (here, the subject has no
    contact on record, for a staff review); the real company can still register meanwhile."""
    client = portal_app.test_client()
    r = _register(client, code=RED.lower(), name="海口椰城餐饮管理有限公司")   # normalised: lower case accepted
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/activate")
    assert ApplicantAccount.select().count() == 0
    assert client.get("/portal/cases").status_code == 302
    page = client.get("/portal/activate").get_data(as_text=True)
    assert "等待工作人员审核" in page
    # the stranger's request blocks nobody: the company registers too
    company = portal_app.test_client()
    r = _register(company, code=RED, name="海口椰城餐饮管理有限公司")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/activate")
    assert AuditEntry.select().where(AuditEntry.action == "binding.requested").count() == 2
    # once an account is bound, the code cannot register again
    account_for(RED)
    account = ApplicantAccount.get(ApplicantAccount.code == RED)
    assert account.password_hash != PASSWORD and account.check_password(PASSWORD) and account.verified
    page = _register(portal_app.test_client(), code=RED, name="海口椰城餐饮管理有限公司").get_data(as_text=True)
    assert "该证件号码已注册" in page


def test_a_code_new_to_the_library_registers_with_the_default_tier(portal_app):
    import random
    code = make_id_number(random.Random(5), birth=__import__("datetime").date(1990, 5, 17))
    assert Subject.get_or_none(Subject.code == code) is None
    client = portal_app.test_client()
    r = _register(client, code=code, name="符小海")
    assert r.status_code == 302
    subject = Subject.get(Subject.code == code)
    assert subject.kind == "person" and subject.source == "自主注册" and subject.tier_id is None
    assert effective_tier(subject).code == "blue"        # Haikou's default tier
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "自主注册" in page and "默认等级" in page


def test_login_is_refused_and_locks_after_five_wrong_passwords(portal_app):
    account_for(RED)
    client = portal_app.test_client()
    r = client.post("/portal/login", data={"code": RED, "password": "wrong-pass-1"})
    assert r.status_code == 401 and "证件号码或密码不正确" in r.get_data(as_text=True)
    assert 'role="alert"' in r.get_data(as_text=True)
    r = client.post("/portal/login", data={"code": "not-a-code", "password": PASSWORD})
    assert r.status_code == 401
    for _ in range(4):
        r = client.post("/portal/login", data={"code": RED, "password": "wrong-pass-1"})
    assert "账号已锁定" in r.get_data(as_text=True)
    r = client.post("/portal/login", data={"code": RED, "password": PASSWORD})
    assert r.status_code == 401 and "账号已锁定" in r.get_data(as_text=True)
    assert client.get("/portal/cases").status_code == 302
    assert AuditEntry.select().where(AuditEntry.action == "applicant.login_failed").count() == 7


def test_applicant_sign_in_is_not_staff_sign_in(portal_app):
    client = portal_app.test_client()
    sign_in_applicant(client, RED)
    assert client.get("/portal/cases").status_code == 200
    r = client.get("/admin/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    r = client.post("/portal/logout")
    assert r.status_code == 302
    r = client.get("/portal/cases")
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]


def test_idle_session_expires(portal_app):
    portal_app.config["XINYIPI_SESSION_MINUTES"] = 30
    client = portal_app.test_client()
    sign_in_applicant(client, RED)
    with client.session_transaction() as s:
        s["xinyipi_applicant_seen"] -= 31 * 60
    r = client.get("/portal/cases")
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "登录已超时" in page


def test_the_failed_rule_is_said_in_english_when_the_page_is(portal_app):
    client = portal_app.test_client()
    client.get("/portal/?lang=en")
    page = _register(client, code="91460100QJWYLF5567", name="某某").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert re.search(r'id="f-code-error">[^<]*check character', page)
