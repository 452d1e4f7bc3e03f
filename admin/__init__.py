"""Flask-Admin views for xinyipi's staff.

`init_admin(app, admin=None)` adds the views to a host's `flask_admin.Admin`, or
creates one at /admin. Endpoints are prefixed `xinyipi_` so they never clash
with the host's own views.
"""
from __future__ import annotations

from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from admin.views import register_views


def init_admin(app, admin: Admin | None = None) -> Admin:
    if admin is None:
        admin = Admin(app, name="信易批", url="/admin", theme=Bootstrap4Theme(swatch="default"))
    register_views(admin)
    return admin
