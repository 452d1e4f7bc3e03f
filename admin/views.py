"""Model views for the catalog, credit and staff, configured by declaration.

Every view here:
- takes its column labels, choices and search hint from the models' Chinese verbose names;
- declares who may look (`roles`) and who may change (`write_roles`), see `admin.auth`;
- writes nothing itself in the catalog, the credit data, the negative list or the calendar: the
  form's data (with its inline rows) goes to the service that owns the table, which saves, audits,
  records any tier change and announces it in one unit of work (`plugin.work`, `ServiceModelView`);
- refuses to delete a row that is still referred to, naming what refers to it (Flask-Admin's
  default would delete the referring rows too, silently). Rows a service owns with their parent
  (a matter's material requirements and per-tier limits) go with it, and the message says so.
"""
from __future__ import annotations

import logging

import peewee as pw
from flask import flash, g
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext, lazy_gettext as admin_lazy_gettext, ngettext as admin_ngettext
from flask_admin.contrib.peewee import ModelView, filters
from flask_admin.contrib.peewee.form import CustomModelConverter, InlineModelConverter, InlineModelFormList
from markupsafe import Markup, escape
from wtforms import PasswordField, ValidationError
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.filters import FreshOptions, data_options, departments
from admin.formats import DETAIL_FORMATTERS, LIST_FORMATTERS
from admin.auth import (ALL_STAFF, APPROVER, CATALOG_ADMIN, PROCESS_DESIGNER, REVIEWER, SUPERVISOR, SYSADMIN,
                        RoleAccess, current_staff)
from plugin.accounts import StaffUser
from plugin.applications.models import AuditEntry, Incident
from plugin import calendar as calendar_days
from plugin.calendar import CalendarDay
from plugin.catalog import materials as material_catalog, matters as matter_catalog, negative_list
from plugin.catalog.models import (Material, MaterialRequirement, Matter, MatterTierLimit, NegativeListEntry)
from plugin.credit import records as credit_records, schemes as tier_schemes, subjects as credit_subjects
from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import DishonestyRecord, Subject, Tier, TierScheme
from plugin import clock
from plugin.db import ReferenceCache, database, references
from plugin import spreadsheet
from plugin.i18n import _, _l
from plugin.urls import row_id
from plugin.work import Actor, InUse, Refused, RowEdit

log = logging.getLogger(__name__)

CATALOG, CREDIT, SYSTEM = _l("事项目录"), _l("信用"), _l("系统")
CREDIT_READERS = frozenset({CATALOG_ADMIN, REVIEWER, APPROVER, SUPERVISOR})

# what a row of each table is called, for "still used by 3 个办件" messages
TABLE_NOUNS = {
    "application": _l("办件"), "material_requirement": _l("事项材料要求"), "matter_tier_limit": _l("分级承诺时限"),
    "negative_list_entry": _l("负面清单条目"), "subject": _l("信用主体"), "tier": _l("信用等级"),
    "matter": _l("事项"), "dishonesty_record": _l("失信记录"), "audit_entry": _l("审计记录"),
    "human_task": _l("待办任务"), "process_definition": _l("流程版本"),
}


def nouns(uses) -> list[str]:
    """[(table, count)] as "3 个办件", "1 个事项材料要求"."""
    return [_("%(count)s 个%(noun)s", count=count, noun=TABLE_NOUNS.get(table, table)) for table, count in uses]


def uses_of(row) -> list[str]:
    """What still refers to `row` ("3 个办件")."""
    return nouns(references(row))


def in_use_message(error: InUse, deleting: bool = False) -> str:
    if deleting:
        return _("无法删除“%(name)s”：仍被 %(uses)s 引用。请先解除这些引用，或将其停用。",
                 name=error.label, uses="、".join(nouns(error.uses)))
    return _("无法删除“%(name)s”：仍被 %(uses)s 引用。", name=error.label, uses="、".join(nouns(error.uses)))


def staff_actor() -> Actor:
    """The signed-in staff member, as the actor of a unit of work."""
    user = current_staff()
    return Actor.staff(user.username, user.role, user.name) if user else Actor.system()


def row_ids(ids) -> list[int]:
    """The ids of the rows an action was asked for that can be row ids at all (others match nothing)."""
    return [n for n in (row_id(i) for i in ids) if n is not None]


def audit(action_name: str, row=None, **detail) -> None:
    user = current_staff()
    if row is not None:
        detail = {"table": row._meta.table_name, "id": row._pk, "label": str(row)[:200], **detail}
    AuditEntry.create(actor=user.username if user else "system", action=action_name, detail=detail)


class XinYiPiModelConverter(CustomModelConverter):
    """peewee's AutoField is not Flask-Admin's PrimaryKeyField: map it to the hidden PK field, or inline
    rows fail with "id: This field is required"."""

    def __init__(self, view, additional=None):
        super().__init__(view, additional)
        self.converters = {pw.AutoField: self.handle_pk, **self.converters}


class InlineList(InlineModelFormList):
    """Inline rows, edited on their parent's page and saved by the parent's service."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = "InlineModelFormList"     # Flask-Admin's save_inline() finds inline lists by this name

    def edits(self) -> list[RowEdit]:
        """The rows as the form sends them: (id or None, values, whether to delete)."""
        rows = []
        for entry in self.entries:
            pk = entry.get_pk()
            values = {name: field.data for name, field in entry.form._fields.items()
                      if name != self._pk and not isinstance(field, CSRFTokenField)}
            rows.append(RowEdit(row_id(pk) if pk not in (None, "") else None, values, self.should_delete(entry)))
        return rows


class InlineConverter(InlineModelConverter):
    inline_field_list_type = InlineList


class SafeExport:
    """Mixin for model views: Flask-Admin's export (off unless a view sets ``can_export``) writes
    every value escaped against spreadsheet formula injection, like every CSV of ours, and writes
    the values themselves (the list's formatters make HTML for the page, not for a spreadsheet)."""

    column_formatters_export: dict = {}

    def get_export_value(self, model, name):
        return spreadsheet.cell(super().get_export_value(model, name))


class XinYiPiModelView(RoleAccess, SafeExport, FreshOptions, ModelView):
    """Every staff role may look; catalog administrators (and sysadmins) may change."""

    roles = ALL_STAFF
    write_roles = frozenset({CATALOG_ADMIN})
    audit_name: str | None = None        # action prefix in the audit log; the table name by default
    model_form_converter = XinYiPiModelConverter
    inline_model_form_converter = InlineConverter
    can_view_details = True
    page_size = 20
    can_set_page_size = True
    # The first column links to the row's page (with its edit and delete buttons) instead of three
    # per-row action forms: those cost Flask-Admin about 1 ms a row to render.
    column_display_actions = False
    column_type_formatters = LIST_FORMATTERS
    column_type_formatters_detail = DETAIL_FORMATTERS

    def __init__(self, model, *args, **kwargs):
        fields = model._meta.fields
        self.column_labels = {name: _l(f.verbose_name) for name, f in fields.items() if f.verbose_name}
        self.column_labels.update(getattr(self, "extra_labels", {}))
        self.column_choices = self.column_choices or {
            name: [(k, _l(v)) for k, v in f.choices] for name, f in fields.items() if f.choices}
        self.column_descriptions = self.column_descriptions or {
            name: _l(f.help_text) for name, f in fields.items() if f.help_text}
        self._link_first_column()
        super().__init__(model, *args, **kwargs)

    def _link_first_column(self):
        first = self.column_list[0] if self.column_list else None
        if first is None or not self.can_view_details:
            return
        inner = (self.column_formatters or {}).get(first)

        def linked(view, context, model, name):
            shown = inner(view, context, model, name) if inner else escape(getattr(model, name))
            url = view.get_url(".details_view", id=model._pk, url=context.get("return_url"))
            return Markup('<a href="%s">%s</a>') % (url, shown)
        self.column_formatters = {**(self.column_formatters or {}), first: linked}

    def search_placeholder(self):
        names = [str(self.column_labels.get(c, c)) for c in (self.column_searchable_list or ())]
        return _("搜索：") + "、".join(names) if names else None

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid:
            # Flask-Admin does not show the errors of inline rows next to them: name each one
            for name, errors in form.errors.items():
                if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
                    continue
                label = str(getattr(form[name], "label", None) and form[name].label.text or name)
                for row, row_errors in enumerate(errors, start=1):
                    for field, messages in (row_errors or {}).items():
                        entry = form[name].entries[row - 1].form
                        field_label = entry[field].label.text if field in entry._fields else field
                        flash(_("%(section)s 第 %(row)s 行，%(field)s：%(message)s", section=label, row=row,
                                field=field_label, message="；".join(str(m) for m in messages)), "error")
        return valid

    # -- one transaction per save, audited ---------------------------------------------------
    def create_model(self, form):
        with database.atomic() as txn:
            result = super().create_model(form)
            if not result:
                txn.rollback()
        ReferenceCache.clear_all()
        return result

    def update_model(self, form, model):
        with database.atomic() as txn:
            result = super().update_model(form, model)
            if not result:
                txn.rollback()
        ReferenceCache.clear_all()
        return result

    def after_model_change(self, form, model, is_created):
        audit(f"{self.audit_name or model._meta.table_name}.{'create' if is_created else 'update'}", model)

    def handle_view_exception(self, exc):
        if isinstance(exc, InUse):
            flash(in_use_message(exc), "error")
            return True
        if isinstance(exc, Refused):
            flash(str(exc), "error")
            return True
        if isinstance(exc, pw.IntegrityError):
            flash(_("保存失败：与已有数据冲突（如编码重复或被引用）。详情：%(error)s", error=str(exc)), "error")
            return True
        return super().handle_view_exception(exc)

    # -- deleting: refuse while referred to ------------------------------------------------------
    def delete_model(self, model):
        uses = uses_of(model)
        if uses:
            flash(_("无法删除“%(name)s”：仍被 %(uses)s 引用。请先解除这些引用，或将其停用。",
                    name=str(model), uses="、".join(uses)), "error")
            return False
        with database.atomic():
            self.on_model_delete(model)
            audit(f"{self.audit_name or model._meta.table_name}.delete", model, removed=[])
            model.delete_instance()
        ReferenceCache.clear_all()
        self.after_model_delete(model)
        return True

    @action("delete", admin_lazy_gettext("Delete"), admin_lazy_gettext("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        """The list's bulk delete, row by row through `delete_model` (so through the refusal, the audit
        and, for the catalog and credit views, their service): Flask-Admin's own deletes recursively."""
        count = 0
        for model in self.model.select().where(self.model._meta.primary_key.in_(row_ids(ids))):
            if self.delete_model(model):
                count += 1
        if count:
            flash(admin_ngettext("Record was successfully deleted.", "%(count)s records were successfully deleted.",
                                 count, count=count), "success")


class ServiceModelView(XinYiPiModelView):
    """A view of the catalog, the credit data, the negative list or the calendar: it writes nothing
    itself. Creating, editing and deleting hand the form's values and inline rows to the view's
    service (`write` and `remove`, which subclasses define), and the service saves, audits, records
    tier changes and announces in one unit of work (the bulk delete action too, row by row)."""

    def write(self, actor: Actor, values: dict, row_id: int | None, inline: dict[str, list[RowEdit]]):
        raise NotImplementedError

    def remove(self, actor: Actor, row_id: int):
        """Delete the row; return [(table, rows)] of what went with it, if anything."""
        raise NotImplementedError

    @staticmethod
    def form_values(form) -> tuple[dict, dict[str, list[RowEdit]]]:
        values, inline = {}, {}
        for name, field in form._fields.items():
            if isinstance(field, CSRFTokenField):
                continue
            if isinstance(field, InlineList):
                inline[name] = field.edits()
            else:
                values[name] = field.data
        return values, inline

    def _write(self, form, model):
        try:
            values, inline = self.form_values(form)
            saved = self.write(staff_actor(), values, None if model is None else model._pk, inline)
        except Exception as ex:
            if not self.handle_view_exception(ex):
                flash(admin_gettext("Failed to create record. %(error)s" if model is None
                                    else "Failed to update record. %(error)s", error=str(ex)), "error")
                log.exception("Failed to save a record through its service.")
            return False
        finally:
            ReferenceCache.clear_all()
        return saved

    def create_model(self, form):
        return self._write(form, None)

    def update_model(self, form, model):
        return bool(self._write(form, model))

    def delete_model(self, model):
        try:
            removed = self.remove(staff_actor(), model._pk) or []
        except InUse as e:
            flash(in_use_message(e, deleting=True), "error")
            return False
        except Exception as ex:
            if not self.handle_view_exception(ex):
                flash(admin_gettext("Failed to delete record. %(error)s", error=str(ex)), "error")
                log.exception("Failed to delete a record through its service.")
            return False
        finally:
            ReferenceCache.clear_all()
        if removed:
            flash(_("已删除“%(name)s”，及其 %(what)s。", name=str(model), what="、".join(nouns(removed))), "success")
        self.after_model_delete(model)
        return True


# ---------------------------------------------------------------------------------------------
# catalog
# ---------------------------------------------------------------------------------------------
class OnNegativeListFilter(filters.BasePeeweeFilter):
    """Matters with an entry on the negative list in force today."""

    def __init__(self, column, name):
        super().__init__(column, name, options=(("1", _l("是")), ("0", _l("否"))))

    def apply(self, query, value):
        today = clock.today()
        active = (NegativeListEntry.select(NegativeListEntry.matter)
                  .where((NegativeListEntry.effective_from <= today)
                         & (NegativeListEntry.effective_to.is_null() | (NegativeListEntry.effective_to >= today))))
        return query.where(Matter.id.in_(active) if value == "1" else Matter.id.not_in(active))

    def operation(self):
        return _l("为")


class ProcessKeyFilter(filters.BasePeeweeFilter):
    """Matters bound to a version of the process with this key (or to none)."""

    def __init__(self, column, name):
        super().__init__(column, name, options=data_options(self._keys))

    @staticmethod
    def _keys():
        from plugin.engine.models import ProcessDefinition
        keys = [k for (k,) in ProcessDefinition.select(ProcessDefinition.key).distinct().tuples()]
        return [("", _l("未绑定"))] + [(k, k) for k in sorted(keys)]

    def apply(self, query, value):
        from plugin.engine.models import ProcessDefinition
        if not value:
            return query.where(Matter.process.is_null())
        return query.where(Matter.process.in_(
            ProcessDefinition.select(ProcessDefinition.id).where(ProcessDefinition.key == value)))

    def operation(self):
        return _l("为")


def _negative_list_badge(view, context, model, name):
    from plugin.catalog.negative_list import is_on_negative_list
    if is_on_negative_list(model):
        return Markup('<span class="xyp-badge-closed" title="%s">%s</span>') % (
            _("对失信主体关闭"), _("负面清单"))
    return ""


class MatterView(ServiceModelView):
    column_list = ("code", "name", "department", "kind", "legal_days", "promised_days",
                   "process", "status", "negative_list")
    column_searchable_list = ("code", "name", "department")
    column_filters = (filters.FilterEqual(Matter.department, _l("实施机关"), options=data_options(departments)), "status", "kind", "major_project",
                      OnNegativeListFilter(Matter.id, _l("列入负面清单")),
                      ProcessKeyFilter(Matter.process, _l("绑定流程")))
    column_sortable_list = ("code", "name", "department", "legal_days", "promised_days", "status")
    column_default_sort = "code"
    column_formatters = {"negative_list": _negative_list_badge}
    extra_labels = {"negative_list": _l("负面清单")}
    # the bound process version is set by publishing a diagram to the matter (流程定义 → 发布), never typed in;
    # besides, a WTForms field named "process" would shadow Form.process()
    form_excluded_columns = ("created_at", "updated_at", "applications", "negative_list_entries", "process")
    inline_models = [
        (MaterialRequirement, {
            "form_columns": ("id", "material", "necessity", "waived_tiers", "commitment_replaces", "copies",
                             "supplement_days", "notes", "position"),
            "form_label": _l("材料要求"),
            "form_args": {
                "copies": {"validators": [InputRequired(_l("请填写份数（整数）")), NumberRange(min=1)]},
                "position": {"filters": [lambda v: 0 if v is None else v]},
                "supplement_days": {"validators": [Optional(), NumberRange(min=1, max=60)]},
            },
            "column_labels": {"material": _l("材料"), "necessity": _l("必要性"),
                              "waived_tiers": _l("免提交的信用等级（编码，逗号分隔）"),
                              "commitment_replaces": _l("可用告知承诺替代"), "copies": _l("份数"),
                              "supplement_days": _l("容缺补正期限（工作日）"), "notes": _l("备注"),
                              "position": _l("排序")},
        }),
        (MatterTierLimit, {
            "form_columns": ("id", "tier", "promised_days"),
            "form_args": {"promised_days": {"validators": [InputRequired(_l("请填写承诺时限（工作日）")),
                                                           NumberRange(min=0)]}},
            "form_label": _l("分级承诺时限"),
            "column_labels": {"tier": _l("信用等级"), "promised_days": _l("承诺时限（工作日）")},
        }),
    ]
    details_template = "xinyipi/matter_details.html"
    edit_template = "xinyipi/matter_edit.html"

    def get_query(self):
        from plugin.engine.models import ProcessDefinition
        return (Matter.select(Matter, ProcessDefinition)
                .join(ProcessDefinition, pw.JOIN.LEFT_OUTER, on=(Matter.process == ProcessDefinition.id)))

    def write(self, actor, values, row_id, inline):
        return matter_catalog.save(actor, values, row_id, requirements=inline.get("requirements"),
                                   tier_limits=inline.get("tier_limits"))

    def remove(self, actor, row_id):
        return matter_catalog.delete(actor, row_id)

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if model is not None and isinstance(model, Matter):
            kwargs["negative_entries"] = list(
                NegativeListEntry.select().where(NegativeListEntry.matter == model)
                .order_by(NegativeListEntry.effective_from.desc()))
            from plugin.catalog.negative_list import is_on_negative_list
            kwargs["on_negative_list"] = is_on_negative_list(model)
            kwargs["requirements"] = list(
                MaterialRequirement.select(MaterialRequirement, Material).join(Material)
                .where(MaterialRequirement.matter == model).order_by(MaterialRequirement.position))
            kwargs["tier_limits"] = list(
                MatterTierLimit.select(MatterTierLimit, Tier).join(Tier).where(MatterTierLimit.matter == model))
        return super().render(template, **kwargs)


class MaterialView(ServiceModelView):
    column_list = ("code", "name", "type", "form", "source", "elicence_type")
    column_searchable_list = ("code", "name")
    column_filters = ("type", "form", "source")
    form_excluded_columns = ("requirements",)

    def write(self, actor, values, row_id, inline):
        return material_catalog.save(actor, values, row_id)

    def remove(self, actor, row_id):
        return material_catalog.delete(actor, row_id)


def _entry_state(view, context, model, name):
    today = clock.today()
    if model.effective_from > today:
        return _("未生效")
    if model.effective_to is not None and model.effective_to < today:
        return _("已失效")
    return _("生效中")


class NegativeListView(ServiceModelView):
    """负面清单: adding, ending and removing entries are audited as negative_list.*"""

    audit_name = "negative_list"
    column_list = ("matter", "severity", "legal_basis", "effective_from", "effective_to", "state")
    column_formatters = {"state": _entry_state}
    extra_labels = {"state": _l("状态")}
    column_searchable_list = ("legal_basis",)
    column_filters = ("severity", "effective_from", "effective_to")
    form_excluded_columns = ("created_at",)
    form_ajax_refs = {"matter": {"fields": ("code", "name"), "page_size": 20}}

    def get_query(self):
        return NegativeListEntry.select(NegativeListEntry, Matter).join(Matter)

    def write(self, actor, values, row_id, inline):
        return negative_list.save_entry(actor, values, row_id)

    def remove(self, actor, row_id):
        negative_list.delete_entry(actor, row_id)

    @action("end", _l("今日起失效"), _l("确定让所选条目今日起失效吗？"))
    def action_end(self, ids):
        if not self.may_write():
            flash(_("您的角色无权修改负面清单。"), "error")
            return
        negative_list.end_entries(staff_actor(), row_ids(ids))
        ReferenceCache.clear_all()
        flash(_("已设置所选条目今日起失效。"), "success")


class CalendarDayView(ServiceModelView):
    column_list = ("day", "is_workday", "name", "note")
    column_default_sort = ("day", True)
    column_filters = ("day", "is_workday")
    form_excluded_columns = ("updated_at",)

    def write(self, actor, values, row_id, inline):
        return calendar_days.save_day(actor, values, row_id)

    def remove(self, actor, row_id):
        calendar_days.delete_day(actor, row_id)


# ---------------------------------------------------------------------------------------------
# credit
# ---------------------------------------------------------------------------------------------
def _swatch(colour: str) -> Markup:
    return Markup('<span class="xyp-swatch" style="background:%s"></span>') % colour


def _tiers_of_scheme(view, context, model, name):
    return Markup(" ").join(_swatch(t.colour) + escape(t.label) for t in model.ordered_tiers())


class TierSchemeView(ServiceModelView):
    column_list = ("code", "name", "region", "tiers", "default_tier_code", "active")
    column_formatters = {"tiers": _tiers_of_scheme}
    extra_labels = {"tiers": _l("等级（由好到差）")}
    form_excluded_columns = ("active",)
    details_template = "xinyipi/scheme_details.html"
    inline_models = [
        (Tier, {
            "form_columns": ("id", "code", "label", "colour", "rank", "inspection_ratio", "description"),
            "form_label": _l("等级"),
            "column_labels": {"code": _l("等级编码"), "label": _l("等级名称"), "colour": _l("颜色"),
                              "rank": _l("序位（0 为最差）"), "inspection_ratio": _l("双随机抽查比例"),
                              "description": _l("说明")},
            "form_widget_args": {"colour": {"type": "color"}},
        }),
    ]

    def write(self, actor, values, row_id, inline):
        return tier_schemes.save(actor, values, row_id, tiers=inline.get("tiers"))

    def remove(self, actor, row_id):
        tier_schemes.delete(actor, row_id)

    @action("activate", _l("设为启用的等级体系"), _l("启用后，所有新办件按此体系判定信用等级。确定吗？"))
    def action_activate(self, ids):
        if not self.may_write():
            flash(_("您的角色无权切换等级体系。"), "error")
            return
        if len(ids) != 1:
            flash(_("请只选择一个等级体系。"), "error")
            return
        scheme_id = row_id(ids[0])
        try:
            scheme = tier_schemes.activate(staff_actor(), scheme_id) if scheme_id is not None else None
        except Refused:
            scheme = None
        if scheme is None:
            flash(_("所选等级体系不存在（可能已被删除）。"), "error")
            return
        flash(_("已启用“%(name)s”。已发布的事项请重新发布，以便按新体系记录各等级的办理路径。", name=scheme.name),
              "success")

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if isinstance(model, TierScheme):
            kwargs["ordered_tiers"] = model.ordered_tiers()
        return super().render(template, **kwargs)


def _validate_code(form, field):
    try:
        code, kind = validate_subject_code(field.data or "")
    except InvalidCode as e:
        raise ValidationError(str(e)) from None
    field.data = code


def _tier_with_scheme(view, context, model, name):
    tier = model.tier
    if tier is None:
        return Markup('<span class="text-muted">%s</span>') % _("未导入")
    return _swatch(tier.colour) + escape(tier.label)


def _effective_tier(view, context, model, name):
    info = getattr(model, "_effective", None)
    if info is None:
        return ""
    badge = Markup(' <span class="xyp-badge-closed">%s</span>') % _("严重失信") if info.blacklisted else ""
    return Markup('<span title="%s">%s%s</span>%s') % ("；".join(info.reasons), _swatch(info.colour),
                                                        info.label, badge)


class TierChoiceFilter(filters.FilterEqual):
    """The imported tier, any scheme (labelled with its scheme)."""

    def __init__(self, column, name):
        super().__init__(column, name, options=data_options(self._tiers))

    @staticmethod
    def _tiers():
        return [(str(t.id), f"{t.scheme.name} · {t.label}")
                for t in Tier.select(Tier, TierScheme).join(TierScheme).order_by(TierScheme.id, Tier.rank.desc())]

    def clean(self, value):
        return int(value)


class SubjectSearch:
    """Search over a million subjects through the indexes only: a word of letters and digits is the
    start of a code (统一社会信用代码 or 身份证号, case ignored); anything else is the start of a name.
    (A name-contains search would scan every row: 0.8 s on SQLite and 1.7 s on PostgreSQL for a
    million subjects, measured; see BENCHMARKS.md.)"""

    @staticmethod
    def clause(term: str):
        term = term.strip()
        if term.isascii() and term.isalnum():
            term = term.upper()
            return (Subject.code >= term) & (Subject.code < term + "\uffff")
        return (Subject.name >= term) & (Subject.name < term + "\uffff")


class SubjectView(ServiceModelView):
    roles = CREDIT_READERS
    column_list = ("code", "name", "kind", "tier", "effective", "source", "tier_updated_at")
    column_formatters = {"tier": _tier_with_scheme, "effective": _effective_tier}
    extra_labels = {"effective": _l("有效等级（原因见提示）")}
    column_searchable_list = ("code", "name")
    column_filters = (TierChoiceFilter(Subject.tier, _l("导入信用等级")), "kind", "source")
    column_sortable_list = ("code", "tier_updated_at")
    column_default_sort = None
    simple_list_pager = True          # no COUNT(*) over a million rows on every page
    form_excluded_columns = ("created_at", "tier_updated_at", "dishonesty_records", "applications", "audit")
    form_args = {"code": {"validators": [_validate_code]}}
    form_ajax_refs = {"tier": {"fields": ("code", "label"), "page_size": 20}}
    details_template = "xinyipi/subject_details.html"

    def search_placeholder(self):
        return _("代码（或开头部分）或名称开头")

    def get_query(self):
        query = Subject.select(Subject, Tier).join(Tier, pw.JOIN.LEFT_OUTER)
        clause = g.get("xinyipi_subject_search")
        return query.where(clause) if clause is not None else query

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        clause = None
        for word in (search or "").split():
            part = SubjectSearch.clause(word)
            clause = part if clause is None else clause & part
        g.xinyipi_subject_search = clause
        try:
            count, rows = super().get_list(page, sort_column, sort_desc, None, filters, execute, page_size)
        finally:
            g.xinyipi_subject_search = None
        if not execute:
            return count, rows
        rows = list(rows)
        if rows:
            from plugin.credit.tiers import active_scheme_info, effective_tier
            today = clock.today()
            records = {}
            for r in (DishonestyRecord.select().where(
                    DishonestyRecord.subject.in_([s.id for s in rows]) & DishonestyRecord.active_clause(today))):
                records.setdefault(r.subject_id, []).append(r)
            scheme = active_scheme_info()
            for s in rows:
                s._effective = effective_tier(s, today, scheme=scheme, records=records.get(s.id, []))
        return count, rows

    def write(self, actor, values, row_id, inline):
        return credit_subjects.save(actor, values, row_id)

    def remove(self, actor, row_id):
        credit_subjects.delete(actor, row_id)

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if isinstance(model, Subject):
            from plugin.credit.tiers import effective_tier
            kwargs["effective"] = effective_tier(model)
            kwargs["records"] = list(model.dishonesty_records.order_by(DishonestyRecord.start.desc()))
        return super().render(template, **kwargs)


def _record_state(view, context, model, name):
    today = clock.today()
    if model.repaired_at:
        return _("已修复")
    if model.end is not None and model.end < today:
        return _("已到期")
    if model.start > today:
        return _("未生效")
    return Markup('<strong>%s</strong>') % _("生效中")


class DishonestyRecordView(ServiceModelView):
    roles = CREDIT_READERS
    write_roles = frozenset({CATALOG_ADMIN, SUPERVISOR})
    audit_name = "dishonesty_record"
    column_list = ("subject", "severity", "reason", "authority", "start", "end", "repaired_at", "state")
    column_formatters = {"state": _record_state}
    extra_labels = {"state": _l("状态")}
    column_filters = ("severity", "authority", "start", "end", "repaired_at")
    column_searchable_list = ("reason", "authority")
    form_excluded_columns = ("fingerprint", "created_at", "repaired_at")
    column_details_exclude_list = ("fingerprint",)
    form_ajax_refs = {"subject": {"fields": ("code",), "page_size": 10}}
    column_default_sort = ("id", True)     # newest first, by the primary key (no sort of every record)
    column_sortable_list = ("id", "severity", "start", "end")

    def get_query(self):
        return DishonestyRecord.select(DishonestyRecord, Subject).join(Subject)

    def write(self, actor, values, row_id, inline):
        return credit_records.save(actor, values, row_id)

    def remove(self, actor, row_id):
        credit_records.delete(actor, row_id)

    def _change(self, ids, change, message: str):
        if not self.may_write():
            flash(_("您的角色无权修改失信记录。"), "error")
            return
        changed = change(staff_actor(), row_ids(ids))
        flash(message % {"count": changed}, "success")

    @action("repair", _l("标记为已修复（信用修复）"), _l("确定将所选失信记录标记为已修复吗？"))
    def action_repair(self, ids):
        self._change(ids, credit_records.repair, _("已将 %(count)s 条记录标记为已修复。"))

    @action("expire", _l("立即到期"), _l("确定让所选失信记录自今日起不再生效吗？"))
    def action_expire(self, ids):
        self._change(ids, credit_records.expire, _("已让 %(count)s 条记录到期。"))


# ---------------------------------------------------------------------------------------------
# staff accounts
# ---------------------------------------------------------------------------------------------
class StaffUserView(XinYiPiModelView):
    roles = write_roles = frozenset({SYSADMIN})
    audit_name = "staff_user"
    column_list = ("username", "name", "role", "department", "active", "last_login_at")
    column_searchable_list = ("username", "name", "department")
    column_filters = ("role", "active", "department")
    form_columns = ("username", "name", "role", "department", "active", "password")
    form_extra_fields = {"password": PasswordField(_l("新密码"), validators=[Optional(), Length(min=10)],
                                                   description=_l("至少 10 位；编辑时留空则不修改"))}
    can_view_details = False

    def on_model_change(self, form, model, is_created):
        if form.password.data:
            model.set_password(form.password.data)
            model.failed_logins, model.locked_until = 0, None
        elif is_created:
            raise Refused(_("新建账号必须设置密码。"))

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        if not is_created and (form.password.data or not model.active):
            # a new password or a disabled account: every session of it ends on the server, every lock goes
            from plugin.identity import sessions
            ended = sessions.end_all("staff", model.id, "password_reset" if form.password.data else "disabled")
            if form.password.data:
                model.clear_sign_in_locks()
            audit("staff_user.sessions_ended", model, sessions_ended=ended)

    def delete_model(self, model):
        flash(_("工作人员账号不能删除（审计记录引用其用户名），请改为停用。"), "error")
        return False


# ---------------------------------------------------------------------------------------------
# incidents: diagrams that failed while a case ran (the case was left unchanged)
# ---------------------------------------------------------------------------------------------
class IncidentView(XinYiPiModelView):
    """Read-only: incidents are written by the engine; staff mark them handled."""

    roles = ALL_STAFF
    write_roles = frozenset({PROCESS_DESIGNER})
    allow_create = allow_edit = allow_delete = False
    column_list = ("created_at", "operation", "application", "matter", "process", "element_id", "message",
                   "occurrences", "last_at", "resolved_at", "resolved_by")
    column_default_sort = ("created_at", True)
    column_filters = ("operation", "element_id", "resolved_at")
    column_searchable_list = ("message", "element_id", "subject_code")
    column_formatters = {"operation": lambda v, c, m, n: m.operation_label}
    extra_labels = {"operation": _l("操作")}

    @action("resolve", _l("标记为已处理"), _l("确定将所选流程异常标记为已处理吗？"))
    def action_resolve(self, ids):
        if not self.may_write():
            flash(_("您的角色无权处理流程异常。"), "error")
            return
        from plugin.applications import incidents
        user = current_staff()
        count = incidents.resolve([int(i) for i in ids], user.username if user else "system")
        audit("incident.resolve", ids=[int(i) for i in ids])
        flash(_("已将 %(count)s 条流程异常标记为已处理。", count=count), "success")


VIEWS = [
    (MatterView, Matter, _l("事项"), CATALOG),
    (MaterialView, Material, _l("材料目录"), CATALOG),
    (NegativeListView, NegativeListEntry, _l("负面清单"), CATALOG),
    (CalendarDayView, CalendarDay, _l("工作日历"), CATALOG),
    (TierSchemeView, TierScheme, _l("信用等级体系"), CREDIT),
    (SubjectView, Subject, _l("信用主体"), CREDIT),
    (DishonestyRecordView, DishonestyRecord, _l("失信记录"), CREDIT),
    (StaffUserView, StaffUser, _l("工作人员"), SYSTEM),
    (IncidentView, Incident, _l("流程异常"), SYSTEM),
]


def register_views(admin) -> None:
    for view, model, name, category in VIEWS:
        admin.add_view(view(model, name=name, category=category,
                            endpoint=f"xinyipi_{model._meta.table_name}"))
