"""流程定义: the process designers' pages — upload, validate, dry-run, publish, versions, viewer.

Two views in the category “流程”:

- ``ProcessVersionsView`` (``xinyipi_process_definition``): every published version, read only.
  A published version is immutable and may be in use by matters and running cases, so nothing
  here creates, edits or deletes one (the database refuses deleting a version in use as well).
- ``ProcessesView`` (``xinyipi_processes``, /admin/processes/): upload a ``.bpmn`` as a draft
  (``plugin.engine.drafts.ProcessDraft``), the validation report with the per-tier dry run, publish
  to a matter, a version's detail and XML, the shipped templates.

Process designers upload, validate and publish; every other staff role may look. The views go
through ``plugin.engine.drafts`` / ``plugin.engine.publish`` and never touch SpiffWorkflow.
"""
from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from jinja2 import TemplateNotFound
from markupsafe import Markup
from peewee import fn
from werkzeug.exceptions import RequestEntityTooLarge

from admin.auth import ALL_STAFF, PROCESS_DESIGNER, RoleAccess, current_staff, forbidden, require_roles
from admin.views import XinYiPiModelView
from plugin.applications.models import Application
from plugin.catalog.models import Matter
from plugin.credit.models import Tier, TierScheme
from plugin.engine import drafts
from plugin.engine.definitions import MAX_XML_BYTES
from plugin.engine.models import ProcessDefinition
from plugin.engine.publish import PublishRefused
from plugin.i18n import _, _l

CATEGORY = _l("流程")
READERS = ALL_STAFF
DESIGNERS = frozenset({PROCESS_DESIGNER})
VIEWER_TEMPLATE = "xinyipi/diagram.html"
PATH_LABELS = {"instant": _l("秒批"), "tolerance": _l("容缺受理"), "commitment": _l("告知承诺"),
               "standard": _l("标准审批"), "repair": _l("信用修复")}
DECISION_LABELS = {"approved": _l("准予"), "rejected": _l("不予"), "returned": _l("退回补正")}


def path_label(path: str | None) -> str:
    if not path:
        return "—"
    label = PATH_LABELS.get(path)
    return f"{label}（{path}）" if label else path


def _xml_response(xml: str, download_name: str | None = None, etag: str | None = None):
    """The XML of a diagram for the viewer (inline) or as a file. Never rendered as a page of ours:
    the sandbox CSP keeps an uploaded XML document from running scripts if opened directly."""
    response = send_file(io.BytesIO(xml.encode("utf-8")), mimetype="application/xml",
                         as_attachment=download_name is not None, download_name=download_name,
                         etag=etag or False, max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


class ProcessVersionsView(XinYiPiModelView):
    """Published versions, newest first. Read only: a version is immutable once published."""

    roles = READERS
    write_roles = frozenset()
    allow_create = allow_edit = allow_delete = False
    can_view_details = False
    list_template = "xinyipi/processes/versions.html"
    column_list = ("key", "name", "version", "checksum", "published_at", "published_by", "matter_count")
    column_sortable_list = ("key", "name", "version", "published_at", "published_by")
    column_searchable_list = ("key", "name", "published_by", "source")
    column_filters = ("key",)
    column_default_sort = [("published_at", True), ("id", True)]
    extra_labels = {"matter_count": _l("绑定事项数"), "checksum": _l("校验和（前 12 位）")}
    page_size = 50

    def get_query(self):
        bound = Matter.select(fn.COUNT(Matter.id)).where(Matter.process == ProcessDefinition.id)
        return ProcessDefinition.select(
            ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
            ProcessDefinition.checksum, ProcessDefinition.published_at, ProcessDefinition.published_by,
            ProcessDefinition.source, ProcessDefinition.scheme_code, bound.alias("matter_count"))

    def _detail_link(view, context, model, name):
        url = url_for("xinyipi_processes.version", definition_id=model.id)
        return Markup('<a href="{}">{}</a>').format(url, getattr(model, name))

    column_formatters = {
        "key": _detail_link,
        "version": lambda v, c, m, n: Markup('<a href="{}">v{}</a>').format(
            url_for("xinyipi_processes.version", definition_id=m.id), m.version),
        "checksum": lambda v, c, m, n: Markup('<code title="{}">{}</code>').format(m.checksum, m.checksum[:12]),
        "matter_count": lambda v, c, m, n: m.matter_count or 0,
        "published_at": lambda v, c, m, n: m.published_at.strftime("%Y-%m-%d %H:%M:%S"),
    }


class ProcessesView(RoleAccess, BaseView):
    roles = READERS
    write_roles = DESIGNERS

    def create_blueprint(self, admin):
        blueprint = super().create_blueprint(admin)
        blueprint.register_error_handler(RequestEntityTooLarge, self._too_large)
        return blueprint

    # --- helpers -------------------------------------------------------------------------------

    def _writer(self):
        return require_roles(DESIGNERS)

    def _page(self, template: str, status: int = 200, **kwargs):
        try:
            current_app.jinja_env.get_template(VIEWER_TEMPLATE)
            has_viewer = True
        except TemplateNotFound:
            has_viewer = False
        kwargs.setdefault("may_write", self.may_write())
        return self.render(template, has_viewer=has_viewer, path_label=path_label,
                           decision_labels=DECISION_LABELS, **kwargs), status

    def _index(self, error: str | None = None, status: int = 200):
        return self._page("xinyipi/processes/index.html", status=status, error=error,
                          drafts=drafts.listing(), templates=drafts.shipped_templates(),
                          limit_kb=MAX_XML_BYTES // 1024)

    def _too_large(self, e):
        user = current_staff()
        if user is None:
            return redirect(url_for("xinyipi_staff.login"))
        if not user.has_role(DESIGNERS):
            return forbidden()
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return self._index(_("上传的内容过大（超过 %(kb)s KB），已拒绝：BPMN 文件不超过 %(max)s KB。",
                             kb=limit // 1024, max=min(limit, MAX_XML_BYTES) // 1024), status=413)

    def _draft_or_404(self, draft_id: int):
        draft = drafts.get(draft_id)
        if draft is None:
            abort(404)
        return draft

    # --- drafts --------------------------------------------------------------------------------

    @expose("/")
    def index(self):
        return self._index()

    @expose("/upload", methods=["POST"])
    def upload(self):
        user = self._writer()
        upload = request.files.get("file")
        data = upload.read() if upload is not None else b""
        try:
            draft = drafts.upload(upload.filename if upload is not None else "", data, user.username)
        except drafts.UploadRefused as e:
            return self._index(str(e), status=400)
        flash(_("已上传为草稿 #%(id)s，校验报告如下。", id=draft.id), "success")
        return redirect(url_for(".draft", draft_id=draft.id))

    @expose("/drafts/<int:draft_id>")
    def draft(self, draft_id: int):
        draft = self._draft_or_404(draft_id)
        return self._report_page(draft)

    def _report_page(self, draft, error: str | None = None, status: int = 200, matter_id=None):
        from plugin.credit.tiers import NoActiveScheme, active_scheme
        report = draft.report
        try:
            active = active_scheme()
        except NoActiveScheme:
            active = None
        stale = active is not None and (report.get("scheme") or {}).get("code") != active.code
        runs = report.get("runs") or []
        shown = request.args.get("run", type=int)
        done = runs[shown]["visited"] if shown is not None and 0 <= shown < len(runs) else []
        matters = []
        if self.may_write() and report.get("ok"):
            matters = list(Matter.select(Matter.id, Matter.code, Matter.name, Matter.department, Matter.process)
                           .order_by(Matter.code))
            labels = {d.id: str(d) for d in ProcessDefinition.select(
                ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version)
                .where(ProcessDefinition.id.in_([m.process_id for m in matters if m.process_id]))}
            for m in matters:
                m.bound_label = labels.get(m.process_id, "")
        return self._page("xinyipi/processes/report.html", status=status, draft=draft, report=report,
                          active=active, stale=stale, runs=runs, shown=shown, done=done, error=error,
                          matters=matters, matter_id=matter_id,
                          xml_url=url_for(".draft_xml", draft_id=draft.id))

    @expose("/drafts/<int:draft_id>/xml")
    def draft_xml(self, draft_id: int):
        draft = self._draft_or_404(draft_id)
        name = None
        if request.args.get("download"):
            name = draft.filename or f"{draft.key or 'draft'}.bpmn"
        return _xml_response(draft.xml, name)

    @expose("/drafts/<int:draft_id>/validate", methods=["POST"])
    def validate(self, draft_id: int):
        self._writer()
        draft = drafts.revalidate(self._draft_or_404(draft_id))
        flash(_("已按当前启用的信用等级体系重新校验。") if draft.ok
              else _("已重新校验：仍有 %(n)s 个错误。", n=len(draft.report.get("errors") or [])),
              "success" if draft.ok else "warning")
        return redirect(url_for(".draft", draft_id=draft.id))

    @expose("/drafts/<int:draft_id>/delete", methods=["POST"])
    def delete(self, draft_id: int):
        self._writer()
        draft = self._draft_or_404(draft_id)
        drafts.delete(draft)
        flash(_("草稿 #%(id)s 已删除（已发布的版本不受影响）。", id=draft_id), "success")
        return redirect(url_for(".index"))

    @expose("/drafts/<int:draft_id>/publish", methods=["POST"])
    def publish(self, draft_id: int):
        user = self._writer()
        draft = self._draft_or_404(draft_id)
        raw = (request.form.get("matter") or "").strip()
        matter = None
        if raw:
            matter = Matter.get_or_none(Matter.id == int(raw)) if raw.isdigit() and len(raw) < 10 else None
            if matter is None:
                return self._report_page(draft, error=_("所选事项不存在，未发布。请重新选择。"), status=400)
        try:
            definition, created = drafts.publish_draft(draft, user.username, matter=matter)
        except PublishRefused as e:
            return self._report_page(draft, status=400, error=_(
                "校验未通过（%(n)s 个错误），未发布。请修改流程图后重新上传。", n=len(e.report.errors)))
        names = {"key": definition.key, "version": definition.version}
        if matter is not None:
            names.update(matter=matter.name, code=matter.code)
        if created and matter is not None:
            message = _("已发布 %(key)s 版本 v%(version)s，并绑定到事项“%(matter)s”（%(code)s）。", **names)
        elif created:
            message = _("已发布 %(key)s 版本 v%(version)s（未绑定事项）。", **names)
        elif matter is not None:
            message = _("内容与已发布的 %(key)s v%(version)s 完全相同，未产生新版本；已将事项“%(matter)s”（%(code)s）"
                        "绑定到该版本。", **names)
        else:
            message = _("内容与已发布的 %(key)s v%(version)s 完全相同，未产生新版本。", **names)
        flash(message, "success")
        return redirect(url_for(".version", definition_id=definition.id))

    # --- versions ------------------------------------------------------------------------------

    def _definition_or_404(self, definition_id: int) -> ProcessDefinition:
        definition = ProcessDefinition.get_or_none(ProcessDefinition.id == definition_id)
        if definition is None:
            abort(404)
        return definition

    @expose("/versions/<int:definition_id>")
    def version(self, definition_id: int):
        definition = self._definition_or_404(definition_id)
        matters = list(Matter.select().where(Matter.process == definition).order_by(Matter.code))
        cases = Application.select().where(Application.process == definition).count()
        others = list(ProcessDefinition.select(ProcessDefinition.id, ProcessDefinition.version,
                                               ProcessDefinition.published_at, ProcessDefinition.published_by)
                      .where(ProcessDefinition.key == definition.key)
                      .order_by(ProcessDefinition.version.desc()))
        paths = definition.tier_paths
        tiers = list(Tier.select().join(TierScheme).where(TierScheme.code == definition.scheme_code)
                     .order_by(Tier.rank.desc()))
        rows = [(t.code, t.label, t.colour, paths.get(t.code) or {}) for t in tiers if t.code in paths]
        known = {t.code for t in tiers}
        rows += [(code, code, None, value) for code, value in paths.items() if code not in known]
        scheme = TierScheme.get_or_none(TierScheme.code == definition.scheme_code)
        return self._page("xinyipi/processes/version.html", definition=definition, matters=matters,
                          cases=cases, others=others, rows=rows, scheme=scheme,
                          xml_url=url_for(".version_xml", definition_id=definition.id))

    @expose("/versions/<int:definition_id>/xml")
    def version_xml(self, definition_id: int):
        definition = self._definition_or_404(definition_id)
        name = f"{definition.key}-v{definition.version}.bpmn" if request.args.get("download") else None
        return _xml_response(definition.xml, name, etag=definition.checksum)

    # --- shipped templates ---------------------------------------------------------------------

    def _template_or_404(self, key: str) -> dict:
        found = drafts.shipped_template(key)
        if found is None:
            abort(404)
        return found

    @expose("/templates/<key>")
    def template(self, key: str):
        found = self._template_or_404(key)
        return self._page("xinyipi/processes/template.html", shipped=found,
                          xml_url=url_for(".template_xml", key=found["key"]))

    @expose("/templates/<key>/xml")
    def template_xml(self, key: str):
        found = self._template_or_404(key)
        name = found["path"].name if request.args.get("download") else None
        return _xml_response(found["path"].read_text(encoding="utf-8"), name)

    @expose("/templates/<key>/draft", methods=["POST"])
    def template_draft(self, key: str):
        user = self._writer()
        self._template_or_404(key)
        draft = drafts.from_template(key, user.username)
        flash(_("已将模板 %(key)s 复制为草稿 #%(id)s。", key=key, id=draft.id), "success")
        return redirect(url_for(".draft", draft_id=draft.id))


def register(admin) -> None:
    admin.add_view(ProcessVersionsView(ProcessDefinition, name=_l("流程版本"), category=CATEGORY,
                                       endpoint="xinyipi_process_definition"))
    admin.add_view(ProcessesView(name=_l("上传与草稿"), category=CATEGORY, endpoint="xinyipi_processes",
                                 url="processes"))
