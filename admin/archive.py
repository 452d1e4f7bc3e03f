"""The credit archive (信用档案) of a subject in the admin: the page and its CSV and JSON downloads.

Everything comes from `plugin.credit.archive.archive(code)`; this module only lays it out. Every
staff role may read it (/admin/xinyipi_credit_archive/<code>/).
"""
from __future__ import annotations

from flask import Response, redirect, request, url_for
from flask_admin import BaseView, expose

from admin.auth import ALL_STAFF, RoleAccess
from plugin.applications.progress import PATHS
from plugin.credit import archive as credit_archive
from plugin.credit.codes import InvalidCode
from plugin.i18n import _, _l

CREDIT_CATEGORY = _l("信用")


def _when(iso: str | None) -> str:
    """An archive timestamp ('2026-11-23T04:53:41Z', stored UTC) as local time ('2026-11-23 12:53');
    a plain date stays as it is."""
    if not iso:
        return ""
    import datetime as _dt
    from plugin.applications.progress import local_time
    if "T" not in iso:
        return iso
    moment = _dt.datetime.fromisoformat(iso.rstrip("Z"))
    return local_time(moment).strftime("%Y-%m-%d %H:%M") if iso.endswith("Z") else moment.strftime("%Y-%m-%d %H:%M")


class CreditArchiveView(RoleAccess, BaseView):
    """信用档案: look a subject up by code; its archive; downloads."""

    roles = ALL_STAFF

    def _problem(self, message: str, status: int):
        return Response(self.render("xinyipi/archive/index.html", code=request.args.get("code", ""),
                                    error=message), status=status)

    def _load(self, code: str):
        try:
            return credit_archive.archive(code), None
        except InvalidCode as e:
            return None, self._problem(_("证件号码无效：%(reason)s", reason=str(e)), 400)
        except credit_archive.ArchiveNotFound:
            return None, self._problem(_("信用主体 %(code)s 不存在。", code=code), 404)

    @expose("/")
    def index(self):
        code = (request.args.get("code") or "").strip().upper()
        if code:
            data, problem = self._load(code)
            if problem is not None:
                return problem
            return redirect(url_for(".subject", code=data["subject"]["code"]))
        return self.render("xinyipi/archive/index.html", code="", error=None)

    @expose("/<code>/")
    def subject(self, code):
        data, problem = self._load(code)
        if problem is not None:
            return problem
        from admin.cases import status_label, tier_badge
        return self.render("xinyipi/archive/subject.html", a=data, when=_when, tier_badge=tier_badge,
                           status_label=status_label, paths=PATHS)

    def _download(self, code: str, kind: str):
        data, problem = self._load(code)
        if problem is not None:
            return problem
        code = data["subject"]["code"]
        if kind == "csv":
            body, mimetype = credit_archive.to_csv(data), "text/csv"
        else:
            body, mimetype = credit_archive.to_json(data), "application/json"
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="credit-archive-{code}.{kind}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    @expose("/<code>/archive.csv")
    def csv(self, code):
        return self._download(code, "csv")

    @expose("/<code>/archive.json")
    def json(self, code):
        return self._download(code, "json")


def register(admin) -> None:
    admin.add_view(CreditArchiveView(name=_l("信用档案"), category=CREDIT_CATEGORY,
                                     endpoint="xinyipi_credit_archive"))
