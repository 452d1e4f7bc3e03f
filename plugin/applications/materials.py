"""The materials and commitments of a case (办件材料, 承诺书).

`CaseMaterial` is one line of `requirements_for` frozen onto the case when it is submitted, with
what became of it: a file uploaded (stored under ``XINYIPI_UPLOAD_DIR`` by its SHA-256), owed
(容缺后补, with the supplement deadline), replaced by the signed commitment, waived, or fetched
from an e-licence. `Commitment` is a signed 告知承诺书 or 容缺受理承诺书: its full text, the
text's hash and the time it was signed.
"""
from __future__ import annotations

import peewee as pw

from plugin.applications.models import Application
from plugin.db import BaseModel, now

PROVIDED, OWED, SUPPLIED, REPLACED, WAIVED, FETCHED, NOT_GIVEN = (
    "provided", "owed", "supplied", "replaced", "waived", "fetched", "not_given")
MATERIAL_STATES = {
    PROVIDED: "已提交", OWED: "待补正", SUPPLIED: "已补正", REPLACED: "承诺替代",
    WAIVED: "免提交", FETCHED: "电子证照已调取", NOT_GIVEN: "未提交",
}
NOTIFICATION, TOLERANCE = "notification", "tolerance"
COMMITMENT_KINDS = {NOTIFICATION: "告知承诺书", TOLERANCE: "容缺受理承诺书"}


class CaseMaterial(BaseModel):
    application = pw.ForeignKeyField(Application, backref="materials", on_delete="CASCADE",
                                     verbose_name="办件")
    material_code = pw.CharField(max_length=64, verbose_name="材料编码")
    material_name = pw.CharField(max_length=200, verbose_name="材料名称")
    disposition = pw.CharField(max_length=16, verbose_name="处理方式")  # requirements.UPLOAD, DEFER, …
    state = pw.CharField(max_length=16, index=True, choices=list(MATERIAL_STATES.items()), verbose_name="状态")
    sha256 = pw.CharField(max_length=64, null=True, index=True, verbose_name="文件摘要（SHA-256）")
    filename = pw.CharField(max_length=255, null=True, verbose_name="文件名")
    content_type = pw.CharField(max_length=100, null=True, verbose_name="文件类型")
    size = pw.IntegerField(null=True, verbose_name="大小（字节）")
    due_date = pw.DateField(null=True, index=True, verbose_name="补正期限")
    updated_at = pw.DateTimeField(default=now, verbose_name="更新时间")

    class Meta:
        table_name = "case_material"
        indexes = ((("application", "material_code"), True),)

    @property
    def state_label(self) -> str:
        return MATERIAL_STATES.get(self.state, self.state)


class Commitment(BaseModel):
    application = pw.ForeignKeyField(Application, backref="commitments", on_delete="CASCADE",
                                     verbose_name="办件")
    kind = pw.CharField(max_length=16, choices=list(COMMITMENT_KINDS.items()), verbose_name="承诺书类型")
    text = pw.TextField(verbose_name="承诺书全文")
    text_sha256 = pw.CharField(max_length=64, verbose_name="全文摘要（SHA-256）")
    signer_code = pw.CharField(max_length=18, verbose_name="承诺人证件号码")
    signer_name = pw.CharField(max_length=200, verbose_name="承诺人")
    signed_at = pw.DateTimeField(default=now, verbose_name="签署时间")

    class Meta:
        table_name = "commitment"

    @property
    def kind_label(self) -> str:
        return COMMITMENT_KINDS.get(self.kind, self.kind)


def materials_of(application) -> list[CaseMaterial]:
    return list(CaseMaterial.select().where(CaseMaterial.application == application)
                .order_by(CaseMaterial.id))


def commitments_of(application) -> list[Commitment]:
    return list(Commitment.select().where(Commitment.application == application)
                .order_by(Commitment.signed_at))
