"""Catalog tables: matters (事项), materials (材料目录), requirements, per-tier limits, the negative list."""
from __future__ import annotations

import peewee as pw

from plugin.credit.models import Tier
from plugin.db import ReferenceModel, now
from plugin.engine.models import ProcessDefinition

MATTER_KINDS = ("许可", "备案", "确认", "给付", "其他")
DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"
MATTER_STATUSES = ((DRAFT, "草稿"), (PUBLISHED, "已发布"), (RETIRED, "已停用"))

MATERIAL_TYPES = ("证照", "表格", "其他")
MATERIAL_FORMS = ("纸质", "电子")
MATERIAL_SOURCES = ("申请人自备", "政府部门核发", "其他")

REQUIRED, OPTIONAL, DEFERRABLE = "必要", "非必要", "容缺后补"
NECESSITIES = (REQUIRED, OPTIONAL, DEFERRABLE)


def _choices(values):
    return [(v, v) for v in values]


class Matter(ReferenceModel):
    """A government service matter (政务服务事项), following GB/T 39554 where it applies."""

    code = pw.CharField(unique=True, max_length=64, verbose_name="事项编码")
    name = pw.CharField(max_length=200, index=True, verbose_name="事项名称")
    department = pw.CharField(max_length=100, index=True, verbose_name="实施机关")
    kind = pw.CharField(max_length=8, choices=_choices(MATTER_KINDS), verbose_name="事项类型")
    legal_days = pw.IntegerField(verbose_name="法定时限（工作日）")
    promised_days = pw.IntegerField(verbose_name="承诺时限（工作日）")
    major_project = pw.BooleanField(default=False, verbose_name="重大项目")
    process = pw.ForeignKeyField(ProcessDefinition, null=True, backref="matters", on_delete="RESTRICT",
                                 verbose_name="绑定流程版本")
    status = pw.CharField(max_length=16, default=DRAFT, index=True, choices=MATTER_STATUSES,
                          verbose_name="状态")
    conditions = pw.TextField(default="", verbose_name="申请条件")
    legal_basis = pw.TextField(default="", verbose_name="设定依据")
    fee = pw.CharField(max_length=200, default="不收费", verbose_name="收费标准")
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")
    updated_at = pw.DateTimeField(default=now, verbose_name="更新时间")

    class Meta:
        table_name = "matter"

    def __str__(self):
        return self.name

    def promised_days_for(self, tier_code: str | None) -> int:
        """The promised limit for a tier of the active scheme (the matter's own limit when none is set)."""
        from plugin.catalog.facts import matter_facts
        from plugin.credit.tiers import active_scheme_info
        tier = active_scheme_info().tier(tier_code) if tier_code else None
        return matter_facts(self.code).promised_days_for(tier.id if tier else None)


class Material(ReferenceModel):
    """An entry of the material catalog (材料目录)."""

    code = pw.CharField(unique=True, max_length=32, verbose_name="材料编码")
    name = pw.CharField(max_length=200, index=True, verbose_name="材料名称")
    type = pw.CharField(max_length=8, choices=_choices(MATERIAL_TYPES), verbose_name="材料类型")
    form = pw.CharField(max_length=8, choices=_choices(MATERIAL_FORMS), verbose_name="材料形式")
    source = pw.CharField(max_length=16, choices=_choices(MATERIAL_SOURCES), verbose_name="来源渠道")
    elicence_type = pw.CharField(max_length=100, null=True, verbose_name="可调取的电子证照类型")
    description = pw.TextField(default="", verbose_name="说明")

    class Meta:
        table_name = "material"

    def __str__(self):
        return self.name


class MaterialRequirement(ReferenceModel):
    """A material a matter asks for, and how each tier may meet it."""

    matter = pw.ForeignKeyField(Matter, backref="requirements", on_delete="RESTRICT", verbose_name="事项")
    material = pw.ForeignKeyField(Material, backref="requirements", on_delete="RESTRICT",
                                  verbose_name="材料")
    necessity = pw.CharField(max_length=8, choices=_choices(NECESSITIES), default=REQUIRED,
                             verbose_name="必要性")
    waived_tiers = pw.CharField(max_length=200, default="", verbose_name="免提交的信用等级（编码，逗号分隔）")
    commitment_replaces = pw.BooleanField(default=False, verbose_name="可用告知承诺替代")
    copies = pw.IntegerField(default=1, verbose_name="份数")
    supplement_days = pw.IntegerField(null=True, verbose_name="容缺补正期限（工作日）")
    notes = pw.TextField(default="", verbose_name="备注")
    position = pw.IntegerField(default=0, verbose_name="排序")

    class Meta:
        table_name = "material_requirement"
        indexes = ((("matter", "material"), True),)

    @property
    def waived_tier_codes(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.waived_tiers.replace("，", ",").split(",") if c.strip())


class MatterTierLimit(ReferenceModel):
    """A shorter promised limit for one tier (海口：红色等级 5 个工作日的事项 2 个工作日办结)."""

    matter = pw.ForeignKeyField(Matter, backref="tier_limits", on_delete="CASCADE", verbose_name="事项")
    tier = pw.ForeignKeyField(Tier, backref="matter_limits", on_delete="RESTRICT", verbose_name="信用等级")
    promised_days = pw.IntegerField(verbose_name="承诺时限（工作日）")

    class Meta:
        table_name = "matter_tier_limit"
        indexes = ((("matter", "tier"), True),)


class NegativeListEntry(ReferenceModel):
    """负面清单: a matter closed to dishonest subjects, with its legal basis and effective dates."""

    matter = pw.ForeignKeyField(Matter, backref="negative_list_entries", on_delete="RESTRICT",
                                verbose_name="事项")
    legal_basis = pw.TextField(verbose_name="依据")
    severity = pw.CharField(max_length=8, default="严重", choices=[("严重", "仅严重失信"), ("一般", "任何失信记录")],
                            verbose_name="适用的失信程度")
    effective_from = pw.DateField(verbose_name="生效日期")
    effective_to = pw.DateField(null=True, verbose_name="失效日期")
    note = pw.TextField(default="", verbose_name="备注")
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")

    class Meta:
        table_name = "negative_list_entry"
