"""Supervision items (核查、抽查) and inspection draws (双随机抽取批次)."""
from __future__ import annotations

import peewee as pw

from plugin.applications.models import Application, JSONField
from plugin.db import BaseModel, now

VERIFICATION, INSPECTION = "verification", "inspection"
KINDS = {VERIFICATION: "告知承诺核查", INSPECTION: "双随机抽查"}
PENDING, PASSED, FAILED, CANCELLED = "pending", "passed", "failed", "cancelled"
STATES = {PENDING: "待办", PASSED: "合格", FAILED: "不合格（违约）", CANCELLED: "终止（办件已撤销）"}


class InspectionDraw(BaseModel):
    """One random draw (一次双随机抽取): what it drew from, with which ratios and which seed, so
    that anyone can draw it again and get the same cases and inspectors (`service.replay`)."""

    matter_code = pw.CharField(max_length=64, null=True, verbose_name="事项（空为全部事项）")
    on_date = pw.DateField(verbose_name="抽查基准日")
    seed = pw.BigIntegerField(verbose_name="随机种子")
    scheme = pw.CharField(max_length=32, verbose_name="等级体系")
    ratios = JSONField(verbose_name="各等级抽查比例")
    population = JSONField(verbose_name="抽取范围（办件ID、等级）")
    inspectors = JSONField(verbose_name="检查人员库")
    population_count = pw.IntegerField(verbose_name="范围内办件数")
    drawn_count = pw.IntegerField(verbose_name="抽中办件数")
    created_by = pw.CharField(max_length=100, verbose_name="抽取人")
    created_at = pw.DateTimeField(default=now, index=True, verbose_name="抽取时间")

    class Meta:
        table_name = "inspection_draw"

    def __str__(self):
        return f"{self.on_date:%Y-%m-%d} #{self.id}"


class SupervisionItem(BaseModel):
    """A check after approval: the verification of a notification-commitment (告知承诺核查) or a
    drawn inspection (双随机抽查). A failed result is a breach."""

    kind = pw.CharField(max_length=16, choices=list(KINDS.items()), index=True, verbose_name="类型")
    application = pw.ForeignKeyField(Application, backref="supervision_items", on_delete="RESTRICT",
                                     verbose_name="办件")
    draw = pw.ForeignKeyField(InspectionDraw, null=True, backref="items", on_delete="RESTRICT",
                              verbose_name="抽取批次")
    tier_code = pw.CharField(max_length=16, verbose_name="信用等级")
    assignee = pw.CharField(max_length=100, null=True, index=True, verbose_name="检查人员")
    due_date = pw.DateField(index=True, verbose_name="办理期限")
    state = pw.CharField(max_length=16, index=True, default=PENDING, choices=list(STATES.items()),
                         verbose_name="结果")
    note = pw.TextField(null=True, verbose_name="核查（检查）情况")
    recorded_by = pw.CharField(max_length=100, null=True, verbose_name="记录人")
    recorded_at = pw.DateTimeField(null=True, verbose_name="记录时间")
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")

    class Meta:
        table_name = "supervision_item"

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def state_label(self) -> str:
        return STATES.get(self.state, self.state)
