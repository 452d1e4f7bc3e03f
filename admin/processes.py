"""流程定义: the process designers' pages — upload, validate, dry-run, publish, versions, viewer.

Two views in the category “流程”:

- ``ProcessVersionsView`` (``xinyipi_process_definition``): every published version, read only.
  A published version is immutable and may be in use by matters and running cases, so nothing
  here creates, edits or deletes one (the database refuses deleting a version in use as well).
- ``ProcessesView`` (``xinyipi_processes``, /admin/processes/): upload a ``.bpmn`` as a draft
  (``plugin.engine.drafts.ProcessDraft``), the validation report with the per-tier dry run, publish
  to a matter, a version's detail and XML, the shipped templates, the differences between two
  versions (/diff), and the BPMN designer (/designer/…): the bpmn-js modeler with the Camunda
  properties panel, opened on a draft, a version, a template or a new diagram; it saves drafts
  (JSON, with the CSRF token in ``X-CSRFToken``), shows the validation on the diagram and publishes.

Process designers upload, validate and publish; every other staff role may look. The views go
through ``plugin.engine.drafts`` / ``plugin.engine.publish`` and never touch SpiffWorkflow.
"""
from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_wtf.csrf import generate_csrf
from flask_admin import BaseView, expose
from jinja2 import TemplateNotFound
from markupsafe import Markup
from peewee import fn
from werkzeug.exceptions import RequestEntityTooLarge

from admin.auth import ALL_STAFF, PROCESS_DESIGNER, RoleAccess, current_staff, forbidden, require_roles
from admin.views import XinYiPiModelView
from plugin.applications.models import Application
from plugin.applications.vocabulary import PATHS
from plugin.catalog.models import Matter
from plugin.credit.models import Tier, TierScheme
from plugin import assets
from plugin.headers import diagram_response
from plugin.engine import drafts
from plugin.engine.definitions import MAX_XML_BYTES, DiagramError
from plugin.engine.diff import PROPERTIES as DIFF_PROPERTIES, diff_xml, display as diff_display
from plugin.engine.models import ProcessDefinition
from plugin.engine.publish import PublishRefused
from plugin.i18n import _, _l
from plugin.urls import row_id

CATEGORY = _l("流程")
READERS = ALL_STAFF
DESIGNERS = frozenset({PROCESS_DESIGNER})
VIEWER_TEMPLATE = "xinyipi/diagram.html"
DECISION_LABELS = {"approved": _l("准予"), "rejected": _l("不予"), "returned": _l("退回补正")}
DIFF_LABELS = {"type": _l("类型"), "name": _l("名称"), "lane": _l("泳道"), "incoming": _l("来自"),
               "outgoing": _l("去往"), "source": _l("起点"), "target": _l("终点"), "condition": _l("条件"),
               "default": _l("默认流"), "form": _l("表单字段"), "script": _l("脚本"), "script_format": _l("脚本格式"),
               "timer": _l("定时器"), "attached_to": _l("附着于"), "interrupting": _l("中断型"),
               "documentation": _l("说明")}
TYPE_LABELS = {"process": _l("流程"), "lane": _l("泳道"), "startEvent": _l("开始事件"), "endEvent": _l("结束事件"),
               "intermediateCatchEvent": _l("中间捕获事件"), "intermediateThrowEvent": _l("中间抛出事件"),
               "boundaryEvent": _l("边界事件"), "task": _l("任务"), "userTask": _l("用户任务"),
               "scriptTask": _l("脚本任务"), "manualTask": _l("手工任务"), "exclusiveGateway": _l("排他网关"),
               "parallelGateway": _l("并行网关"), "inclusiveGateway": _l("包容网关"),
               "eventBasedGateway": _l("事件网关"), "sequenceFlow": _l("顺序流"), "subProcess": _l("子流程"),
               "textAnnotation": _l("文字注释"), "association": _l("关联")}
DESIGNER_JSON = ("/designer/save", "/designer/import")


def path_label(path: str | None) -> str:
    if not path:
        return "—"
    label = PATHS.get(path)
    return f"{label}（{path}）" if label else path


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
        if request.path.endswith(DESIGNER_JSON):
            return jsonify(error=_("提交的流程图过大（超过 %(kb)s KB），未保存：BPMN 文件不超过 %(max)s KB。"
                                   "您的修改仍保留在本页。", kb=limit // 1024,
                                   max=min(limit, MAX_XML_BYTES) // 1024)), 413
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

    @expose("/drafts/<rowid:draft_id>")
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
        matters = self._matters() if self.may_write() and report.get("ok") else []
        return self._page("xinyipi/processes/report.html", status=status, draft=draft, report=report,
                          active=active, stale=stale, runs=runs, shown=shown, done=done, error=error,
                          matters=matters, matter_id=matter_id,
                          xml_url=url_for(".draft_xml", draft_id=draft.id))

    @staticmethod
    def _matters() -> list:
        """Every matter, with the label of the version it is bound to: the choices of a publication."""
        matters = list(Matter.select(Matter.id, Matter.code, Matter.name, Matter.department, Matter.process)
                       .order_by(Matter.code))
        labels = {d.id: str(d) for d in ProcessDefinition.select(
            ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version)
            .where(ProcessDefinition.id.in_([m.process_id for m in matters if m.process_id]))}
        for m in matters:
            m.bound_label = labels.get(m.process_id, "")
        return matters

    @expose("/drafts/<rowid:draft_id>/xml")
    def draft_xml(self, draft_id: int):
        draft = self._draft_or_404(draft_id)
        return diagram_response(draft.xml, draft.filename or f"{draft.key or 'draft'}.bpmn")

    @expose("/drafts/<rowid:draft_id>/validate", methods=["POST"])
    def validate(self, draft_id: int):
        self._writer()
        draft = drafts.revalidate(self._draft_or_404(draft_id))
        flash(_("已按当前启用的信用等级体系重新校验。") if draft.ok
              else _("已重新校验：仍有 %(n)s 个错误。", n=len(draft.report.get("errors") or [])),
              "success" if draft.ok else "warning")
        return redirect(url_for(".draft", draft_id=draft.id))

    @expose("/drafts/<rowid:draft_id>/delete", methods=["POST"])
    def delete(self, draft_id: int):
        self._writer()
        draft = self._draft_or_404(draft_id)
        drafts.delete(draft)
        flash(_("草稿 #%(id)s 已删除（已发布的版本不受影响）。", id=draft_id), "success")
        return redirect(url_for(".index"))

    @expose("/drafts/<rowid:draft_id>/publish", methods=["POST"])
    def publish(self, draft_id: int):
        user = self._writer()
        draft = self._draft_or_404(draft_id)
        revision = request.form.get("revision")
        if revision and revision != draft.revision:
            return self._report_page(draft, status=409, error=_(
                "草稿 #%(id)s 在您校验之后又被保存过（%(who)s，%(at)s UTC），未发布：请查看下面最新的校验报告后再发布。",
                id=draft.id, who=draft.updated_by or draft.uploaded_by,
                at=draft.updated_at.strftime("%Y-%m-%d %H:%M:%S")))
        raw = (request.form.get("matter") or "").strip()
        matter = None
        if raw:
            matter = Matter.get_or_none(Matter.id == number) if (number := row_id(raw)) is not None else None
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

    @expose("/versions/<rowid:definition_id>")
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

    @expose("/versions/<rowid:definition_id>/xml")
    def version_xml(self, definition_id: int):
        definition = self._definition_or_404(definition_id)
        return diagram_response(definition.xml, f"{definition.key}-v{definition.version}.bpmn",
                                etag=definition.checksum)

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
        return diagram_response(found["path"].read_text(encoding="utf-8"), found["path"].name)

    @expose("/templates/<key>/draft", methods=["POST"])
    def template_draft(self, key: str):
        user = self._writer()
        self._template_or_404(key)
        draft = drafts.from_template(key, user.username)
        flash(_("已将模板 %(key)s 复制为草稿 #%(id)s。", key=key, id=draft.id), "success")
        return redirect(url_for(".draft", draft_id=draft.id))

    # --- differences between versions -----------------------------------------------------------

    @expose("/diff")
    def diff(self):
        keys = [k for (k,) in ProcessDefinition.select(ProcessDefinition.key).distinct()
                .order_by(ProcessDefinition.key).tuples()]
        key = request.args.get("key") or ""
        if key not in keys:
            key = keys[0] if keys else ""
        versions = list(ProcessDefinition.select(ProcessDefinition.id, ProcessDefinition.key,
                                                 ProcessDefinition.version, ProcessDefinition.published_at,
                                                 ProcessDefinition.published_by)
                        .where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc()))
        by_id = {v.id: v for v in versions}
        a, b = request.args.get("a", type=int), request.args.get("b", type=int)
        if b not in by_id:
            b = versions[0].id if versions else None
        if a not in by_id:  # the version before the new one
            older = [v for v in versions if b is not None and v.version < by_id[b].version]
            a = older[0].id if older else b
        result = error = None
        old = new = None
        if a is not None and b is not None:
            old, new = ProcessDefinition.get_by_id(a), ProcessDefinition.get_by_id(b)
            try:
                result = diff_xml(old.xml, new.xml)
            except DiagramError as e:  # a published version always parses; say so if one does not
                error = str(e)
        return self._page("xinyipi/processes/diff.html", keys=keys, key=key, versions=versions, a=a, b=b,
                          old=old, new=new, result=result, error=error, labels=DIFF_LABELS,
                          show=diff_display, properties=DIFF_PROPERTIES,
                          type_label=lambda t: str(TYPE_LABELS.get(t, t)))

    # --- the BPMN designer ----------------------------------------------------------------------

    def _designer(self, source_url: str, source_label: str, draft=None, filename: str = ""):
        self._writer()
        if not assets.bundle_built(assets.MODELER_FILES):
            return self._page("xinyipi/processes/designer.html", status=503, built=False, draft=draft,
                              source_label=source_label)
        report = draft.report if draft is not None else None
        return self._page(
            "xinyipi/processes/designer.html", built=True, draft=draft, report=report,
            source_url=source_url, source_label=source_label, filename=filename,
            revision=draft.revision if draft is not None else "", matters=self._matters(),
            path_labels={k: str(v) for k, v in PATHS.items()},
            decision_labels_json={k: str(v) for k, v in DECISION_LABELS.items()},
            limit_bytes=MAX_XML_BYTES)

    @expose("/designer/new")
    def designer_new(self):
        return self._designer(url_for(".designer_blank"), _("新流程图"), filename="new_process.bpmn")

    @expose("/designer/blank.bpmn")
    def designer_blank(self):
        self._writer()
        return diagram_response(drafts.blank_diagram(), "new_process.bpmn")

    @expose("/designer/drafts/<rowid:draft_id>")
    def designer_draft(self, draft_id: int):
        draft = self._draft_or_404(draft_id)
        return self._designer(url_for(".draft_xml", draft_id=draft.id), _("草稿 #%(id)s", id=draft.id),
                              draft=draft, filename=draft.filename)

    @expose("/designer/versions/<rowid:definition_id>")
    def designer_version(self, definition_id: int):
        definition = self._definition_or_404(definition_id)
        return self._designer(url_for(".version_xml", definition_id=definition.id),
                              _("已发布版本 %(key)s（v%(version)s）：保存后成为新草稿，原版本不变",
                                key=definition.key, version=definition.version),
                              filename=f"{definition.key}.bpmn")

    @expose("/designer/templates/<key>")
    def designer_template(self, key: str):
        found = self._template_or_404(key)
        return self._designer(url_for(".template_xml", key=found["key"]),
                              _("流程模板 %(key)s（保存后成为新草稿）", key=found["key"]), filename=found["path"].name)

    @expose("/designer/token")
    def designer_token(self):
        """A fresh CSRF token for a designer page whose token expired (e.g. after signing in again)."""
        self._writer()
        return jsonify(csrf_token=generate_csrf())

    @expose("/designer/save", methods=["POST"])
    def designer_save(self):
        user = self._writer()
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("xml"), str):
            return jsonify(error=_("请求无效：没有收到流程图（XML）。您的修改仍保留在本页。")), 400
        draft = None
        if data.get("draft") not in (None, ""):
            raw = str(data["draft"])
            draft = drafts.get(number) if (number := row_id(raw)) is not None else None
            if draft is None:
                return jsonify(error=_("草稿 #%(id)s 不存在（可能已被删除），未保存。您的修改仍保留在本页，可以另存为新草稿。",
                                       id=raw[:12]), missing=True), 404
        if data.get("as_new"):
            draft = None
        filename = str(data.get("filename") or "")[:200]
        try:
            draft = drafts.save_designed(data["xml"], user.username, draft=draft,
                                         revision=str(data.get("revision") or ""), filename=filename)
        except drafts.DraftConflict as e:
            return jsonify(error=str(e), conflict=True, revision=e.draft.revision,
                           updated_by=e.draft.updated_by), 409
        except drafts.UploadRefused as e:
            return jsonify(error=_("未保存：%(why)s 您的修改仍保留在本页。", why=str(e))), 400
        report = draft.report
        return jsonify(
            draft=draft.id, revision=draft.revision, key=draft.key, name=draft.name, report=report,
            message=_("已保存为草稿 #%(id)s。", id=draft.id),
            urls={"designer": url_for(".designer_draft", draft_id=draft.id),
                  "report": url_for(".draft", draft_id=draft.id),
                  "publish": url_for(".publish", draft_id=draft.id)})

    @expose("/designer/import", methods=["POST"])
    def designer_import(self):
        """Check a .bpmn file for the modeler (the upload's checks); nothing is stored."""
        self._writer()
        upload = request.files.get("file")
        data = upload.read() if upload is not None else b""
        try:
            text = drafts.check_upload(upload.filename if upload is not None else "", data)
        except drafts.UploadRefused as e:
            return jsonify(error=str(e)), 400
        return jsonify(xml=text, filename=upload.filename)


def register(admin) -> None:
    admin.add_view(ProcessVersionsView(ProcessDefinition, name=_l("流程版本"), category=CATEGORY,
                                       endpoint="xinyipi_process_definition"))
    admin.add_view(ProcessesView(name=_l("上传与草稿"), category=CATEGORY, endpoint="xinyipi_processes",
                                 url="processes"))
