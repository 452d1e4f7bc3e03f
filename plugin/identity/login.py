"""Who is signed in to xinyipi: staff and applicants, two user types on Flask-Login's machinery,
kept apart from the sign-in of the app xinyipi is mounted in.

- Each user type (``staff``, ``applicant``) registers its account model and its user class
  (`register`). A signed-in user's id is prefixed by its type, ``staff:<token>`` or
  ``applicant:<token>``; the token names a server-side session (`plugin.identity.sessions`), and
  `Manager.load` dispatches on the prefix. Both types load by the same rules: the session must be
  live, the account enabled, and its password the one the session started under (so disabling an
  account or changing its password ends its sessions, for staff and applicants alike).
- xinyipi's `Manager` (a ``LoginManager``) belongs to its extension
  (``app.extensions["xinyipi"].login_manager``). It becomes ``app.login_manager`` only when the app
  has none: a host's own LoginManager, its user loader and its users stay as they are.
- The tokens live in session keys of xinyipi's own (``xinyipi_staff``, ``xinyipi_applicant``),
  never in Flask-Login's ``_user_id`` (the host's), so a browser can be signed in to the host and to
  xinyipi, as staff and as an applicant, each independently; signing in or out of one leaves the
  others alone.
- On xinyipi's own pages ``flask_login.current_user`` is xinyipi's user of that part (staff in the
  admin, the applicant in the portal, anonymous in the JSON API); on the host's pages it is the
  host's. xinyipi never calls ``login_user`` (it would write the host's ``_user_id``) and sends no
  ``user_logged_in`` signal (a host's handlers would take our staff for its users).
"""
from __future__ import annotations

import dataclasses
import time

from flask import current_app, g, has_request_context, request, session
from flask_login import AnonymousUserMixin, LoginManager, UserMixin

from plugin.identity import devices, sessions

STAFF, APPLICANT = "staff", "applicant"
PREFIX = "xinyipi_"


class SignedIn(UserMixin):
    """A signed-in xinyipi user: the account, and the token of its server-side session."""

    kind = ""

    def __init__(self, account, token: str):
        self.account, self.token = account, token

    def get_id(self) -> str:
        return f"{self.kind}:{self.token}"


class Anonymous(AnonymousUserMixin):
    kind = ""


@dataclasses.dataclass(frozen=True)
class Kind:
    model: type             # the account model: `id`, `active`, `password_hash`
    user_class: type        # a SignedIn subclass


def _token_key(kind: str) -> str:
    return f"{PREFIX}{kind}"


#: When this browser last used its session of a kind (the staff's key kept its older name).
_SEEN_KEYS = {STAFF: f"{PREFIX}seen"}


def _seen_key(kind: str) -> str:
    return _SEEN_KEYS.get(kind) or f"{PREFIX}{kind}_seen"


class Manager(LoginManager):
    """xinyipi's LoginManager (see the module's docstring)."""

    def __init__(self):
        super().__init__()
        self.kinds: dict[str, Kind] = {}
        self.anonymous_user = Anonymous
        self.session_protection = None      # the server-side session is the protection
        self.user_loader(self.load)

    def register(self, kind: str, model: type, user_class: type) -> None:
        user_class.kind = kind
        self.kinds[kind] = Kind(model, user_class)

    def init_app(self, app, add_context_processor: bool = True) -> None:
        """Become the app's LoginManager only when it has none (never replace a host's)."""
        if getattr(app, "login_manager", None) is None:
            super().init_app(app, add_context_processor)

    # -- loading ---------------------------------------------------------------------------------
    def load(self, user_id: str):
        """The user a prefixed id names (``staff:<token>``, ``applicant:<token>``), or None."""
        if not isinstance(user_id, str):
            return None
        kind, _sep, token = user_id.partition(":")
        return self._load(kind, token) if kind in self.kinds else None

    def _load(self, kind: str, token: str | None):
        row = sessions.resolve(kind, token, current_app.config["XINYIPI_SESSION_MINUTES"] * 60)
        if row is None:
            return None
        spec = self.kinds[kind]
        account = spec.model.get_or_none((spec.model.id == row.account_id) & (spec.model.active == True))  # noqa: E712
        if account is None or not sessions.alive_for(row, account.password_hash):
            return None
        return spec.user_class(account, token)

    def current(self, kind: str):
        """The signed-in user of `kind` in this browser (once per request), or None."""
        cache = g.setdefault("_xinyipi_users", {})
        if kind not in cache:
            token = session.get(_token_key(kind))
            cache[kind] = self._load(kind, token) if token and kind in self.kinds else None
        return cache[kind]

    def holds_session(self, kind: str) -> bool:
        """Whether this browser holds a session token of `kind` (live or not)."""
        return _token_key(kind) in session

    def use_for_request(self, kind: str | None) -> None:
        """Make `flask_login.current_user` xinyipi's user of `kind` for this request (anonymous for
        None): called for xinyipi's own pages only."""
        self._update_request_context_with_user(self.current(kind) if kind else None)

    # -- signing in and out ----------------------------------------------------------------------
    def sign_in(self, kind: str, account, via: str = "password"):
        """Start a server-side session for `account` in this browser. xinyipi's earlier state in the
        session goes (a fresh start, no fixation), except the other user type's sign-in; the host's
        keys stay."""
        other = {_token_key(k) for k in self.kinds if k != kind} | {_seen_key(k) for k in self.kinds if k != kind}
        for key in [k for k in session.keys() if k.startswith(PREFIX) and k not in other]:
            session.pop(key, None)
        token = sessions.start(kind, account.id, account.password_hash, request.remote_addr or "", via)
        session[_token_key(kind)] = token
        session[_seen_key(kind)] = time.time()
        user = self.kinds[kind].user_class(account, token)
        g.setdefault("_xinyipi_users", {})[kind] = user
        if getattr(g, "_login_user", None) is not None and getattr(g._login_user, "kind", None) in ("", kind):
            self._update_request_context_with_user(user)
        devices.remember(kind, account.id)
        return user

    def sign_out(self, kind: str, reason: str = "sign_out") -> None:
        """End this browser's session of `kind` (on the server too)."""
        sessions.end(session.pop(_token_key(kind), None), reason)
        session.pop(_seen_key(kind), None)
        g.setdefault("_xinyipi_users", {})[kind] = None
        if getattr(getattr(g, "_login_user", None), "kind", None) == kind:
            self._update_request_context_with_user(None)

    def idle(self, kind: str, limit_seconds: float) -> bool:
        """Whether this browser's session of `kind` went unused longer than `limit_seconds`."""
        return time.time() - session.get(_seen_key(kind), 0) > limit_seconds

    def touch(self, kind: str) -> None:
        session[_seen_key(kind)] = time.time()


def manager() -> Manager:
    """The LoginManager of the current app's xinyipi."""
    return current_app.extensions["xinyipi"].login_manager


def current(kind: str):
    """The signed-in user of `kind` in this request's browser; None outside a request."""
    return manager().current(kind) if has_request_context() else None


def init_app(app, ext) -> None:
    """Install xinyipi's sign-in on `app`: its Manager (as ``app.login_manager`` only when the app has
    none), and ``current_user`` as xinyipi's user on xinyipi's own pages."""
    ext.login_manager.init_app(app)

    @app.before_request
    def _xinyipi_current_user():
        kind = ext.user_kind()
        if kind is not False:
            ext.login_manager.use_for_request(kind)
