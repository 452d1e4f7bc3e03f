"""Flask-Admin views for xinyipi's staff.

`init_admin(app, admin=None)` adds the views to a host's `flask_admin.Admin`, or creates one at
/admin whose home is the dashboard. Endpoints are prefixed `xinyipi_` so they never clash with the
host's own views. Every view needs a signed-in staff member of the roles it declares
(`admin.auth`).
"""
from __future__ import annotations

from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from admin import accounts, archive, auth, processes, supervision, workbench
from admin.views import register_views
from admin import cases
from plugin.i18n import TRANSLATIONS


def init_admin(app, admin: Admin | None = None) -> Admin:
    if admin is None:
        from admin.dashboard import DashboardView
        admin = Admin(app, name="信易批", url="/admin", theme=Bootstrap4Theme(swatch="default", base_template="xinyipi/master.html"),
                      index_view=DashboardView(name="智能看板", url="/admin"),
                      translations_path=TRANSLATIONS)
    elif admin.translations_path is None:
        admin.translations_path = TRANSLATIONS
    _prefer_our_catalog()
    auth.init_app(app, admin)
    workbench.register(admin)
    register_views(admin)
    archive.register(admin)
    cases.register(admin)
    supervision.register(admin)
    processes.register(admin)
    accounts.register(admin)
    return admin


def _prefer_our_catalog() -> None:
    """Flask-Admin looks up an admin's `translations_path` only while a view is current; its macros
    (page size, filters) run without one and fall back to its own, older compiled catalog. Put our
    zh catalog of its strings first for every lookup."""
    from flask_admin.babel import domain
    dirs = list(getattr(domain, "_translation_directories", None) or [])
    if dirs and TRANSLATIONS not in dirs:
        domain._translation_directories = [TRANSLATIONS] + dirs
