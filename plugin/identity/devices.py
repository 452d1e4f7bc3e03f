"""Recognised browsers: a signed cookie naming the accounts this browser has signed in to.

It decides which counter a wrong password goes to (`sign_in_guard.client`): a browser that signed
in to the account before counts on its own ("device:…"), any other client by its IP address
("ip:…"). A stranger guessing a company's password therefore locks out the stranger's address,
never the company's own browsers, and the per-account rate limit (which does stop a stranger who
spreads the guesses over many addresses) does not apply to them either. The cookie proves nothing
by itself: the password is still checked.
"""
from __future__ import annotations

import hashlib
import secrets

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "xinyipi_device"
MAX_AGE = 180 * 24 * 3600
MAX_ACCOUNTS = 20


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["XINYIPI_SECRET_KEY"], salt="xinyipi-device")


def _read() -> dict | None:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("a"), list):
        return None
    return data


def _account_key(kind: str, account_id: int) -> str:
    return f"{kind}:{account_id}"


def recognised(kind: str, account_id: int | None) -> str | None:
    """This browser's id when it signed in to the account before, else None."""
    data = _read()
    if account_id is None or data is None or _account_key(kind, account_id) not in data["a"]:
        return None
    return data["d"]


def client_key(kind: str, account_id: int | None) -> str:
    """Which counter this request's wrong passwords for the account go to."""
    device = recognised(kind, account_id)
    if device is not None:
        return "device:" + hashlib.sha256(device.encode()).hexdigest()[:32]
    return "ip:" + (request.remote_addr or "?")


def remember(kind: str, account_id: int) -> None:
    """After a successful sign-in: this browser is recognised for the account from now on."""
    data = _read() or {"d": secrets.token_urlsafe(18), "a": []}
    key = _account_key(kind, account_id)
    accounts = [a for a in data["a"] if a != key][-(MAX_ACCOUNTS - 1):] + [key]
    value = _serializer().dumps({"d": data["d"], "a": accounts})

    @after_this_request
    def set_cookie(response):
        response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax",
                            secure=request.is_secure, path="/")
        return response
