"""Model views, configured by declaration."""
from __future__ import annotations

from flask_admin.contrib.peewee import ModelView

from admin.auth import ALL_STAFF, CATALOG_ADMIN, RoleAccess

from plugin.calendar import CalendarDay
from plugin.catalog.models import Material, Matter, NegativeListEntry
from plugin.credit.models import DishonestyRecord, Subject, TierScheme

CATALOG, CREDIT = "事项目录", "信用"


class XinYiPiModelView(RoleAccess, ModelView):
    """Labels, choices and the search hint come from the models' Chinese verbose names.
    Every staff role may look; catalog administrators (and sysadmins) may change."""

    roles = ALL_STAFF
    write_roles = frozenset({CATALOG_ADMIN})

    def __init__(self, model, *args, **kwargs):
        fields = model._meta.fields
        self.column_labels = {name: f.verbose_name for name, f in fields.items() if f.verbose_name}
        self.column_labels.update(getattr(self, "extra_labels", {}))
        self.column_choices = {name: list(f.choices) for name, f in fields.items() if f.choices}
        super().__init__(model, *args, **kwargs)

    def search_placeholder(self):
        names = [self.column_labels.get(c, c) for c in (self.column_searchable_list or ())]
        return "搜索：" + "、".join(names) if names else None


class MatterView(XinYiPiModelView):
    column_list = ("code", "name", "department", "kind", "legal_days", "promised_days",
                   "major_project", "process", "status")
    column_searchable_list = ("code", "name", "department")
    column_filters = ("department", "status", "kind", "major_project")
    page_size = 50


class MaterialView(XinYiPiModelView):
    column_list = ("code", "name", "type", "form", "source", "elicence_type")
    column_searchable_list = ("code", "name")
    column_filters = ("type", "form", "source")


class SubjectView(XinYiPiModelView):
    column_list = ("code", "name", "kind", "tier", "source", "tier_updated_at")
    column_searchable_list = ("code", "name")
    page_size = 50
    can_set_page_size = True


class TierSchemeView(XinYiPiModelView):
    column_list = ("code", "name", "region", "default_tier_code", "active")


class DishonestyRecordView(XinYiPiModelView):
    column_list = ("subject", "severity", "reason", "authority", "start", "end", "repaired_at")
    column_filters = ("severity", "authority", "start", "end")
    form_excluded_columns = ("fingerprint",)


class NegativeListView(XinYiPiModelView):
    column_list = ("matter", "severity", "legal_basis", "effective_from", "effective_to")


class CalendarDayView(XinYiPiModelView):
    column_list = ("day", "is_workday", "name", "note")
    column_default_sort = ("day", True)


VIEWS = [
    (MatterView, Matter, "事项", CATALOG),
    (MaterialView, Material, "材料目录", CATALOG),
    (NegativeListView, NegativeListEntry, "负面清单", CATALOG),
    (CalendarDayView, CalendarDay, "工作日历", CATALOG),
    (TierSchemeView, TierScheme, "信用等级体系", CREDIT),
    (SubjectView, Subject, "信用主体", CREDIT),
    (DishonestyRecordView, DishonestyRecord, "失信记录", CREDIT),
]


def register_views(admin) -> None:
    for view, model, name, category in VIEWS:
        admin.add_view(view(model, name=name, category=category,
                            endpoint=f"xinyipi_{model._meta.table_name}"))
