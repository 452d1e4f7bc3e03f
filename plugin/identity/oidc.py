"""Sign-in through the unified identity provider (统一身份认证), OpenID Connect with Authlib.

On when ``XINYIPI_OIDC_ISSUER``, ``XINYIPI_OIDC_CLIENT_ID`` and ``XINYIPI_OIDC_CLIENT_SECRET`` are
set. The authorization code flow with PKCE (S256), a random ``state`` and ``nonce`` per sign-in kept
in the signed session; the provider's metadata comes from its discovery document (whose ``issuer``
must be the configured one). The ID token is verified by Authlib against the provider's JWKS with an
asymmetric algorithm only (never ``none`` nor a shared secret), and its ``iss``, ``aud`` (our client
id), ``exp``, ``iat`` and ``nonce`` are checked. A wrong state, a replayed code, a forged or unsigned
ID token or one issued to another client is refused with a message, never a traceback.

- Citizens (`/portal/oidc/…`): the claim ``XINYIPI_OIDC_CODE_CLAIM`` holds their 身份证号 or
  统一社会信用代码. The provider vouches for it, so the account is verified: an existing account is
  signed in (an unverified one is taken over: the password its registrant chose and their sessions
  go, since nothing proved they are this person), a subject without one gets one bound at once (its
  contact is told), a code unknown to the library is filed as a self-registered subject with a
  verified account.
- Staff (`/admin/oidc/…`): the claim ``XINYIPI_OIDC_STAFF_CLAIM`` names an existing, enabled staff
  account; roles stay with the admin's 工作人员 view (nobody is created from a claim).
"""
from __future__ import annotations

import secrets

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import current_app, request
from joserfc.errors import JoseError
from werkzeug.security import generate_password_hash

from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import Subject
from plugin.db import now, write_transaction
from plugin.i18n import _

EXTENSION = "xinyipi_oidc"
CITIZEN, STAFF = "citizen", "staff"
#: ID-token algorithms accepted, whatever the provider advertises: asymmetric signatures only
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class Refused(Exception):
    """An OIDC sign-in refused, with a message a person can read."""


def enabled(app=None) -> bool:
    config = (app or current_app).config
    return all(config.get(k) for k in ("XINYIPI_OIDC_ISSUER", "XINYIPI_OIDC_CLIENT_ID", "XINYIPI_OIDC_CLIENT_SECRET"))


def init_app(app) -> None:
    if not enabled(app):
        return
    from authlib.integrations.flask_client import OAuth
    oauth = OAuth()
    oauth.init_app(app)
    issuer = app.config["XINYIPI_OIDC_ISSUER"].rstrip("/")
    for name in (CITIZEN, STAFF):
        oauth.register(name, client_id=app.config["XINYIPI_OIDC_CLIENT_ID"],
                       client_secret=app.config["XINYIPI_OIDC_CLIENT_SECRET"],
                       server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                       client_kwargs={"scope": app.config["XINYIPI_OIDC_SCOPE"], "code_challenge_method": "S256",
                                      "timeout": 10})
    app.extensions[EXTENSION] = oauth


def _client(who: str):
    client = current_app.extensions[EXTENSION].create_client(who)
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as e:
        raise Refused(_("暂时无法连接统一身份认证平台，请稍后再试或使用密码登录。")) from e
    if metadata.get("issuer", "").rstrip("/") != current_app.config["XINYIPI_OIDC_ISSUER"].rstrip("/"):
        raise Refused(_("统一身份认证平台的发现文档与配置的签发者不一致，已拒绝登录。"))
    advertised = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    metadata["id_token_signing_alg_values_supported"] = [a for a in advertised if a in ALGORITHMS] or ["RS256"]
    return client


def begin(who: str, redirect_uri: str):
    """The redirect to the provider's authorization endpoint (state, nonce and PKCE verifier kept
    in the session)."""
    return _client(who).authorize_redirect(redirect_uri)


def finish(who: str) -> dict:
    """The verified ID token's claims for the callback of this request; Refused on anything wrong."""
    if request.args.get("error"):
        raise Refused(_("统一身份认证未完成：%(error)s", error=request.args.get("error_description")
                        or request.args.get("error")))
    client = _client(who)
    client_id = current_app.config["XINYIPI_OIDC_CLIENT_ID"]
    options = {"iss": {"essential": True, "values": [client.server_metadata["issuer"]]},
               "aud": {"essential": True, "values": [client_id]},
               "sub": {"essential": True}}
    try:
        token = client.authorize_access_token(claims_options=options)
    except MismatchingStateError:
        raise Refused(_("登录请求已失效或来源不明（state 校验失败），请重新登录。")) from None
    except OAuthError as e:
        raise Refused(_("统一身份认证平台拒绝了本次登录（%(error)s），请重新登录。", error=e.error or "error")) from None
    except (JoseError, ValueError, KeyError, TypeError) as e:
        # a forged, unsigned, expired or malformed ID token, or one for another audience or nonce
        claim = getattr(e, "claim", None)
        error = f"{type(e).__name__}: {claim}" if claim else type(e).__name__
        raise Refused(_("身份令牌（ID Token）校验失败（%(error)s），已拒绝登录。", error=error)) from None
    except requests.RequestException:
        raise Refused(_("暂时无法连接统一身份认证平台，请稍后再试或使用密码登录。")) from None
    claims = token.get("userinfo")
    if not claims:
        raise Refused(_("统一身份认证平台没有返回身份令牌（ID Token），已拒绝登录。"))
    claims = dict(claims)
    audience = claims.get("aud")
    audience = audience if isinstance(audience, list) else [audience]
    if client_id not in audience or (len(audience) > 1 and claims.get("azp") != client_id):
        raise Refused(_("身份令牌（ID Token）不是签发给本系统的，已拒绝登录。"))
    return claims


def _audit(subject_id, actor: str, action: str, **detail) -> None:
    from plugin.applications.models import AuditEntry
    AuditEntry.create(subject=subject_id, actor=actor[:100], action=action, detail=detail)


def citizen_account(claims: dict):
    """The applicant account the provider vouched for (bound and verified now if need be)."""
    from plugin.identity import binding
    from plugin.identity.accounts import SELF_REGISTERED
    from plugin.identity.models import SUPERSEDED, BindingRequest
    from plugin.identity.models import ApplicantAccount
    config = current_app.config
    raw = claims.get(config["XINYIPI_OIDC_CODE_CLAIM"])
    if not raw or not isinstance(raw, str):
        raise Refused(_("统一身份认证平台没有提供证件号码（%(claim)s），无法登录办事大厅。",
                        claim=config["XINYIPI_OIDC_CODE_CLAIM"]))
    try:
        code, kind = validate_subject_code(raw)
    except InvalidCode as e:
        raise Refused(_("统一身份认证平台提供的证件号码无效：%(reason)s", reason=str(e))) from None
    name = " ".join(str(claims.get(config["XINYIPI_OIDC_NAME_CLAIM"]) or "").split())[:200] or code
    actor = f"oidc:{code}"
    account = ApplicantAccount.get_or_none(ApplicantAccount.code == code)
    if account is not None:
        if not account.active:
            raise Refused(_("您的办事大厅账号已被停用，请联系工作人员。"))
        if not account.verified:
            # whoever registered the code without proof may not be the person the provider vouches
            # for: their password and their sessions go, the account is the provider's person's now
            from plugin.identity import sessions
            with write_transaction():
                (ApplicantAccount.update(verified_at=now(), verified_via="oidc", must_change_password=False,
                                         password_hash=generate_password_hash(secrets.token_urlsafe(32)))
                 .where(ApplicantAccount.id == account.id).execute())
                ended = sessions.end_all("applicant", account.id, "verified_by_oidc")
                account.clear_sign_in_locks()
                _audit(account.subject_id, actor, "account.verify", via="oidc", sub=str(claims.get("sub"))[:100],
                       password_revoked=True, sessions_ended=ended)
            account = ApplicantAccount.get_by_id(account.id)
        return account
    with write_transaction():
        subject = Subject.get_or_none(Subject.code == code)
        if subject is None:
            subject = Subject.create(code=code, name=name, kind=kind, tier=None, source=SELF_REGISTERED,
                                     tier_updated_at=None)
        account = ApplicantAccount.create(subject=subject, code=code, verified_at=now(), verified_via="oidc",
                                          # no password: this account signs in through the provider
                                          password_hash=generate_password_hash(secrets.token_urlsafe(32)))
        (BindingRequest.update(status=SUPERSEDED, decided_at=now())
         .where((BindingRequest.subject == subject.id) & BindingRequest.status.in_(binding.OPEN)).execute())
        _audit(subject.id, actor, "binding.bound", via="oidc", sub=str(claims.get("sub"))[:100])
    binding.notify_bound(subject, "oidc")
    return account


def staff_user(claims: dict):
    from plugin.accounts import StaffUser
    claim = current_app.config["XINYIPI_OIDC_STAFF_CLAIM"]
    username = claims.get(claim)
    if not username or not isinstance(username, str):
        raise Refused(_("统一身份认证平台没有提供工作人员用户名（%(claim)s）。", claim=claim))
    user = StaffUser.get_or_none(StaffUser.username == username)
    if user is None or not user.active:
        raise Refused(_("统一身份认证账号“%(username)s”没有开通本系统的工作人员权限，请联系系统管理员。", username=username))
    return user
