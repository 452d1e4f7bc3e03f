"""Rate limits on the endpoints that check secrets (Flask-Limiter).

- per IP address: every sign-in, registration, activation, password-change POST and every
  OIDC sign-in (``XINYIPI_RATELIMIT_SIGN_IN``, 20 per minute);
- per account: failed sign-ins from browsers not recognised for the account
  (``XINYIPI_RATELIMIT_ACCOUNT``, 30 per hour): this stops a stranger who spreads guesses over many
  addresses, while the account's own browsers (`plugin.identity.devices`) are not throttled;
- per subject code: registrations, each of which sends an activation code to the subject's
  contact (``XINYIPI_RATELIMIT_REGISTER``, 10 per hour).

Counters are kept in memory (one process) unless ``XINYIPI_RATELIMIT_STORAGE_URL`` names a shared
store such as Redis (``redis://127.0.0.1:6379/0``): use one with several workers. A refusal is a
429 page in the page's language with ``Retry-After``.
"""
from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from plugin.identity import devices

EXTENSION = "xinyipi_limiter"

#: endpoint → which limits apply ("ip", "staff", "applicant", "register")
PROTECTED = {
    "xinyipi_staff.login": ("ip", "staff"),
    "xinyipi_staff.password": ("ip",),
    "xinyipi_staff.oidc_login": ("ip",),
    "xinyipi_staff.oidc_callback": ("ip",),
    "xinyipi_portal.login": ("ip", "applicant"),
    "xinyipi_portal.register": ("ip", "register"),
    "xinyipi_portal.activate": ("ip",),
    "xinyipi_portal.password": ("ip",),
    "xinyipi_portal.oidc_login": ("ip",),
    "xinyipi_portal.oidc_callback": ("ip",),
}
OIDC_ENDPOINTS = frozenset(e for e in PROTECTED if ".oidc_" in e)


def _normal_code(value: str) -> str:
    from plugin.credit.codes import InvalidCode, validate_subject_code
    try:
        return validate_subject_code(value)[0]
    except InvalidCode:
        return value.strip().upper()[:40]


def _staff_key() -> str:
    return "staff:" + (request.form.get("username") or "").strip()[:64]


def _applicant_key() -> str:
    return "applicant:" + _normal_code(request.form.get("code") or "")


def _register_key() -> str:
    return "register:" + _normal_code(request.form.get("code") or "")


def _recognised_staff() -> bool:
    from plugin.accounts import StaffUser
    username = (request.form.get("username") or "").strip()
    user = StaffUser.get_or_none(StaffUser.username == username) if username else None
    return user is not None and devices.recognised("staff", user.id) is not None


def _recognised_applicant() -> bool:
    from plugin.identity.models import ApplicantAccount
    account = ApplicantAccount.get_or_none(ApplicantAccount.code == _normal_code(request.form.get("code") or ""))
    return account is not None and devices.recognised("applicant", account.id) is not None


def _failed(response) -> bool:
    return response.status_code == 401


def _config(name: str):
    return lambda: current_app.config[name]


def init_app(app) -> Limiter:
    """Create this app's limiter and put the limits on the endpoints above (call once every
    blueprint is registered)."""
    limiter = Limiter(get_remote_address, app=app,
                      storage_uri=app.config.get("XINYIPI_RATELIMIT_STORAGE_URL") or "memory://",
                      key_prefix=app.config.get("XINYIPI_RATELIMIT_KEY_PREFIX") or "xinyipi",
                      enabled=bool(app.config.get("XINYIPI_RATELIMIT_ENABLED", True)),
                      strategy="moving-window", headers_enabled=False,
                      # a shared store that is down must not turn sign-in into a 500: count in this
                      # process meanwhile (the per-client lock in the database holds regardless)
                      in_memory_fallback_enabled=True, swallow_errors=True)
    app.extensions[EXTENSION] = limiter
    for endpoint, kinds in PROTECTED.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        methods = None if endpoint in OIDC_ENDPOINTS else ["POST"]
        limits = []
        if "ip" in kinds:
            limits.append(limiter.limit(_config("XINYIPI_RATELIMIT_SIGN_IN"), methods=methods, scope="ip"))
        if "staff" in kinds:
            limits.append(limiter.limit(_config("XINYIPI_RATELIMIT_ACCOUNT"), key_func=_staff_key, methods=["POST"],
                                        deduct_when=_failed, exempt_when=_recognised_staff, scope="account"))
        if "applicant" in kinds:
            limits.append(limiter.limit(_config("XINYIPI_RATELIMIT_ACCOUNT"), key_func=_applicant_key,
                                        methods=["POST"], deduct_when=_failed, exempt_when=_recognised_applicant,
                                        scope="account"))
        if "register" in kinds:
            limits.append(limiter.limit(_config("XINYIPI_RATELIMIT_REGISTER"), key_func=_register_key,
                                        methods=["POST"], scope="subject"))
        for limit in limits:
            # this app's view function is replaced by the limited one (the blueprint's stays as it is:
            # each app gets its own limiter and its own counters)
            view = limit(view)
        app.view_functions[endpoint] = view
    return limiter


def retry_after() -> int:
    """Seconds until the breached limit lets this client try again (for the 429 page)."""
    import time
    limiter = current_app.extensions.get(EXTENSION)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)
