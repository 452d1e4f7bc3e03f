"""The materials and commitments of a case (办件材料, 承诺书).

`CaseMaterial` is one line of `requirements_for` frozen onto the case when it is submitted, with
what became of it: a file uploaded (stored under ``XINYIPI_UPLOAD_DIR`` by its SHA-256), owed
(容缺后补, with the supplement deadline), replaced by the signed commitment, waived, or fetched
from an e-licence.

Files are kept once per content, and only while a row refers to them: `Quota` caps what one
applicant's cases may keep (``XINYIPI_UPLOAD_QUOTA_MB``), and `sweep_unreferenced` (run by
``xinyipi tick``) deletes the files no row refers to any more (replaced files, discarded drafts)
once they are older than the grace period (``XINYIPI_UPLOAD_GRACE_HOURS``). `Commitment` is a signed 告知承诺书 or 容缺受理承诺书: its full text, the
text's hash and the time it was signed.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import tempfile
import time

import peewee as pw

from plugin.applications.models import Application
from plugin.catalog import requirements as _req
from plugin.db import BaseModel, now
from plugin.i18n import _

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


# ---------------------------------------------------------------------------------------------
# Files: stored under XINYIPI_UPLOAD_DIR by their SHA-256, checked for type and size
# ---------------------------------------------------------------------------------------------
FILE_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
_CHUNK = 64 * 1024


class MaterialError(ValueError):
    """Materials that cannot be accepted: `errors` maps material code → a message in Chinese."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    filename: str


def sniff(head: bytes) -> str | None:
    """The type of a file by its first bytes (magic numbers), whatever its name says."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _clean_name(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "file"
    return name[-255:]


def blob_path(upload_dir: str, sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"不是 SHA-256 摘要：{sha256!r}")
    return os.path.join(upload_dir, sha256[:2], sha256[2:4], sha256)


MB = 1024 * 1024
TEMP_PREFIX = ".upload-"


class Quota:
    """What one applicant's cases may keep: `limit` bytes of distinct files. `used` counts the files
    their case rows refer to now (each content once), leaving out the rows a request replaces;
    `admit` takes each new file of the request in turn."""

    def __init__(self, limit: int, used: int, known: set[str]):
        self.limit, self.used, self.known = limit, used, set(known)

    def admit(self, sha256: str, size: int, what: str) -> None:
        """Count a stored file, or ValueError (in the reader's language) when it does not fit."""
        if sha256 in self.known:
            return                     # the same content is kept once: it costs nothing more
        if self.used + size > self.limit:
            raise ValueError(_("%(what)s未保存：您的材料存储空间上限为 %(limit)s MB，已用 %(used)s MB，这个文件 %(size)s MB"
                               "放不下。请删除不再需要的申请草稿或文件后再上传。", what=what,
                               limit=_mb(self.limit), used=_mb(self.used), size=_mb(size)))
        self.used += size
        self.known.add(sha256)


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def quota_for(subject_id: int, limit_mb: int, application=None, replacing=()) -> Quota:
    """The quota of the applicant `subject_id`; the rows of `application` for the material codes in
    `replacing` (about to get a new file) are not counted."""
    rows = (CaseMaterial.select(CaseMaterial.sha256, CaseMaterial.size)
            .join(Application, on=(CaseMaterial.application == Application.id))
            .where((Application.subject == subject_id) & CaseMaterial.sha256.is_null(False)))
    if application is not None and replacing:
        rows = rows.where(~((CaseMaterial.application == application) & CaseMaterial.material_code.in_(list(replacing))))
    files = dict(rows.distinct().tuples())
    return Quota(limit_mb * MB, sum(size or 0 for size in files.values()), set(files))


def store_file(stream, filename: str | None, upload_dir: str, max_mb: int, label: str = "",
               quota: Quota | None = None) -> StoredFile:
    """Store the file read from `stream` under `upload_dir` by its SHA-256, after checking that it is
    a PDF, JPEG or PNG (by its content) of at most `max_mb` MB and, given a `quota`, that it fits in
    the applicant's storage. On refusal nothing is kept and ValueError says why, in Chinese."""
    what = f"“{label}”" if label else "文件"
    limit = max_mb * 1024 * 1024
    os.makedirs(upload_dir, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=upload_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                if len(head) < 16:
                    head = (head + chunk)[:16]
                size += len(chunk)
                if size > limit:
                    raise ValueError(f"{what}超过大小上限 {max_mb} MB，未保存")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValueError(f"{what}是空文件，未保存")
        content_type = sniff(head)
        if content_type is None:
            raise ValueError(f"{what}不是 PDF、JPEG 或 PNG 文件（按文件内容判断，与扩展名无关），未保存")
        sha = digest.hexdigest()
        if quota is not None:
            quota.admit(sha, size, what)
        final = blob_path(upload_dir, sha)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        if os.path.exists(final):
            os.unlink(temp)
            os.utime(final)            # fresh again: the sweep's grace period covers the row about to refer to it
        else:
            os.replace(temp, final)
        temp = None
        return StoredFile(sha256=sha, size=size, content_type=content_type, filename=_clean_name(filename))
    finally:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)


@dataclasses.dataclass
class SweepReport:
    removed: int = 0
    freed: int = 0          # bytes
    kept: int = 0           # files still referred to, or too young to judge


def _stored_files(upload_dir: str):
    """(path, name) of every file under `upload_dir`: blobs under xx/yy/<sha256>, and temporary files."""
    for dirpath, _dirs, files in os.walk(upload_dir):
        for name in files:
            yield os.path.join(dirpath, name), name


def sweep_unreferenced(upload_dir: str, grace_hours: float = 24, chunk: int = 500) -> SweepReport:
    """Delete the files under `upload_dir` that no case row refers to (a replaced file, a discarded
    draft's) and that are older than `grace_hours` (an upload is stored before its row is written),
    and temporary files of uploads that never finished. Safe to run while people upload: a file
    whose content is uploaded again is touched (`store_file`), so it is young again."""
    report = SweepReport()
    if not os.path.isdir(upload_dir):
        return report
    cutoff = time.time() - grace_hours * 3600
    old: dict[str, str] = {}
    for path, name in _stored_files(upload_dir):
        try:
            mtime = os.stat(path).st_mtime
        except FileNotFoundError:
            continue
        if mtime > cutoff:
            report.kept += 1
        elif name.startswith(TEMP_PREFIX):
            report.freed += _remove(path)
            report.removed += 1
        elif _is_hash(name) and path == blob_path(upload_dir, name):
            old[name] = path           # anything else under the directory is not ours to delete
    names = sorted(old)
    for start in range(0, len(names), chunk):
        part = names[start:start + chunk]
        referenced = {sha for (sha,) in CaseMaterial.select(CaseMaterial.sha256)
                      .where(CaseMaterial.sha256.in_(part)).distinct().tuples()}
        for name in part:
            path = old[name]
            try:
                young = os.stat(path).st_mtime > cutoff    # touched by an upload since the walk
            except FileNotFoundError:
                continue
            if name in referenced or young:
                report.kept += 1
            else:
                report.freed += _remove(path)
                report.removed += 1
    return report


def _is_hash(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _remove(path: str) -> int:
    try:
        size = os.stat(path).st_size
        os.unlink(path)
        return size
    except FileNotFoundError:
        return 0


# ---------------------------------------------------------------------------------------------
# A case's materials: draft uploads, frozen at submission, supplemented later
# ---------------------------------------------------------------------------------------------
def _row(application, code: str) -> CaseMaterial | None:
    return CaseMaterial.get_or_none((CaseMaterial.application == application)
                                    & (CaseMaterial.material_code == code))


def attach(application, disposition, stored: StoredFile, state: str = PROVIDED) -> CaseMaterial:
    """Record `stored` as the file of one material of `application` (replacing an earlier one)."""
    row = _row(application, disposition.material_code) or CaseMaterial(
        application=application, material_code=disposition.material_code)
    row.material_name = disposition.material_name
    row.disposition = disposition.disposition
    row.state = state
    return _attach(row, stored)


def uploaded(application) -> dict[str, CaseMaterial]:
    """The materials of `application` that have a file, by material code."""
    return {m.material_code: m for m in materials_of(application) if m.sha256}


def missing_uploads(dispositions, files: dict) -> dict[str, str]:
    """The materials that must be uploaded and have no file: code → message."""
    return {d.material_code: f"请上传“{d.material_name}”"
            for d in dispositions if d.disposition == _req.UPLOAD and d.material_code not in files}


_STATE_FOR = {
    _req.UPLOAD: NOT_GIVEN, _req.OPTIONAL_UPLOAD: NOT_GIVEN, _req.DEFER: OWED,
    _req.COMMITMENT: REPLACED, _req.WAIVED: WAIVED, _req.ELICENCE: FETCHED,
}


def freeze(application, dispositions) -> None:
    """Freeze `requirements_for` onto a case being submitted: one row per material with what became
    of it (the caller holds the transaction). Files uploaded for materials the case no longer asks
    for are dropped from it."""
    files = uploaded(application)
    wanted = {d.material_code for d in dispositions}
    stale = [m.id for code, m in files.items() if code not in wanted]
    if stale:
        CaseMaterial.delete().where(CaseMaterial.id.in_(stale)).execute()
    existing = {m.material_code: m for m in materials_of(application)}
    stamp = now()
    for d in dispositions:
        row = existing.get(d.material_code) or CaseMaterial(application=application, material_code=d.material_code)
        row.material_name, row.disposition, row.updated_at = d.material_name, d.disposition, stamp
        if row.sha256 and d.disposition not in (_req.WAIVED, _req.ELICENCE):
            row.state = PROVIDED
        else:
            row.sha256 = row.filename = row.content_type = row.size = None
            row.state = _STATE_FOR[d.disposition]
        row.save()


def owed(application) -> list[CaseMaterial]:
    return [m for m in materials_of(application) if m.state == OWED]


def set_supplement_due(application, due: _dt.date) -> int:
    """Give the owed materials of a case the deadline of its supplement (when it starts)."""
    return (CaseMaterial.update(due_date=due, updated_at=now())
            .where((CaseMaterial.application == application) & (CaseMaterial.state == OWED)
                   & CaseMaterial.due_date.is_null())
            .execute())


def supply(application, material_code: str, stored: StoredFile) -> CaseMaterial:
    """Record a supplemented file for an owed (or already supplemented) material."""
    row = _row(application, material_code)
    if row is None or row.state not in (OWED, SUPPLIED):
        raise MaterialError({material_code: "这项材料不需要补正"})
    row.state = SUPPLIED
    return _attach(row, stored)


def _attach(row: CaseMaterial, stored: StoredFile) -> CaseMaterial:
    """Save `row` with the stored file as its file."""
    row.sha256, row.size = stored.sha256, stored.size
    row.content_type, row.filename = stored.content_type, stored.filename
    row.updated_at = now()
    row.save()
    return row


# ---------------------------------------------------------------------------------------------
# Commitments: the text, generated per matter and case; signing records its hash and time
# ---------------------------------------------------------------------------------------------
_CN_NUMERALS = "一二三四五六七八九十"


def _listing(rows) -> str:
    if not rows:
        return "    （无）"
    return "\n".join(f"    {i}. {r.material_name}（材料编码 {r.material_code}）" for i, r in enumerate(rows, 1))


def commitment_text(application, kind: str, on: _dt.date, supplement_days: int | None = None) -> str:
    """The full text of the case's 告知承诺书 (`NOTIFICATION`) or 容缺受理承诺书 (`TOLERANCE`), with the
    applicant's details and the materials the commitment replaces or defers."""
    subject, matter = application.subject, application.matter
    rows = materials_of(application)
    id_label = "身份证号码" if subject.kind == "person" else "统一社会信用代码"
    who = "本人" if subject.kind == "person" else "本单位"
    head = [
        COMMITMENT_KINDS[kind], "",
        f"承诺人：{subject.name}",
        f"{id_label}：{subject.code}",
        f"申请事项：{matter.name}（事项编码 {matter.code}）",
        f"实施机关：{matter.department}",
        f"办件编号：{application.number}", "",
    ]
    if kind == NOTIFICATION:
        replaced = [r for r in rows if r.state == REPLACED]
        clauses = [
            f"审批机关已告知{who}申请“{matter.name}”应当具备的条件、应当提交的材料和不实承诺的法律责任。"
            f"{who}自愿选择以告知承诺方式办理，郑重承诺：",
            f"所填写的信息和提交的材料真实、准确、完整、有效，{who}已经符合审批机关告知的全部条件；",
            f"下列材料以本承诺替代，不再提交：\n{_listing(replaced)}",
            f"愿意接受审批机关的事后核查（先证后核）；经核查与承诺不符的，审批机关可以依法撤销许可，"
            f"并将失信信息记入{who}的信用档案，由{who}承担相应法律责任；",
            "本承诺书在线签署，与书面签署具有同等法律效力。",
        ]
    elif kind == TOLERANCE:
        deferred = [r for r in rows if r.state == OWED]
        days = f"{supplement_days} 个工作日" if supplement_days else "规定期限"
        clauses = [
            f"{who}申请“{matter.name}”时，下列非主要材料暂缺，申请容缺受理，并郑重承诺：",
            "已提交的信息和材料真实、准确、完整、有效；",
            f"在审批机关作出准予许可决定后 {days}内补正下列材料：\n{_listing(deferred)}",
            f"逾期未补正或补正材料与承诺不符的，同意审批机关依法撤销许可，并将违约情况记入{who}的信用档案；",
            "本承诺书在线签署，与书面签署具有同等法律效力。",
        ]
    else:
        raise ValueError(f"未知的承诺书类型 {kind!r}")
    body = [f"{_CN_NUMERALS[i]}、{c}" if i else c for i, c in enumerate(clauses)]
    tail = ["", f"承诺人：{subject.name}", f"日期：{on.year} 年 {on.month} 月 {on.day} 日"]
    return "\n".join(head + body + tail)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_signature(application, kind: str, text: str) -> Commitment:
    """Store a signed commitment: its full text, the text's SHA-256, the signer and the time (the
    caller holds the transaction that completes the signing task)."""
    subject = application.subject
    return Commitment.create(application=application, kind=kind, text=text, text_sha256=text_hash(text),
                             signer_code=subject.code, signer_name=subject.name, signed_at=now())
