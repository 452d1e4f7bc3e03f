"""Sign-in sessions kept on the server.

The session cookie (Flask's signed cookie) carries only a random token; whether it still signs
anyone in is decided here, on every request: the row must exist, not be ended, have been seen within
the idle limit, and the account's password must be the one it was started with. So a cookie copied
before sign-out, before a password change, or before staff disable, reset or unbind the account is
worth nothing afterwards.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import secrets

from plugin.db import now
from plugin.identity.models import SignInSession

#: A session's `seen_at` is written at most this often (not on every request).
TOUCH_SECONDS = 60


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credential_of(password_hash: str) -> str:
    """A fingerprint of the account's password hash: a session started under one password does not
    outlive it, however the password was changed."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def start(kind: str, account_id: int, password_hash: str, ip: str = "", via: str = "password") -> str:
    """A new session for the account; returns the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    SignInSession.create(token_hash=_digest(token), kind=kind, account_id=account_id,
                         credential=credential_of(password_hash), ip=(ip or "")[:64], via=via)
    return token


def resolve(kind: str, token: str | None, idle_seconds: int) -> SignInSession | None:
    """The live session for `token`, or None (unknown, ended, or idle too long: then it is ended)."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    row = SignInSession.get_or_none((SignInSession.token_hash == _digest(token)) & (SignInSession.kind == kind))
    if row is None or row.ended_at is not None:
        return None
    moment = now()
    if row.seen_at < moment - _dt.timedelta(seconds=idle_seconds):
        _end_where(SignInSession.id == row.id, "idle")
        return None
    if row.seen_at < moment - _dt.timedelta(seconds=TOUCH_SECONDS):
        SignInSession.update(seen_at=moment).where(SignInSession.id == row.id).execute()
    return row


def alive_for(row: SignInSession | None, password_hash: str) -> bool:
    """Whether the session was started under the account's current password."""
    return row is not None and secrets.compare_digest(row.credential, credential_of(password_hash))


def _end_where(clause, reason: str) -> int:
    return (SignInSession.update(ended_at=now(), end_reason=reason)
            .where(clause & SignInSession.ended_at.is_null()).execute())


def end(token: str | None, reason: str = "sign_out") -> None:
    if token and isinstance(token, str):
        _end_where(SignInSession.token_hash == _digest(token), reason)


def end_all(kind: str, account_id: int, reason: str) -> int:
    """End every session of the account (a password change, disable, reset, unbind); returns how many."""
    return _end_where((SignInSession.kind == kind) & (SignInSession.account_id == account_id), reason)


def live_count(kind: str, account_id: int) -> int:
    return (SignInSession.select().where((SignInSession.kind == kind) & (SignInSession.account_id == account_id)
                                         & SignInSession.ended_at.is_null()).count())


# ---------------------------------------------------------------------------------------------
# the cookie itself
# ---------------------------------------------------------------------------------------------
from flask import has_request_context, request  # noqa: E402
from flask.sessions import SecureCookieSessionInterface  # noqa: E402


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with its cookie ``HttpOnly``, ``SameSite=Lax`` (unless the app
    sets another value) and ``Secure`` whenever the request came over HTTPS (or the app says so)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)

    def get_cookie_samesite(self, app) -> str:
        return app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"

    def get_cookie_httponly(self, app) -> bool:
        return app.config.get("SESSION_COOKIE_HTTPONLY", True) is not False


def init_app(app) -> None:
    """Use the cookie flags above, unless the host app brought a session interface of its own."""
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = CookieSessionInterface()
