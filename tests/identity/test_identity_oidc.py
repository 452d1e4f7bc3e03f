"""OpenID Connect sign-in against a REAL provider (oidc-provider from npm, `tests/oidc/provider.mjs`),
the full redirect flow driven by a real HTTP client through the app served by werkzeug, and the
attacks: a wrong or missing state, a replayed code, an injected code (PKCE), a forged and an unsigned
ID token, an ID token issued to another client, all refused with a message and nobody signed in.

The provider sits behind `TamperProxy` (its issuer URL is the proxy's): the attacker who rewrites the
token endpoint's answer."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import threading
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from plugin.applications.models import AuditEntry
from plugin.credit.codes import make_id_number
from plugin.credit.models import Subject
from plugin.notifications import Notification
from plugin.portal.models import ApplicantAccount
from tests.helpers import bound_account, demo_code
from tests.identity.conftest import make_app, staff
from tests.oidc.harness import ProviderProcess, TamperProxy, Unavailable, free_port

CLIENT_ID, CLIENT_SECRET = "xinyipi-portal", "xinyipi-test-secret-0123456789abcdef"
OTHER_ID, OTHER_SECRET = "another-rp", "another-rp-secret-0123456789abcdef"


class Switch:
    """The WSGI app the live server serves: each test puts its own app (its own database) in."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


class World:
    def __init__(self):
        from werkzeug.serving import make_server
        self.app_port, proxy_port, provider_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.app_port}"
        self.issuer = f"http://127.0.0.1:{proxy_port}"
        self.other_redirect = f"{self.url}/another-rp/callback"
        self.provider = ProviderProcess(self.issuer, provider_port, [
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "redirect_uris": [f"{self.url}/portal/oidc/callback", f"{self.url}/admin/oidc/callback"]},
            {"client_id": OTHER_ID, "client_secret": OTHER_SECRET, "redirect_uris": [self.other_redirect]},
        ])
        self.proxy = TamperProxy(proxy_port, provider_port)
        self.switch = Switch()
        self.server = make_server("127.0.0.1", self.app_port, self.switch, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="oidc-app-server", daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.proxy.stop()
        self.provider.stop()


@pytest.fixture(scope="module")
def world():
    try:
        w = World()
    except Unavailable as e:
        if os.environ.get("XINYIPI_REQUIRE_OIDC") == "1":
            pytest.fail(f"XINYIPI_REQUIRE_OIDC=1 but {e}", pytrace=False)
        pytest.skip(str(e))
    yield w
    w.stop()


@pytest.fixture
def oidc(world, seeded, database_url, tmp_path):
    world.switch.app = make_app(database_url, tmp_path, XINYIPI_OIDC_ISSUER=world.issuer,
                                XINYIPI_OIDC_CLIENT_ID=CLIENT_ID, XINYIPI_OIDC_CLIENT_SECRET=CLIENT_SECRET)
    world.proxy.tamper = None
    yield world
    world.proxy.tamper = None


# --------------------------------------------------------------------------- driving the flow

def _browser() -> requests.Session:
    return requests.Session()


def start(http: requests.Session, world: World, path="/portal/oidc/login") -> str:
    """Ask the app to sign in through the provider: the authorization URL it redirects to."""
    r = http.get(world.url + path, allow_redirects=False)
    assert r.status_code == 302, r.text[:300]
    return r.headers["Location"]


def authenticate(http: requests.Session, authorize_url: str, login: str, stop_at: str) -> str:
    """Sign in at the provider as `login` and follow its redirects until one leads to `stop_at`:
    return that callback URL (with code and state) without calling it."""
    r = http.get(authorize_url, allow_redirects=False)
    current = authorize_url
    for _step in range(12):
        if r.status_code in (302, 303):
            current = urljoin(current, r.headers["Location"])
            if current.startswith(stop_at):
                return current
            r = http.get(current, allow_redirects=False)
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', r.text)
        assert r.status_code == 200 and form and 'name="prompt" value="login"' in r.text, (r.status_code, r.text[:500])
        r = http.post(urljoin(current, form.group(1)), data={"prompt": "login", "login": login, "password": "any"},
                      allow_redirects=False)
    raise AssertionError(f"no redirect to {stop_at}: still at {current}")


def sign_in(http, world, login, path="/portal/oidc/login", callback="/portal/oidc/callback"):
    callback_url = authenticate(http, start(http, world, path), login, world.url + callback)
    return http.get(callback_url, allow_redirects=False), callback_url


def signed_in(http, world) -> bool:
    return http.get(f"{world.url}/portal/cases", allow_redirects=False).status_code == 200


def refused(r, *words) -> None:
    page = r.text
    assert r.status_code == 401, (r.status_code, page[:300])
    assert 'role="alert"' in page and "Traceback" not in page and "Internal Server Error" not in page
    for word in words:
        assert word in page, (word, page[:1500])


# --------------------------------------------------------------------------- citizens

def test_a_citizen_signs_in_and_is_verified(oidc):
    code = demo_code("red")
    subject = Subject.get(Subject.code == code)
    subject.contact_email = "owner@yecheng.example.cn"
    subject.save()
    http = _browser()
    authorize = start(http, oidc)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(oidc.issuer + "/auth")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0] and query["client_id"] == [CLIENT_ID]
    assert "openid" in query["scope"][0].split()
    callback = authenticate(http, authorize, f"{code}|海口椰城餐饮管理有限公司", oidc.url + "/portal/oidc/callback")
    r = http.get(callback, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/cases")
    assert signed_in(http, oidc)
    account = ApplicantAccount.get(ApplicantAccount.code == code)
    assert account.verified_via == "oidc"
    # the subject's contact hears of the binding; the sign-in is audited
    assert Notification.get(Notification.kind == "binding").recipient == "owner@yecheng.example.cn"
    assert AuditEntry.select().where((AuditEntry.action == "applicant.login")
                                     & (AuditEntry.actor == f"applicant:{code}")).count() == 1
    # the ID token really was signed by the provider's key (what the app checked)
    assert oidc.proxy.token_responses[-1]["id_token"].count(".") == 2


def test_a_code_new_to_the_library_is_filed_and_verified(oidc):
    import datetime as _dt
    import random
    code = make_id_number(random.Random(77), birth=_dt.date(1992, 6, 1))
    http = _browser()
    r, _ = sign_in(http, oidc, f"{code}|符小海")
    assert r.status_code == 302 and signed_in(http, oidc)
    subject = Subject.get(Subject.code == code)
    assert subject.source == "自主注册" and subject.name == "符小海"
    assert ApplicantAccount.get(ApplicantAccount.code == code).verified


def test_a_squatter_s_unverified_account_is_taken_over_by_the_provider_s_person(oidc):
    """Attack: someone self-registers a code that is not theirs (unverified) and stays signed in. When
    the person the provider vouches for signs in, the squatter's password and session go, so the
    squatter never holds the now verified account."""
    import random
    from plugin.credit.codes import make_credit_code
    code = make_credit_code(random.Random(99))
    squatter = _browser()
    page = squatter.get(f"{oidc.url}/portal/register").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    squatter.post(f"{oidc.url}/portal/register", data={"code": code, "name": "冒名贸易有限公司", "password": "squat-pass-1",
                                                      "confirm": "squat-pass-1", "csrf_token": token})
    assert signed_in(squatter, oidc) and not ApplicantAccount.get(ApplicantAccount.code == code).verified
    owner = _browser()
    r, _ = sign_in(owner, oidc, code)
    assert r.status_code == 302 and signed_in(owner, oidc)
    account = ApplicantAccount.get(ApplicantAccount.code == code)
    assert account.verified_via == "oidc" and not account.check_password("squat-pass-1")
    assert not signed_in(squatter, oidc)
    page = squatter.get(f"{oidc.url}/portal/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = squatter.post(f"{oidc.url}/portal/login", data={"code": code, "password": "squat-pass-1", "csrf_token": token},
                      allow_redirects=False)
    assert r.status_code == 401
    assert AuditEntry.get(AuditEntry.action == "account.verify").detail["password_revoked"] is True


def test_a_disabled_account_cannot_sign_in_through_the_provider(oidc):
    from plugin.identity import accounts
    account = bound_account(demo_code("orange"))
    accounts.disable(account, "staff:test")
    http = _browser()
    r, _ = sign_in(http, oidc, account.code)
    refused(r, "已被停用")
    assert not signed_in(http, oidc)


def test_an_invalid_code_claim_is_refused(oidc):
    http = _browser()
    r, _ = sign_in(http, oidc, "91460100QJWYLF5567")
    refused(r, "证件号码无效")
    assert not signed_in(http, oidc) and ApplicantAccount.select().count() == 0


# --------------------------------------------------------------------------- staff

def test_staff_sign_in_through_the_provider(oidc):
    staff("keeper", role="catalog_admin")
    http = _browser()
    r, _ = sign_in(http, oidc, "staff:keeper", "/admin/oidc/login", "/admin/oidc/callback")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/")
    assert http.get(f"{oidc.url}/admin/", allow_redirects=False).status_code == 200
    assert AuditEntry.get(AuditEntry.action == "staff.login").detail == {"via": "oidc"}


def test_an_unknown_or_disabled_staff_member_is_refused(oidc):
    user = staff("gone", role="reviewer")
    user.active = False
    user.save()
    for login in ("staff:nobody", "staff:gone"):
        http = _browser()
        r, _ = sign_in(http, oidc, login, "/admin/oidc/login", "/admin/oidc/callback")
        refused(r, "没有开通本系统的工作人员权限")
        assert http.get(f"{oidc.url}/admin/", allow_redirects=False).status_code == 302


def test_a_citizen_state_is_no_good_at_the_staff_callback(oidc):
    """A login begun at the portal cannot be finished at the admin's callback (and vice versa)."""
    staff("keeper", role="catalog_admin")
    http = _browser()
    callback = authenticate(http, start(http, oidc), "staff:keeper", oidc.url + "/portal/oidc/callback")
    r = http.get(callback.replace("/portal/oidc/callback", "/admin/oidc/callback"), allow_redirects=False)
    refused(r, "state")
    assert http.get(f"{oidc.url}/admin/", allow_redirects=False).status_code == 302


# --------------------------------------------------------------------------- attacks on the flow

def _with(url: str, **params) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update({k: v for k, v in params.items() if v is not None})
    for k in [k for k, v in params.items() if v is None]:
        query.pop(k, None)
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize("state", ["forged-state-value", "", None])
def test_a_wrong_or_missing_state_is_refused(oidc, state):
    http = _browser()
    callback = authenticate(http, start(http, oidc), demo_code("red"), oidc.url + "/portal/oidc/callback")
    r = http.get(_with(callback, state=state), allow_redirects=False)
    refused(r, "state")
    assert not signed_in(http, oidc)
    assert not oidc.proxy.token_responses or ApplicantAccount.select().count() == 0


def test_a_replayed_code_is_refused(oidc):
    http = _browser()
    r, callback = sign_in(http, oidc, demo_code("red"))
    assert r.status_code == 302
    # the same browser again: its state was used up
    refused(http.get(callback, allow_redirects=False), "state")
    # a fresh browser that began its own login, with the used code: the provider refuses the code
    thief = _browser()
    own = authenticate(thief, start(thief, oidc), demo_code("blue"), oidc.url + "/portal/oidc/callback")
    stolen_code = parse_qs(urlsplit(callback).query)["code"][0]
    r = thief.get(_with(own, code=stolen_code), allow_redirects=False)
    refused(r, "invalid_grant")
    assert not signed_in(thief, oidc)


def test_an_injected_code_is_refused_by_pkce(oidc):
    """The victim's fresh code, injected into the attacker's own login (its own state and PKCE
    verifier): the provider refuses it, nobody is signed in as the victim."""
    victim, attacker = _browser(), _browser()
    victim_callback = authenticate(victim, start(victim, oidc), demo_code("red"), oidc.url + "/portal/oidc/callback")
    attacker_callback = authenticate(attacker, start(attacker, oidc), demo_code("blue"),
                                     oidc.url + "/portal/oidc/callback")
    code = parse_qs(urlsplit(victim_callback).query)["code"][0]
    r = attacker.get(_with(attacker_callback, code=code), allow_redirects=False)
    refused(r, "invalid_grant")
    assert not signed_in(attacker, oidc)
    assert not ApplicantAccount.select().where(ApplicantAccount.code == demo_code("red")).exists()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _header(id_token: str) -> dict:
    head = id_token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def _as_victim(token: dict) -> dict:
    claims = _claims(token["id_token"])
    claims.update(sub=f"{demo_code('red')}", subject_code=demo_code("red"), name="冒名")
    return claims


def _forged(token: dict) -> dict:
    """The real token's claims made the victim's, re-signed with the attacker's key under the provider's kid."""
    from joserfc import jwt
    from joserfc.jwk import RSAKey
    key = RSAKey.generate_key(2048)
    header = {"alg": "RS256", "kid": _header(token["id_token"])["kid"], "typ": "JWT"}
    return {**token, "id_token": jwt.encode(header, _as_victim(token), key)}


def _unsigned(token: dict) -> dict:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(_as_victim(token)).encode())
    return {**token, "id_token": f"{header}.{body}."}


def _stripped_signature(token: dict) -> dict:
    head, body, _sig = token["id_token"].split(".")
    return {**token, "id_token": f"{head}.{_b64(json.dumps(_as_victim(token)).encode())}.{_sig}"}


@pytest.mark.parametrize("tamper, error", [(_forged, "BadSignatureError"), (_unsigned, "UnsupportedAlgorithmError"),
                                           (_stripped_signature, "BadSignatureError")],
                         ids=["forged", "unsigned", "altered"])
def test_a_forged_or_unsigned_id_token_is_refused(oidc, tamper, error):
    oidc.proxy.tamper = tamper
    http = _browser()
    r, _ = sign_in(http, oidc, demo_code("blue"))        # the attacker's own login; the token says "red"
    refused(r, "ID Token", error)
    assert not signed_in(http, oidc)
    assert ApplicantAccount.select().count() == 0
    assert AuditEntry.select().where(AuditEntry.action == "applicant.login_failed").count() == 1


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, _b64(hashlib.sha256(verifier.encode()).digest())


def test_an_id_token_issued_to_another_client_is_refused(oidc):
    """Another relying party of the same provider (the attacker's) obtains a genuine, provider-signed
    ID token with the nonce of our login (the nonce is in the authorization URL for all to see), and
    substitutes it in our token response: its audience is not us."""
    http = _browser()
    authorize = start(http, oidc)
    nonce = parse_qs(urlsplit(authorize).query)["nonce"][0]
    # the other relying party's own flow at the provider, as the victim's identity
    other = _browser()
    verifier, challenge = _pkce()
    other_authorize = f"{oidc.issuer}/auth?" + urlencode({
        "client_id": OTHER_ID, "response_type": "code", "scope": "openid profile", "redirect_uri": oidc.other_redirect,
        "state": "s", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"})
    other_callback = authenticate(other, other_authorize, demo_code("red"), oidc.other_redirect)
    exchanged = requests.post(f"{oidc.issuer}/token", auth=(OTHER_ID, OTHER_SECRET), data={
        "grant_type": "authorization_code", "code": parse_qs(urlsplit(other_callback).query)["code"][0],
        "redirect_uri": oidc.other_redirect, "code_verifier": verifier}).json()
    foreign = exchanged["id_token"]
    assert _claims(foreign)["aud"] == OTHER_ID and _claims(foreign)["nonce"] == nonce
    oidc.proxy.tamper = lambda token: {**token, "id_token": foreign}
    callback = authenticate(http, authorize, demo_code("blue"), oidc.url + "/portal/oidc/callback")
    r = http.get(callback, allow_redirects=False)
    refused(r, "ID Token", "InvalidClaimError: aud")
    assert not signed_in(http, oidc)
    assert not ApplicantAccount.select().where(ApplicantAccount.code == demo_code("red")).exists()


def test_an_id_token_from_another_login_is_refused_by_its_nonce(oidc):
    """A genuine ID token for us, from an earlier login (another nonce), replayed into a new one."""
    first = _browser()
    r, _ = sign_in(first, oidc, demo_code("red"))
    assert r.status_code == 302
    earlier = oidc.proxy.token_responses[-1]["id_token"]
    oidc.proxy.tamper = lambda token: {**token, "id_token": earlier}
    http = _browser()
    r, _ = sign_in(http, oidc, demo_code("blue"))
    refused(r, "ID Token", "InvalidClaimError: nonce")
    assert not signed_in(http, oidc)


def test_oidc_is_off_without_configuration(id_app):
    client = id_app.test_client()
    assert client.get("/portal/oidc/login").status_code == 404
    assert client.get("/admin/oidc/callback?code=x&state=y").status_code == 404
    assert "统一身份认证登录" not in client.get("/portal/login").get_data(as_text=True)
