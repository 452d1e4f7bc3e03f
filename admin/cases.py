"""The cases (办件) pages and the audit log (审计日志).

- `ApplicationView`: the read-only list of cases (filters, search, tier swatches, overdue flags),
  one case's page (header and deadline, credit snapshot, form data, materials and commitments,
  timeline, human tasks, the diagram with the current step), and working a ready task from it.
- `AuditLogView`: the read-only audit trail, staff sign-ins included.

Cases move only through `plugin.applications.service`; where a case stands comes from
`plugin.applications.progress`. Nothing here touches SpiffWorkflow.
"""
from __future__ import annotations

import datetime as _dt
import json
import re

import peewee as pw
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee.filters import BasePeeweeFilter, DateTimeBetweenFilter
from flask_admin.contrib.peewee.tools import parse_like_term
from markupsafe import Markup

from admin.auth import ALL_STAFF, CATALOG_ADMIN, SUPERVISOR, SYSADMIN, RoleAccess, current_staff, forbidden
from admin.filters import FreshOptions, data_options, departments
from admin.views import SafeExport
from plugin.applications import progress, service
from plugin.applications.casefile import case_file
from plugin.applications.models import STATUSES, Application, AuditEntry
from plugin.applications.statistics import due_soon_clause, overdue_clause
from plugin.applications.vocabulary import PATHS, action_label
from plugin.catalog.models import Matter
from plugin.credit.models import Subject
from plugin.credit.tiers import active_scheme_info, schemes
from plugin.engine.forms import FormErrors
from plugin.headers import diagram_response
from plugin.i18n import _, _l
from plugin.roles import LANES, STAFF_LANES

CASES_CATEGORY, SYSTEM_CATEGORY = _l("办件"), _l("系统")
FIELD_PREFIX = "f-"
CASE_NUMBER = re.compile(r"XYP\d{8}[0-9A-F]{8}")
SUBJECT_CODE = re.compile(r"[0-9A-Z]{18}")

DETAIL_KEYS = {
    "task": _l("任务"), "element": _l("流程元素"), "values": _l("提交内容"), "reason": _l("理由"),
    "legal_basis": _l("依据"), "negative_list_entry": _l("负面清单条目"), "promised_days": _l("承诺时限（工作日）"),
    "due_date": _l("承诺办结日期"), "process": _l("流程版本"), "cause": _l("原因"), "item": _l("监管事项编号"),
    "note": _l("核查（检查）情况"), "record": _l("失信记录编号"), "records": _l("失信记录编号"),
    "severity": _l("严重程度"), "scheme": _l("等级体系"), "from_tier": _l("原等级"), "to_tier": _l("新等级"),
    "blacklisted": _l("严重失信主体"), "draw": _l("抽取批次"), "seed": _l("随机种子"), "inspector": _l("检查人员"),
    "tier": _l("信用等级"), "claimed_by": _l("原认领人"), "matter": _l("抽查范围（事项）"), "on_date": _l("抽查基准日"),
    "population": _l("范围内办件数"), "population_sha256": _l("抽取范围摘要"), "drawn": _l("抽中办件数"),
    "preview": _l("预览编号"),
}
CAUSES = {"verification": _l("告知承诺核查"), "inspection": _l("双随机抽查"), "supplement": _l("容缺补正"),
          "breach": _l("违约失信"), "repair": _l("信用修复")}
TASK_STATES = {"ready": _l("待办"), "completed": _l("已完成"), "cancelled": _l("已取消")}
ACTOR_KINDS = {"staff": _l("工作人员"), "applicant": _l("申请人"), "system": _l("系统")}


# --- small display helpers (also used by the templates) ---------------------------------------

def fmt_time(moment: _dt.datetime | None) -> str:
    local = progress.local_time(moment)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def tier_of(code: str | None):
    """The tier with this code in the active scheme (or, failing that, in any scheme)."""
    if not code:
        return None
    try:
        found = active_scheme_info().tier(code)
    except RuntimeError:
        found = None
    if found is None:
        found = next((t for s in schemes().values() for t in s.tiers if t.code == code), None)
    return found


def tier_badge(code: str | None) -> Markup:
    tier = tier_of(code)
    if tier is None:
        return Markup("{}").format(code or "")
    return Markup('<span class="xyp-swatch" style="background:{}" aria-hidden="true"></span>{}').format(
        tier.colour, tier.label)


def describe_actor(actor: str | None) -> str:
    """'staff:reviewer(reviewer)' → '工作人员 reviewer（审查人员）'; a bare username stays as it is."""
    if not actor:
        return ""
    kind, sep, rest = actor.partition(":")
    if not sep or kind not in ACTOR_KINDS:
        return actor
    ident, _p, role = rest.partition("(")
    role = role.rstrip(")")
    text = f"{ACTOR_KINDS[kind]} {ident}" if kind != "system" else str(ACTOR_KINDS[kind])
    return f"{text}（{LANES.get(role, role)}）" if role else text


def status_label(status: str | None) -> str:
    return _(STATUSES[status]) if status in STATUSES else (status or "")


def detail_items(detail: dict | None) -> list[tuple[str, str]]:
    """An audit row's detail as (label, text) pairs a person can read."""
    items = []
    for key, value in (detail or {}).items():
        if key == "cause" and value in CAUSES:
            text = str(CAUSES[value])
        elif isinstance(value, dict):
            text = "；".join(f"{k}：{_plain(v)}" for k, v in value.items())
        else:
            text = _plain(value)
        items.append((str(DETAIL_KEYS.get(key, key)), text))
    return items


def _plain(value) -> str:
    if value is True:
        return _("是")
    if value is False:
        return _("否")
    if value is None:
        return "—"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _today() -> _dt.date:
    if "xyp_today" not in g:
        g.xyp_today = progress.business_today()
    return g.xyp_today


# --- filters ----------------------------------------------------------------------------------

class _Filter(BasePeeweeFilter):
    """Filters that add a WHERE to the (already joined) query."""

    op = _l("等于")

    def apply(self, query, value):
        return query.where(self.clause(value))

    def clause(self, value):
        return self.column == value

    def operation(self):
        return self.op


class Equals(_Filter):
    pass


class Contains(_Filter):
    op = _l("包含")

    def clause(self, value):
        return self.column ** parse_like_term(value)


class Flag(_Filter):
    """A yes-only filter whose condition depends on today (overdue, due soon)."""

    op = _l("是")

    def __init__(self, column, name, make_clause, key):
        super().__init__(column, name, options=(("1", _l("是")),))
        self.make_clause, self.key = make_clause, key

    def clause(self, value):
        return self.make_clause(_today())


def _tier_options():
    options, seen = [], set()
    try:
        ordered = [active_scheme_info()] + [s for s in schemes().values() if not s.active]
    except RuntimeError:
        ordered = list(schemes().values())
    for scheme in ordered:
        for tier in reversed(scheme.tiers):
            if tier.code not in seen:
                seen.add(tier.code)
                options.append((tier.code, f"{tier.label}（{tier.code}）"))
    return options


def _action_options():
    found = [a for (a,) in AuditEntry.select(AuditEntry.action).distinct().order_by(AuditEntry.action).tuples()]
    return [(a, f"{action_label(a)}（{a}）") for a in found]


class _JoinedView(RoleAccess, SafeExport, FreshOptions, ModelView):
    """A read-only model view whose query joins its related tables once, itself."""

    allow_create = allow_edit = allow_delete = False
    joined: tuple = ()

    def _handle_join(self, query, field, joins):
        return query  # every related table a column, filter or search uses is already joined

    def _count_query(self, where_parts):
        """COUNT(*) with only the joins the conditions need."""
        query = self.model.select(pw.fn.COUNT(self.model.id))
        for model, on, kind in self.joined:
            if any(model in parts for parts in where_parts):
                query = query.join(model, kind, on=on)
        return query

    def search_condition(self, value: str):
        """(condition, models it needs joined) for one search word: any searchable column contains it."""
        term = parse_like_term(value)
        stmt = None
        for field in self._search_fields:
            stmt = field ** term if stmt is None else stmt | (field ** term)
        return stmt, {f.model for f in self._search_fields}

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        query = self.get_query()
        conditions = []  # (condition, models it touches)
        if self._search_supported and search:
            conditions += [self.search_condition(value) for value in search.split()]
        for flt_index, _name, value in filters or ():
            flt = self._filters[flt_index]
            conditions.append((flt.clause(flt.clean(value)), {flt.column.model}))
        count_query = self._count_query([models for _c, models in conditions])
        for clause, _models in conditions:
            query, count_query = query.where(clause), count_query.where(clause)
        count = count_query.scalar() if not self.simple_list_pager else None

        joins: set = set()
        if sort_column is not None:
            query, joins = self._order_by(query, joins, [(self._sortable_columns[sort_column], sort_desc)])
        else:
            order = self._get_default_order()
            if order:
                query, joins = self._order_by(query, joins, order)
        query = query.order_by_extend(self.model.id.desc())
        page_size = self.page_size if page_size is None else page_size
        if page_size:
            query = query.limit(page_size)
            if page:
                query = query.offset(page * page_size)
        return count, (list(query.execute()) if execute else query)


# --- the cases list and one case's page ---------------------------------------------------------

def _number_link(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(url_for(".case", number=model.number), model.number)


def _matter(view, context, model, name):
    return Markup('{}<br><small class="text-muted">{}</small>').format(model.matter.name, model.matter.department)


def _applicant(view, context, model, name):
    return Markup('{}<br><small class="text-muted">{}</small>').format(model.subject.name, model.subject.code)


def _flag(view, context, model, name):
    if model.status not in progress.AWAITING_DECISION or model.due_date is None:
        return ""
    today = _today()
    if model.due_date < today:
        return Markup('<span class="badge badge-danger xyp-overdue">{}</span>').format(_("已超期"))
    if model.due_date < view.due_soon_before():
        return Markup('<span class="badge badge-warning xyp-due-soon">{}</span>').format(_("即将到期"))
    return ""


class ApplicationView(_JoinedView):
    """办件: every staff role may look; tasks are worked on the case page by their lane's role."""

    roles = ALL_STAFF
    can_view_details = False
    list_template = "xinyipi/cases/list.html"
    page_size = 50
    can_set_page_size = True
    column_list = ("number", "matter", "subject", "tier_code", "status", "path", "submitted_at", "due_date",
                   "overdue")
    column_labels = {"number": _l("办件编号"), "matter": _l("事项"), "subject": _l("申请人"),
                     "tier_code": _l("信用等级"), "status": _l("状态"), "path": _l("办理路径"),
                     "submitted_at": _l("提交时间"), "due_date": _l("承诺办结日期"), "overdue": _l("时限")}
    column_sortable_list = ("number", "tier_code", "status", "path", "submitted_at", "due_date")
    column_default_sort = ("submitted_at", True)
    column_searchable_list = (Application.number, Subject.code, Subject.name, Matter.name)
    column_formatters = {
        "number": _number_link, "matter": _matter, "subject": _applicant,
        "tier_code": lambda v, c, m, n: tier_badge(m.tier_code),
        "status": lambda v, c, m, n: status_label(m.status),
        "path": lambda v, c, m, n: str(PATHS.get(m.path, m.path or "")),
        "submitted_at": lambda v, c, m, n: fmt_time(m.submitted_at),
        "overdue": _flag,
    }
    column_filters = (
        Equals(Application.status, _l("状态"), options=[(k, _l(v)) for k, v in STATUSES.items()]),
        Equals(Application.tier_code, _l("信用等级"), options=data_options(_tier_options)),
        Equals(Application.path, _l("办理路径"), options=list(PATHS.items())),
        Flag(Application.due_date, _l("已超期"), overdue_clause, "overdue"),
        Flag(Application.due_date, _l("即将到期（2个工作日内）"), lambda today: due_soon_clause(today), "due_soon"),
        Equals(Matter.code, _l("事项编码")),
        Contains(Matter.name, _l("事项名称")),
        Equals(Matter.department, _l("实施机关"), options=data_options(departments)),
        Contains(Matter.department, _l("实施机关")),
        Equals(Subject.code, _l("申请人证件号码")),
        DateTimeBetweenFilter(Application.submitted_at, _l("提交时间（UTC）")),
    )
    joined = ((Matter, Application.matter == Matter.id, pw.JOIN.INNER),
              (Subject, Application.subject == Subject.id, pw.JOIN.INNER))

    def search_placeholder(self):
        return _("搜索：办件编号、申请人证件号码或名称、事项名称")

    def search_condition(self, value: str):
        """A whole case number or subject code is looked up by its index; a fragment of one (ASCII
        letters and digits) matches numbers and codes; other words match the applicant's or the
        matter's name. Subjects and matters are searched in their own tables, so a million
        subjects are scanned once, not joined row by row; Chinese is matched with LIKE, which
        needs no case folding and is several times faster than ILIKE."""
        word = value.strip()
        upper = word.upper()
        if CASE_NUMBER.fullmatch(upper):
            return Application.number == upper, set()
        if SUBJECT_CODE.fullmatch(upper):
            return Application.subject.in_(Subject.select(Subject.id).where(Subject.code == upper)), set()
        if word.isascii() and word.isalnum() and any(c.isdigit() for c in word):
            like = parse_like_term(upper)
            return (_like(Application.number, like)) | Application.subject.in_(
                Subject.select(Subject.id).where(_like(Subject.code, like))), set()
        like = parse_like_term(word)
        match = (lambda field: field ** like) if word.isascii() else (lambda field: _like(field, like))
        return (Application.matter.in_(Matter.select(Matter.id).where(match(Matter.name)))
                | Application.subject.in_(Subject.select(Subject.id).where(match(Subject.name)))), set()

    def quick_filter_url(self, key: str) -> str:
        """The list filtered by one of the Flag filters ("overdue", "due_soon")."""
        for arg, (_index, flt) in self._filter_args.items():
            if getattr(flt, "key", None) == key:
                return url_for(f"{self.endpoint}.index_view", **{f"flt0_{arg}": "1"})
        return url_for(f"{self.endpoint}.index_view")

    def due_soon_before(self) -> _dt.date:
        if "xyp_due_soon" not in g:
            from plugin.applications.statistics import due_soon_limit
            g.xyp_due_soon = due_soon_limit(_today())
        return g.xyp_due_soon

    def get_query(self):
        # Only what the list shows: never the workflow state, snapshot or form data of a case.
        return (Application.select(Application.id, Application.number, Application.status, Application.path,
                                   Application.tier_code, Application.submitted_at, Application.due_date,
                                   Application.matter, Application.subject,
                                   Matter.id, Matter.code, Matter.name, Matter.department,
                                   Subject.id, Subject.code, Subject.name)
                .join(Matter, on=(Application.matter == Matter.id)).switch(Application)
                .join(Subject, on=(Application.subject == Subject.id)))

    # -- one case -----------------------------------------------------------------------------

    def _case_or_404(self, number: str) -> Application:
        try:
            return service.get(number)
        except service.NotFound:
            abort(Response(render_template("xinyipi/400.html", message=_("办件 %(n)s 不存在", n=number)),
                           status=404))

    @expose("/case/<number>/")
    def case(self, number):
        return self._render_case(self._case_or_404(number))

    @expose("/case/<number>/process.bpmn")
    def process_xml(self, number):
        xml = progress.process_xml(self._case_or_404(number))
        if xml is None:
            abort(404)
        return diagram_response(xml, f"{number}.bpmn")

    @expose("/case/<number>/task/<task_id>", methods=("POST",))
    def complete(self, number, task_id):
        app = self._case_or_404(number)
        user = current_staff()
        lane = progress.task_lane(app, task_id)
        role = lane if user.role == SYSADMIN and lane in STAFF_LANES else user.role
        fields = {key[len(FIELD_PREFIX):]: value for key, value in request.form.items()
                  if key.startswith(FIELD_PREFIX)}
        try:
            expected = int(request.form.get("expected_version", ""))
        except ValueError:
            return self._render_case(app, alert=_("表单缺少版本信息，请刷新页面后重试。"), status=400)
        try:
            service.complete_task(app.number, task_id, fields, service.Actor.staff(user.username, role), expected)
        except FormErrors as e:
            return self._render_case(app, form_state={task_id: {"values": fields, "errors": e.errors}},
                                     alert=_("表单有误，请按提示修改后重新提交。"), status=400)
        except service.Conflict as e:
            return self._render_case(app, alert=_("提交未保存：%(reason)s", reason=str(e)), status=409,
                                     conflict=True)
        except service.NotAllowed:
            return forbidden()
        except service.NotFound as e:
            return self._render_case(app, alert=str(e), status=404)
        except service.ApplicationError as e:
            return self._render_case(app, alert=str(e), status=400)
        done = next((t.name for t in progress.human_tasks(app) if t.task_id == task_id), task_id)
        flash(_("已完成“%(task)s”。", task=done), "success")
        return redirect(url_for(".case", number=app.number))

    def _claim(self, number, task_id, action):
        from admin.workbench import claim_action
        app = self._case_or_404(number)
        if progress.task_lane(app, task_id) is None:
            return self._render_case(app, alert=_("办件 %(n)s 没有任务 %(id)s。", n=app.number, id=task_id), status=404)
        done, message, status = claim_action(task_id, action)
        if status == 403:
            return forbidden()
        if not done:
            return self._render_case(app, alert=message, status=status, conflict=status == 409)
        flash(message, "success")
        return redirect(url_for(".case", number=app.number) + "#xyp-tasks")

    @expose("/case/<number>/claim/<task_id>", methods=("POST",))
    def claim(self, number, task_id):
        return self._claim(number, task_id, "claim")

    @expose("/case/<number>/release/<task_id>", methods=("POST",))
    def release(self, number, task_id):
        return self._claim(number, task_id, "release")

    def _render_case(self, app: Application, form_state: dict | None = None, alert: str | None = None,
                     status: int = 200, conflict: bool = False):
        from admin.workbench import lanes_of, who
        user = current_staff()
        file = case_file(app.number, service.Actor.staff(user.username, user.role), works=lanes_of(user.role))
        body = self.render(
            "xinyipi/cases/case.html", **file.fields(),
            xml_url=url_for(".process_xml", number=app.number) if file.case.state is not None else None,
            diagram_available=_diagram_available(), form_state=form_state or {}, alert=alert, conflict=conflict,
            field_prefix=FIELD_PREFIX, paths=PATHS, lanes=LANES, task_states=TASK_STATES,
            status_label=status_label, fmt_time=fmt_time, tier_badge=tier_badge, plain=_plain,
            action_label=action_label, detail_items=detail_items, describe_actor=describe_actor, me=user,
            who=lambda u: who(u, file.staff_names))
        return Response(body, status=status)


def _like(field, pattern):
    """Plain SQL LIKE (peewee turns its LIKE into GLOB on SQLite): case-sensitive on PostgreSQL,
    where it is much faster than ILIKE on Chinese text; case-insensitive for ASCII on SQLite."""
    return pw.NodeList((field, pw.SQL("LIKE"), pattern), parens=True)


def _diagram_available() -> bool:
    """Whether the shared diagram viewer macro (xinyipi/diagram.html) is installed."""
    from flask import current_app
    from jinja2 import TemplateNotFound
    try:
        current_app.jinja_env.get_template("xinyipi/diagram.html")
    except TemplateNotFound:
        return False
    return True


# --- the audit log ----------------------------------------------------------------------------

def _audit_case(view, context, model, name):
    if model.application_id is None:
        return ""
    return Markup('<a href="{}">{}</a>').format(
        url_for("xinyipi_application.case", number=model.application.number), model.application.number)


def _audit_subject(view, context, model, name):
    if model.subject_id is None:
        return ""
    return Markup('{}<br><small class="text-muted">{}</small>').format(model.subject.name, model.subject.code)


def _audit_detail_short(view, context, model, name):
    items = detail_items(model.detail)
    if not items:
        return ""
    return Markup("<br>").join(Markup("<small>{}：{}</small>").format(k, v[:120]) for k, v in items)


def _audit_detail_full(view, context, model, name):
    return Markup('<pre class="xyp-json">{}</pre>').format(
        json.dumps(model.detail or {}, ensure_ascii=False, indent=2, sort_keys=True))


class AuditLogView(_JoinedView):
    """审计日志: system administrators, supervisors and catalog administrators may read it."""

    roles = frozenset({SYSADMIN, SUPERVISOR, CATALOG_ADMIN})
    can_view_details = True
    page_size = 50
    can_set_page_size = True
    column_list = ("at", "actor", "action", "application", "subject", "from_status", "to_status", "tier_code",
                   "detail")
    column_details_list = column_list
    column_labels = {"at": _l("时间"), "actor": _l("操作人"), "action": _l("操作"), "application": _l("办件"),
                     "subject": _l("信用主体"), "from_status": _l("原状态"), "to_status": _l("新状态"),
                     "tier_code": _l("信用等级"), "detail": _l("详情")}
    column_sortable_list = ("at", "actor", "action")
    column_default_sort = ("at", True)
    column_searchable_list = (AuditEntry.actor, AuditEntry.action, Application.number)
    column_formatters = {
        "at": lambda v, c, m, n: fmt_time(m.at),
        "actor": lambda v, c, m, n: describe_actor(m.actor),
        "action": lambda v, c, m, n: action_label(m.action),
        "application": _audit_case, "subject": _audit_subject,
        "from_status": lambda v, c, m, n: status_label(m.from_status),
        "to_status": lambda v, c, m, n: status_label(m.to_status),
        "tier_code": lambda v, c, m, n: tier_badge(m.tier_code) if m.tier_code else "",
        "detail": _audit_detail_short,
    }
    column_formatters_detail = dict(column_formatters, detail=_audit_detail_full)
    column_filters = (
        Equals(AuditEntry.action, _l("操作"), options=data_options(_action_options)),
        Equals(AuditEntry.actor, _l("操作人")),
        Contains(AuditEntry.actor, _l("操作人")),
        DateTimeBetweenFilter(AuditEntry.at, _l("时间（UTC）")),
        Equals(Application.number, _l("办件编号")),
    )
    joined = ((Application, AuditEntry.application == Application.id, pw.JOIN.LEFT_OUTER),
              (Subject, AuditEntry.subject == Subject.id, pw.JOIN.LEFT_OUTER))

    def search_placeholder(self):
        return _("搜索：操作人、操作、办件编号")

    def search_condition(self, value: str):
        """A whole case number finds that case's rows by index; other words match actor or action."""
        word = value.strip()
        if CASE_NUMBER.fullmatch(word.upper()):
            return AuditEntry.application.in_(
                Application.select(Application.id).where(Application.number == word.upper())), set()
        like = parse_like_term(word)
        return (AuditEntry.actor ** like) | (AuditEntry.action ** like), set()

    def get_query(self):
        return (AuditEntry.select(AuditEntry, Application.id, Application.number, Subject.id, Subject.code,
                                  Subject.name)
                .join(Application, pw.JOIN.LEFT_OUTER, on=(AuditEntry.application == Application.id))
                .switch(AuditEntry)
                .join(Subject, pw.JOIN.LEFT_OUTER, on=(AuditEntry.subject == Subject.id)))

    def get_one(self, id):
        return self.get_query().where(AuditEntry.id == self.checked_id(id)).first()


def register(admin) -> None:
    admin.add_view(ApplicationView(Application, name=_l("办件"), category=CASES_CATEGORY,
                                   endpoint="xinyipi_application"))
    admin.add_view(AuditLogView(AuditEntry, name=_l("审计日志"), category=SYSTEM_CATEGORY,
                                endpoint="xinyipi_audit_entry"))
