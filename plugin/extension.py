"""`XinYiPi`, the Flask extension that mounts xinyipi into an app."""
from __future__ import annotations

from flask import Flask, request

from plugin import config, db, headers, i18n, urls


class XinYiPi:
    """Mount xinyipi into a Flask app.

    ``XinYiPi(app, admin)`` or ``ext = XinYiPi(); ext.init_app(app, admin)``. Binds the database,
    registers the CLI group (``flask xinyipi …``) and the blueprints, and adds the staff views to
    the host's ``flask_admin.Admin`` when one is given (or creates one at ``/admin``).

    A good guest: what xinyipi keeps per app lives here, in ``app.extensions["xinyipi"]``, not in
    module globals: the database binding (`binding`, with the caches whose contents belong to that
    database, such as the parsed specs: `specs`), and the sign-in of its staff and applicants
    (`login_manager`, which becomes ``app.login_manager`` only when the app has none; see
    `plugin.identity.login`).
    """

    def __init__(self, app: Flask | None = None, admin=None):
        self.admin = None
        self.own_admin = False      # True when xinyipi created the Admin (its index is ours then)
        self.standalone = False     # True in `plugin.create_app()`: every route of the app is ours
        self.binding = None         # plugin.db.Binding: this app's database and its caches
        self.login_manager = None   # plugin.identity.login.Manager
        if app is not None:
            self.init_app(app, admin)

    @property
    def database(self):
        """This app's database (what `plugin.db.database` stands for in its app context)."""
        return self.binding.database

    @property
    def specs(self):
        """This app's cache of parsed process specs."""
        from plugin.engine.definitions import SpecCache
        return self.binding.cache("specs", SpecCache)

    def init_app(self, app: Flask, admin=None) -> None:
        from plugin.identity import login
        config.load(app)
        db.bind(app.config["XINYIPI_DATABASE_URL"])   # the default too, for code outside any app context
        self.binding = db.default_binding()
        self.login_manager = login.Manager()
        app.extensions["xinyipi"] = self
        self._init_babel(app)
        i18n.init_app(app)
        urls.init_app(app)          # before any route of ours is added: they use its converter
        headers.init_app(app, self.serves_request)

        @app.before_request
        def _connect():
            if self.serves_request():       # the host's own routes open no connection of ours
                db.database.connect(reuse_if_open=True)

        @app.teardown_request
        def _close(exc):
            if not db.database.is_closed() and not db.database.in_transaction():
                db.database.close()

        from plugin.cli import cli
        if "xinyipi" not in app.cli.commands:
            app.cli.add_command(cli)

        from plugin.api import api
        app.register_blueprint(api)

        from plugin import portal
        portal.init_app(app)

        from plugin import assets
        assets.init_app(app)

        from admin import init_admin
        self.own_admin = admin is None
        self.admin = init_admin(app, admin)

        from plugin.identity import oidc, ratelimit, sessions
        login.init_app(app, self)
        sessions.init_app(app)       # the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS
        oidc.init_app(app)
        ratelimit.init_app(app)      # last: it puts its limits on the endpoints registered above

    def serves_request(self) -> bool:
        """Whether the current request is one of xinyipi's (not a host app's own route or admin view)."""
        if self.standalone:
            return True
        blueprint = request.blueprint or ""
        if blueprint.startswith("xinyipi_"):
            return True
        return self.own_admin and self.admin is not None and blueprint == self.admin.endpoint

    def user_kind(self):
        """Whose sign-in the current request is about: ``"staff"`` on the admin pages, ``"applicant"``
        in the portal, None on xinyipi's other routes (the JSON API, static files, the standalone
        home), False on the host's own routes (their ``current_user`` is the host's)."""
        from plugin.identity.login import APPLICANT, STAFF
        blueprint = request.blueprint or ""
        ours = blueprint.startswith("xinyipi_") or (self.own_admin and self.admin is not None
                                                   and blueprint == self.admin.endpoint)
        if not ours:
            return None if self.standalone else False
        if blueprint in ("xinyipi_api", "xinyipi_assets") or (request.endpoint or "").endswith(".static"):
            return None
        return APPLICANT if blueprint == "xinyipi_portal" else STAFF

    @staticmethod
    def _init_babel(app: Flask) -> None:
        """Flask-Babel must be initialised whenever it is installed (Flask-Admin uses it)."""
        if "babel" in app.extensions:
            return
        from flask_babel import Babel

        app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["XINYIPI_LOCALE"])
        app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["XINYIPI_TIMEZONE"])
        Babel(app, locale_selector=i18n.select_locale)
