"""Staff sign-in, roles and CSRF for xinyipi's admin pages.

- Sign-in with a username and a hashed password (`plugin.accounts.StaffUser`), via Flask-Login's
  machinery as the ``staff`` user type of `plugin.identity.login` (apart from a host app's own
  sign-in and from the portal's applicants), or through the unified identity provider (OpenID
  Connect, `plugin.identity.oidc`) when configured.
  Five wrong passwords in a row from one client lock that client out for 15 minutes (the counter is
  per account and client, `plugin.accounts.PasswordAccount.sign_in`); sign-in POSTs are rate limited
  per IP and, for browsers the account does not know, per account (`plugin.identity.ratelimit`).
  Every sign-in, failure and lock is audited.
- The session lives on the server (`plugin.identity.sessions`): the cookie carries a token whose row
  must be live. Sign-out ends it, so a copied cookie is worth nothing afterwards; so do a password
  change (every session of the account), a disabled account, and ``XINYIPI_SESSION_MINUTES``
  (default 30) without a request.
- Every POST to a xinyipi page (admin views, sign-in, portal) must carry the Flask-WTF CSRF
  token; Flask-Admin's templates add it by themselves once ``csrf_token`` is a template global.
- Views declare who may see them (``roles``) and who may change them (``write_roles``);
  ``sysadmin`` may do everything. A signed-in user outside those roles gets 403, an anonymous
  one is sent to the sign-in page.
"""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from plugin.accounts import StaffUser
from plugin.i18n import _, _l
from plugin.identity import devices, ratelimit, sessions
from plugin.identity.login import APPLICANT, STAFF, SignedIn
from plugin.identity.login import current as signed_in
from plugin.identity.login import manager as login_manager   # (`login` is the sign-in view below)
from plugin.roles import (ALL_STAFF, APPROVER, CASE_WORKERS, CATALOG_ADMIN, PROCESS_DESIGNER,  # noqa: F401
                          REVIEWER, ROLES, SUPERVISOR, SYSADMIN)  # (the views import the role names from here)
from plugin.urls import MAX_ROW_ID, is_out_of_range, row_id
from plugin.urls import safe_next as _safe_next  # only same-site paths are followed after sign-in

staff = Blueprint("xinyipi_staff", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/xinyipi-static")


class Staff(SignedIn):
    """The signed-in staff member (id ``staff:<token>``). The cookie keeps only the server-side
    session's token; the session row decides whether it still signs anyone in."""

    def __init__(self, user: StaffUser, token: str):
        super().__init__(user, token)
        self.user = user
        self.username, self.name, self.role = user.username, user.name, user.role

    @property
    def role_label(self) -> str:
        return _(ROLES.get(self.role, self.role))

    def has_role(self, roles) -> bool:
        return self.role == SYSADMIN or self.role in roles


def sign_in_staff(user: StaffUser, via: str = "password") -> None:
    """Start a server-side session for `user` in this browser (xinyipi's earlier session state goes:
    no fixation; the host's and an applicant's sign-in stay)."""
    login_manager().sign_in(STAFF, user, via)


def current_staff() -> Staff | None:
    """The signed-in staff member, on any page (the admin's menu asks on a host's admin pages too)."""
    return signed_in(STAFF)


def forbidden() -> Response:
    """A 403 page that says why, in the admin's look."""
    return Response(render_template("xinyipi/403.html"), status=403)


def not_found(message: str | None = None) -> Response:
    """A 404 page that says what was not found, in the admin's look."""
    return Response(render_template("xinyipi/400.html", message=message or _("记录不存在。")), status=404)


class RoleAccess:
    """Mixin for Flask-Admin views: access by role, declared on the view.

    ``roles``: who may open the view; ``write_roles``: who may create, edit and delete (each still
    subject to the view's own ``allow_create`` / ``allow_edit`` / ``allow_delete``).

    Numbers from the request that no database holds are a 404, never a 500: a model view's
    ``?id=`` goes through `plugin.urls.row_id`, and any other number that reaches the database
    out of range (``?page=``, a filter value) is caught around the view (`plugin.urls.is_out_of_range`).
    """

    roles: frozenset = ALL_STAFF
    write_roles: frozenset = frozenset()
    allow_create = allow_edit = allow_delete = True

    def is_accessible(self):
        user = current_staff()
        return user is not None and user.has_role(self.roles)

    def may_write(self) -> bool:
        user = current_staff()
        return user is not None and user.has_role(self.write_roles)

    @property
    def can_create(self):
        return self.allow_create and self.may_write()

    @property
    def can_edit(self):
        return self.allow_edit and self.may_write()

    @property
    def can_delete(self):
        return self.allow_delete and self.may_write()

    WRITE_ENDPOINTS = frozenset({"create_view", "edit_view", "delete_view", "action_view", "ajax_update"})

    def _handle_view(self, name, **kwargs):
        refused = super()._handle_view(name, **kwargs)
        if refused is not None:
            return refused
        if name in self.WRITE_ENDPOINTS and not self.may_write():
            return forbidden()
        return None

    def _run_view(self, fn, *args, **kwargs):
        try:
            return super()._run_view(fn, *args, **kwargs)
        except Exception as e:
            if is_out_of_range(e):
                return not_found(_("没有这一页或这条记录：请求中的数字超出了范围。"))
            raise

    @staticmethod
    def checked_id(id) -> int:
        """A model view's ``?id=`` as a row id; a 404 page when no row can have it."""
        number = row_id(id)
        if number is None:
            abort(not_found(_("记录 %(id)s 不存在。", id=str(id)[:40])))
        return number

    def _get_list_extra_args(self):
        """A model view's list arguments with a page number the database can take (a negative
        ``?page=`` is the first page, a huge one an empty page rather than a database error;
        Flask-Admin itself keeps ``page_size`` to its options)."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), MAX_ROW_ID)
        return args

    def get_one(self, id):
        """The row of a model view's ``?id=`` (edit, details, delete). Views that look rows up
        themselves call `checked_id` first."""
        return super().get_one(self.checked_id(id))

    def is_action_allowed(self, name):
        return self.may_write() and super().is_action_allowed(name)

    def inaccessible_callback(self, name, **kwargs):
        if current_staff() is None:
            return redirect(url_for("xinyipi_staff.login", next=request.full_path))
        return forbidden()


def _audit(username: str, action: str, **detail) -> None:
    from plugin.applications.models import AuditEntry
    AuditEntry.create(actor=username[:100], action=action, detail=detail)


@staff.route("/login", methods=["GET", "POST"])
def login():
    admin_home = url_for(current_app.extensions["xinyipi"].admin.endpoint + ".index")
    if current_staff() is not None and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")) or admin_home)
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        user = StaffUser.get_or_none(StaffUser.username == username) if username else None
        if user is None or not user.active:
            error = _("用户名或密码不正确。")
            _audit(username or "?", "staff.login_failed", reason="unknown or disabled user")
        else:
            client = devices.client_key("staff", user.id)
            attempt = user.sign_in(password, client)
            if attempt.locked_minutes:
                error = _("密码错误次数过多，账号已锁定，请 %(minutes)s 分钟后再试。", minutes=attempt.locked_minutes)
            elif not attempt.ok:
                error = _("用户名或密码不正确。")
            if not attempt.ok:
                reason = "wrong password" if attempt.locked_now or not attempt.locked_minutes else "locked"
                _audit(username, "staff.login_failed", reason=reason, client=client)
            if attempt.locked_now:
                _audit(username, "staff.locked", client=client, minutes=attempt.locked_minutes)
        if error is None:
            sign_in_staff(user)
            _audit(username, "staff.login")
            return redirect(_safe_next(request.form.get("next")) or admin_home)
    return render_template("xinyipi/login.html", error=error, username=username, oidc=_oidc_on(),
                           next=_safe_next(request.values.get("next")) or ""), (401 if error else 200)


@staff.post("/logout")
def logout():
    user = current_staff()
    if user is not None:
        _audit(user.username, "staff.logout")
    login_manager().sign_out(STAFF)
    flash(_("已退出登录。"), "info")
    return redirect(url_for("xinyipi_staff.login"))


MIN_STAFF_PASSWORD = 10


@staff.route("/password", methods=["GET", "POST"])
def password():
    """A staff member changes their own password: every session of the account ends (a copied
    cookie included) and this browser gets a new one."""
    me = current_staff()
    if me is None:
        return redirect(url_for("xinyipi_staff.login", next=request.path))
    errors = {}
    if request.method == "POST":
        current = request.form.get("current") or ""
        new = request.form.get("password") or ""
        if not me.user.check_password(current):
            errors["current"] = _("当前密码不正确。")
        if len(new) < MIN_STAFF_PASSWORD:
            errors["password"] = _("新密码至少 %(n)s 位。", n=MIN_STAFF_PASSWORD)
        elif new != (request.form.get("confirm") or ""):
            errors["confirm"] = _("两次输入的密码不一致")
        if not errors:
            user = StaffUser.get_by_id(me.user.id)
            user.set_password(new)
            user.save(only=[StaffUser.password_hash])
            ended = sessions.end_all(STAFF, user.id, "password_changed")
            _audit(user.username, "staff.password_changed", sessions_ended=ended)
            sign_in_staff(user)
            flash(_("密码已修改，其他设备上的登录已全部退出。"), "success")
            return redirect(url_for(current_app.extensions["xinyipi"].admin.endpoint + ".index"))
    return render_template("xinyipi/password.html", errors=errors), (422 if errors else 200)


@staff.errorhandler(429)
def _too_many(e):
    wait = ratelimit.retry_after()
    message = _("操作过于频繁，请 %(seconds)s 秒后再试。", seconds=wait)
    if request.endpoint == "xinyipi_staff.login":
        page = render_template("xinyipi/login.html", error=message, username=request.form.get("username", ""),
                               oidc=_oidc_on(), next=_safe_next(request.values.get("next")) or "")
    else:
        page = render_template("xinyipi/message.html", title=_("操作过于频繁"), message=message)
    return Response(page, status=429, headers={"Retry-After": str(wait)})


def _oidc_on() -> bool:
    from plugin.identity import oidc
    return oidc.enabled()


OIDC_NEXT = "xinyipi_staff_oidc_next"


@staff.get("/oidc/login")
def oidc_login():
    """Staff sign-in through the unified identity provider (404 when it is not configured)."""
    from plugin.identity import oidc
    if not oidc.enabled():
        abort(404)
    session[OIDC_NEXT] = _safe_next(request.args.get("next")) or ""
    try:
        return oidc.begin(oidc.STAFF, url_for("xinyipi_staff.oidc_callback", _external=True))
    except oidc.Refused as e:
        return _oidc_refused(str(e))


@staff.get("/oidc/callback")
def oidc_callback():
    from plugin.identity import oidc
    if not oidc.enabled():
        abort(404)
    target = session.pop(OIDC_NEXT, "") or None
    try:
        user = oidc.staff_user(oidc.finish(oidc.STAFF))
    except oidc.Refused as e:
        _audit("?", "staff.login_failed", reason="oidc", detail=str(e)[:200])
        return _oidc_refused(str(e))
    sign_in_staff(user, via="oidc")
    _audit(user.username, "staff.login", via="oidc")
    return redirect(_safe_next(target) or url_for(current_app.extensions["xinyipi"].admin.endpoint + ".index"))


def _oidc_refused(message: str):
    return render_template("xinyipi/login.html", error=message, username="", oidc=True, next=""), 401


def _is_ours() -> bool:
    """Whether the request goes to one of xinyipi's pages (the admin's, the portal's; not the host's
    own routes or admin views, not the JSON API, not static files)."""
    return current_app.extensions["xinyipi"].user_kind() in (STAFF, APPLICANT)


def init_app(app, admin) -> None:
    app.config.setdefault("XINYIPI_SESSION_MINUTES", 30)
    manager = app.extensions["xinyipi"].login_manager
    manager.register(STAFF, StaffUser, Staff)
    manager.login_view = "xinyipi_staff.login"
    manager.login_message = _l("请先登录。")
    manager.login_message_category = "warning"
    app.register_blueprint(staff, url_prefix=admin.url)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.jinja_env.globals["xinyipi_staff"] = current_staff

    @app.before_request
    def _guard():
        if not _is_ours():
            return None
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and app.config.get("WTF_CSRF_ENABLED", True):
            token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
            try:
                validate_csrf(token)
            except (ValidationError, CSRFError):
                return Response(render_template("xinyipi/400.html", message=_(
                    "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")), status=400)
        if current_staff() is not None:
            manager = login_manager()
            if manager.idle(STAFF, app.config["XINYIPI_SESSION_MINUTES"] * 60):
                manager.sign_out(STAFF, "idle")
                flash(_("登录已超时，请重新登录。"), "warning")
                if request.endpoint != "xinyipi_staff.login":
                    return redirect(url_for("xinyipi_staff.login", next=request.full_path))
            else:
                manager.touch(STAFF)
        return None


def require_roles(roles):
    """For plain Flask views of the admin: 403 unless the user has one of the roles."""
    user = current_staff()
    if user is None:
        abort(redirect(url_for("xinyipi_staff.login", next=request.full_path)))
    if not user.has_role(roles):
        abort(forbidden())
    return user
