"""Published process versions."""
from __future__ import annotations

import json

import peewee as pw

from plugin.db import BaseModel, now


class ProcessDefinition(BaseModel):
    """One published version of a diagram: its XML, checksum and the spec serialized once.

    A running case references the version it started with; publishing makes a new row.
    `tier_paths` records, per tier of the scheme active at publication, the handling path
    the dry run took for a clean subject and for one with a dishonesty record.
    """

    key = pw.CharField(max_length=100, index=True, verbose_name="流程标识")
    version = pw.IntegerField(verbose_name="版本")
    name = pw.CharField(max_length=200, default="", verbose_name="流程名称")
    xml = pw.TextField(verbose_name="BPMN XML")
    checksum = pw.CharField(max_length=64, index=True, verbose_name="校验和")
    spec_json = pw.TextField(verbose_name="解析后的流程规格")
    tier_paths_json = pw.TextField(default="{}", verbose_name="各等级路径")
    scheme_code = pw.CharField(max_length=32, default="", verbose_name="发布时的等级体系")
    source = pw.CharField(max_length=200, default="", verbose_name="来源")
    published_by = pw.CharField(max_length=100, default="", verbose_name="发布人")
    published_at = pw.DateTimeField(default=now, verbose_name="发布时间")

    class Meta:
        table_name = "process_definition"
        indexes = ((("key", "version"), True),)

    @property
    def tier_paths(self) -> dict:
        return json.loads(self.tier_paths_json or "{}")

    def __str__(self):
        return f"{self.name or self.key} v{self.version}"
