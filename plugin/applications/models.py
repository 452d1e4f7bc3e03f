"""Cases (办件), their human tasks, and the audit trail."""
from __future__ import annotations

import json

import peewee as pw

from plugin.catalog.models import Matter
from plugin.credit.models import Subject
from plugin.db import BaseModel, now
from plugin.engine.models import ProcessDefinition

DRAFT, SUBMITTED, ACCEPTED, REFUSED, IN_REVIEW = "draft", "submitted", "accepted", "refused", "in_review"
APPROVED, REJECTED, RETURNED, CLOSED, REVOKED = "approved", "rejected", "returned", "closed", "revoked"
STATUSES = {
    DRAFT: "草稿", SUBMITTED: "已提交", ACCEPTED: "已受理", REFUSED: "不予受理", IN_REVIEW: "审查中",
    APPROVED: "准予许可", REJECTED: "不予许可", RETURNED: "退回补正", CLOSED: "已办结", REVOKED: "已撤销",
}
FINAL = frozenset({REFUSED, REJECTED, RETURNED, CLOSED, REVOKED})


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode   # = json.dumps(…), built once


class JSONField(pw.TextField):
    def db_value(self, value):
        return None if value is None else _encode(value)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class Application(BaseModel):
    """A case. `state` is the workflow without its spec; `version` guards concurrent writers."""

    number = pw.CharField(unique=True, max_length=32, verbose_name="办件编号")
    matter = pw.ForeignKeyField(Matter, backref="applications", on_delete="RESTRICT", verbose_name="事项")
    subject = pw.ForeignKeyField(Subject, backref="applications", on_delete="RESTRICT", verbose_name="申请人")
    process = pw.ForeignKeyField(ProcessDefinition, null=True, backref="applications", on_delete="RESTRICT",
                                 verbose_name="流程版本")
    status = pw.CharField(max_length=16, index=True, choices=list(STATUSES.items()), verbose_name="状态")
    path = pw.CharField(max_length=16, null=True, index=True, verbose_name="办理路径")
    decision = pw.CharField(max_length=16, null=True, verbose_name="决定")
    tier_code = pw.CharField(max_length=16, index=True, verbose_name="受理时信用等级")
    tier_snapshot = JSONField(verbose_name="信用核查快照")
    form_data = JSONField(default=dict, verbose_name="申请信息")
    refusal_reason = pw.TextField(null=True, verbose_name="不予受理理由")
    state = pw.TextField(null=True, verbose_name="流程状态")
    version = pw.IntegerField(default=0, verbose_name="版本")
    next_due_at = pw.DateTimeField(null=True, index=True, verbose_name="下一个定时器到期（UTC）")
    promised_days = pw.IntegerField(null=True, verbose_name="承诺时限（工作日）")
    due_date = pw.DateField(null=True, index=True, verbose_name="承诺办结日期")
    submitted_at = pw.DateTimeField(default=now, index=True, verbose_name="提交时间")
    decided_at = pw.DateTimeField(null=True, verbose_name="决定时间")
    revoked_at = pw.DateTimeField(null=True, verbose_name="撤销时间")
    revocation_reason = pw.TextField(null=True, verbose_name="撤销理由")
    updated_at = pw.DateTimeField(default=now, verbose_name="更新时间")

    class Meta:
        table_name = "application"

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    def __str__(self):
        return self.number


class HumanTask(BaseModel):
    """An index of the human tasks of every case, kept in step with the workflow on every save."""

    application = pw.ForeignKeyField(Application, backref="tasks", on_delete="CASCADE", verbose_name="办件")
    task_id = pw.CharField(max_length=36, unique=True, verbose_name="任务ID")
    element_id = pw.CharField(max_length=100, verbose_name="流程元素")
    name = pw.CharField(max_length=200, verbose_name="任务名称")
    lane = pw.CharField(max_length=32, index=True, verbose_name="泳道（角色）")
    state = pw.CharField(max_length=16, index=True, verbose_name="状态")  # ready / completed / cancelled
    created_at = pw.DateTimeField(default=now, verbose_name="创建时间")
    completed_at = pw.DateTimeField(null=True, verbose_name="完成时间")
    completed_by = pw.CharField(max_length=100, null=True, verbose_name="完成人")
    claimed_by = pw.CharField(max_length=100, null=True, index=True, verbose_name="认领人")
    claimed_at = pw.DateTimeField(null=True, verbose_name="认领时间")

    class Meta:
        table_name = "human_task"


class AuditEntry(BaseModel):
    """Who did what to a case (or a subject), when, with the tier as it was."""

    application = pw.ForeignKeyField(Application, null=True, backref="audit", on_delete="RESTRICT",
                                     verbose_name="办件")
    subject = pw.ForeignKeyField(Subject, null=True, backref="audit", on_delete="RESTRICT",
                                 verbose_name="信用主体")
    actor = pw.CharField(max_length=100, verbose_name="操作人")
    action = pw.CharField(max_length=64, index=True, verbose_name="操作")
    from_status = pw.CharField(max_length=16, null=True, verbose_name="原状态")
    to_status = pw.CharField(max_length=16, null=True, verbose_name="新状态")
    tier_code = pw.CharField(max_length=16, null=True, verbose_name="信用等级")
    detail = JSONField(default=dict, verbose_name="详情")
    at = pw.DateTimeField(default=now, index=True, verbose_name="时间")

    class Meta:
        table_name = "audit_entry"


class Incident(BaseModel):
    """A diagram that failed while it ran (a script, a condition, a timer, a stored spec that no
    longer passes the safety check): the case was left as it was, and staff see this row.
    One open row per case, element and message; a repeat (every `tick`) counts up."""

    application = pw.ForeignKeyField(Application, null=True, backref="incidents", on_delete="RESTRICT",
                                     verbose_name="办件")
    matter = pw.ForeignKeyField(Matter, null=True, on_delete="RESTRICT", verbose_name="事项")
    process = pw.ForeignKeyField(ProcessDefinition, null=True, on_delete="RESTRICT", verbose_name="流程版本")
    subject_code = pw.CharField(max_length=18, null=True, verbose_name="申请人")
    operation = pw.CharField(max_length=32, verbose_name="操作")  # start / task / timer / load
    element_id = pw.CharField(max_length=100, null=True, verbose_name="流程元素")
    message = pw.TextField(verbose_name="错误")
    occurrences = pw.IntegerField(default=1, verbose_name="次数")
    created_at = pw.DateTimeField(default=now, index=True, verbose_name="首次发生")
    last_at = pw.DateTimeField(default=now, verbose_name="最近发生")
    resolved_at = pw.DateTimeField(null=True, index=True, verbose_name="处理时间")
    resolved_by = pw.CharField(max_length=100, null=True, verbose_name="处理人")

    class Meta:
        table_name = "incident"

    OPERATIONS = {"start": "提交申请", "task": "办理任务", "timer": "定时器", "load": "载入流程"}

    @property
    def operation_label(self) -> str:
        return self.OPERATIONS.get(self.operation, self.operation)
