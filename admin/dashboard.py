"""The admin home: the dashboard (智能看板)."""
from __future__ import annotations

from flask_admin import AdminIndexView, expose

from admin.auth import ALL_STAFF, RoleAccess


class DashboardView(RoleAccess, AdminIndexView):
    roles = ALL_STAFF

    @expose("/")
    def index(self):
        return self.render("xinyipi/dashboard.html")
