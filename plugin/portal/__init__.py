"""The citizen portal (办事大厅), mounted at /portal.

Applicants browse the matter guide, register and sign in with their 统一社会信用代码 or 身份证号,
fill generated forms, upload materials, sign commitments, supplement, and follow their cases.
Their sign-in is the ``applicant`` user type of `plugin.identity.login` (Flask-Login's machinery, kept
apart from staff sign-in and from a host app's own): the cookie holds the token of a server-side
session (`plugin.identity.sessions`) that sign-out, a password change, disabling the account and
idle expiry end.
Views go through `plugin.applications.service` (and the read-only `progress`); they never touch
SpiffWorkflow.
"""
from __future__ import annotations

from flask import Blueprint

portal = Blueprint("xinyipi_portal", __name__, url_prefix="/portal", template_folder="templates",
                   static_folder="static", static_url_path="/static")

#: Files one request may carry, at most XINYIPI_MAX_UPLOAD_MB each.
UPLOAD_BATCH = 5


def init_app(app) -> None:
    from plugin.identity.login import APPLICANT
    from plugin.portal import views  # (registers the routes)
    from plugin.portal.models import ApplicantAccount
    app.register_blueprint(portal)
    manager = app.extensions["xinyipi"].login_manager
    manager.register(APPLICANT, ApplicantAccount, views.Applicant)
    manager.blueprint_login_views[portal.name] = "xinyipi_portal.login"

    def allow_upload_batch():
        """Uploads may carry several files of up to XINYIPI_MAX_UPLOAD_MB each: the body limit of
        those requests is raised before anything reads the form (so each file gets its own
        message); every other request keeps MAX_CONTENT_LENGTH."""
        from flask import request
        if request.endpoint in views.UPLOAD_ENDPOINTS:
            request.max_content_length = (app.config["XINYIPI_MAX_UPLOAD_MB"] * UPLOAD_BATCH + 1) * 1024 * 1024

    # first of the app's own hooks: the CSRF guard reads the form
    app.before_request_funcs.setdefault(None, []).insert(0, allow_upload_batch)
