"""Credit tables: tier schemes and tiers, credit subjects, dishonesty records."""
from __future__ import annotations

import datetime as _dt

import peewee as pw

from plugin.db import BaseModel, ReferenceModel, now

SEVERE = "严重"
GENERAL = "一般"
SEVERITIES = (GENERAL, SEVERE)

PERSON = "person"
ORGANISATION = "organisation"
SUBJECT_KINDS = ((ORGANISATION, "法人和其他组织"), (PERSON, "自然人"))


class TierScheme(ReferenceModel):
    """A city's credit tier scheme (海口 红橙蓝黑, 杭州 五色, 江都 A–E). One is active."""

    code = pw.CharField(unique=True, max_length=32, verbose_name="编码")
    name = pw.CharField(max_length=100, verbose_name="名称")
    region = pw.CharField(max_length=100, default="", verbose_name="地区")
    description = pw.TextField(default="", verbose_name="说明")
    default_tier_code = pw.CharField(max_length=16, default="", verbose_name="未评级主体的默认等级")
    active = pw.BooleanField(default=False, index=True, verbose_name="启用")

    class Meta:
        table_name = "tier_scheme"

    def __str__(self):
        return self.name

    def ordered_tiers(self) -> list["Tier"]:
        """Tiers best first."""
        return list(self.tiers.order_by(Tier.rank.desc()))


class Tier(ReferenceModel):
    """One tier of a scheme. Rank 0 is the worst tier of its scheme."""

    scheme = pw.ForeignKeyField(TierScheme, backref="tiers", on_delete="RESTRICT", verbose_name="等级体系")
    code = pw.CharField(max_length=16, verbose_name="等级编码")
    label = pw.CharField(max_length=32, verbose_name="等级名称")
    colour = pw.CharField(max_length=16, default="#888888", verbose_name="颜色")
    rank = pw.IntegerField(verbose_name="序位（0 为最差）")
    inspection_ratio = pw.FloatField(default=0.05, verbose_name="双随机抽查比例")
    description = pw.TextField(default="", verbose_name="说明")

    class Meta:
        table_name = "tier"
        indexes = ((("scheme", "code"), True), (("scheme", "rank"), True))

    def __str__(self):
        return f"{self.label}（{self.code}）"


class Subject(BaseModel):
    """A credit subject: a legal person (统一社会信用代码) or a natural person (身份证号)."""

    code = pw.CharField(unique=True, max_length=18, verbose_name="统一社会信用代码/身份证号")
    name = pw.CharField(max_length=200, index=True, verbose_name="名称")
    kind = pw.CharField(max_length=16, choices=SUBJECT_KINDS, verbose_name="主体类型")
    tier = pw.ForeignKeyField(Tier, null=True, backref="subjects", on_delete="RESTRICT",
                              verbose_name="导入信用等级")
    source = pw.CharField(max_length=100, default="", verbose_name="等级来源")
    tier_updated_at = pw.DateTimeField(null=True, verbose_name="等级更新时间")
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")
    contact_email = pw.CharField(max_length=200, null=True, verbose_name="联系邮箱",
                                 help_text="信用库登记的联系方式：激活码和账号绑定通知发往这里")
    contact_phone = pw.CharField(max_length=32, null=True, verbose_name="联系电话",
                                 help_text="信用库登记的联系方式：激活码和账号绑定通知发往这里")

    class Meta:
        table_name = "subject"

    def __str__(self):
        return f"{self.name}（{self.code}）"


class DishonestyRecord(BaseModel):
    """失信记录. Active while started, not ended and not repaired."""

    subject = pw.ForeignKeyField(Subject, backref="dishonesty_records", on_delete="RESTRICT",
                                 verbose_name="信用主体")
    severity = pw.CharField(max_length=8, choices=[(s, s) for s in SEVERITIES], verbose_name="严重程度")
    reason = pw.TextField(verbose_name="失信事由")
    authority = pw.CharField(max_length=200, verbose_name="认定机关")
    start = pw.DateField(verbose_name="起始日期")
    end = pw.DateField(null=True, verbose_name="截止日期")
    repaired_at = pw.DateTimeField(null=True, verbose_name="修复时间")
    fingerprint = pw.CharField(max_length=64, unique=True, verbose_name="去重指纹")
    case_number = pw.CharField(max_length=32, null=True, verbose_name="关联办件")
    created_at = pw.DateTimeField(default=now, verbose_name="记录时间")

    class Meta:
        table_name = "dishonesty_record"

    @classmethod
    def active_clause(cls, on: _dt.date):
        """The one definition of an active record: started by `on`, not ended before it, not repaired."""
        return ((cls.repaired_at.is_null()) & (cls.start <= on)
                & (cls.end.is_null() | (cls.end >= on)))

    def __str__(self):
        return f"{self.severity}：{self.reason[:30]}"


TIER_CHANGE_CAUSES = {"breach": "违约失信", "repair": "信用修复", "admin": "人工维护", "import": "信用平台导入"}


class TierChange(BaseModel):
    """信用等级变动: a subject's effective tier before and after a change that moved it (a breach
    recorded, records repaired, staff editing the subject or its records, an import from the credit
    platform), kept for the credit archive. Written by the unit of work only (`plugin.work`)."""

    subject = pw.ForeignKeyField(Subject, backref="tier_changes", on_delete="RESTRICT", verbose_name="信用主体")
    scheme = pw.CharField(max_length=32, verbose_name="等级体系")
    from_code = pw.CharField(max_length=16, verbose_name="原等级")
    to_code = pw.CharField(max_length=16, verbose_name="新等级")
    from_blacklisted = pw.BooleanField(default=False, verbose_name="原为严重失信主体")
    to_blacklisted = pw.BooleanField(default=False, verbose_name="现为严重失信主体")
    cause = pw.CharField(max_length=16, choices=list(TIER_CHANGE_CAUSES.items()), verbose_name="原因")
    reason = pw.TextField(verbose_name="说明")
    case_number = pw.CharField(max_length=32, null=True, verbose_name="关联办件")
    actor = pw.CharField(max_length=100, verbose_name="操作人")
    at = pw.DateTimeField(default=now, index=True, verbose_name="时间")

    class Meta:
        table_name = "tier_change"

    @property
    def cause_label(self) -> str:
        return TIER_CHANGE_CAUSES.get(self.cause, self.cause)
