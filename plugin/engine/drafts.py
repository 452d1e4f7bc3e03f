"""Process drafts (流程草稿): diagrams uploaded — or, later, saved by the BPMN designer — not yet published.

A draft keeps the XML exactly as it came (so a published version downloads byte for byte as it
was uploaded) and the report of its last validation against the active tier scheme, so a designer
can come back to it. Drafts are never run: publishing one goes through `plugin.engine.publish`,
which makes an immutable `ProcessDefinition` version.

`check_upload` refuses what is not a diagram file (wrong extension, empty, too large, binary,
not UTF-8, malformed XML, DTDs and entities, not BPMN) with a Chinese message, before anything
is stored. The BPMN designer saves through `save(xml, user, draft=…)` into the same table.
"""
from __future__ import annotations

import json
import logging

import peewee as pw
from peewee import fn

from plugin.db import BaseModel, ReferenceCache, database, now, write_transaction
from plugin.engine.definitions import MAX_XML_BYTES, NSMAP, DiagramError, parse_xml
from plugin.engine.models import ProcessDefinition
from plugin.engine.validate import Problem, Report, validate_xml
from plugin.i18n import _

log = logging.getLogger(__name__)

EXTENSIONS = (".bpmn", ".xml")
PUBLISH_ACTION = "process.publish"


class ProcessDraft(BaseModel):
    """A diagram being worked on: its XML as uploaded and the report of its last validation."""

    key = pw.CharField(max_length=100, default="", index=True, verbose_name="流程标识")
    name = pw.CharField(max_length=200, default="", verbose_name="流程名称")
    xml = pw.TextField(verbose_name="BPMN XML")
    filename = pw.CharField(max_length=200, default="", verbose_name="文件名")
    uploaded_by = pw.CharField(max_length=100, default="", verbose_name="上传人")
    uploaded_at = pw.DateTimeField(default=now, verbose_name="上传时间")
    updated_at = pw.DateTimeField(default=now, verbose_name="更新时间")
    report_json = pw.TextField(default="{}", verbose_name="最近一次校验报告")

    class Meta:
        table_name = "process_draft"

    @property
    def report(self) -> dict:
        return json.loads(self.report_json or "{}")

    @property
    def ok(self) -> bool:
        return bool(self.report.get("ok"))

    def __str__(self):
        return f"{self.name or self.key or self.filename} #{self.id}"


class UploadRefused(ValueError):
    """The file is not a diagram we keep; the message says why, in Chinese."""


def check_upload(filename: str, data: bytes, limit: int = MAX_XML_BYTES) -> str:
    """The text of an uploaded diagram file, or `UploadRefused` saying what is wrong with it."""
    name = (filename or "").strip()
    if not name:
        raise UploadRefused(_("请选择要上传的 BPMN 文件。"))
    if not name.lower().endswith(EXTENSIONS):
        raise UploadRefused(_("只接受 .bpmn 或 .xml 文件，“%(name)s”不是。", name=name))
    if not data or not data.strip():
        raise UploadRefused(_("文件“%(name)s”是空的。", name=name))
    if len(data) > limit:
        raise UploadRefused(_("文件过大（%(kb)s KB）：BPMN 文件不超过 %(max)s KB。",
                              kb=len(data) // 1024, max=limit // 1024))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadRefused(_("文件是 UTF-16 编码：请另存为 UTF-8 编码后再上传。"))
    if b"\x00" in data:
        raise UploadRefused(_("文件“%(name)s”是二进制文件，不是 BPMN（XML 文本）文件。", name=name))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UploadRefused(_("文件不是 UTF-8 编码的文本（第 %(pos)s 个字节起无法解码）：请另存为 UTF-8 编码的 BPMN 文件。",
                              pos=e.start + 1)) from None
    try:
        parse_xml(data)
    except DiagramError as e:
        raise UploadRefused(str(e)) from None
    return text


def _process_head(xml: str) -> tuple[str, str]:
    """(id, name) of the first process in a well-formed diagram, for naming the draft."""
    try:
        process = parse_xml(xml).find("bpmn:process", NSMAP)
    except DiagramError:
        return "", ""
    if process is None:
        return "", ""
    return (process.get("id") or "")[:100], (process.get("name") or "")[:200]


def _report_json(xml: str, filename: str | None) -> str:
    from plugin.credit.tiers import NoActiveScheme, active_scheme
    scheme = None
    try:
        scheme = active_scheme()
        report = validate_xml(xml, scheme=scheme, filename=filename or None)
    except NoActiveScheme as e:
        report = Report(errors=[Problem(None, str(e))])
    except Exception as e:  # a diagram must never take the page down: say what went wrong
        log.exception("validating a draft failed")
        report = Report(errors=[Problem(None, _("校验时出错：%(error)s", error=f"{type(e).__name__}: {e}"))])
    data = report.as_dict()
    data["scheme"] = {"code": scheme.code, "name": scheme.name} if scheme is not None else None
    data["validated_at"] = now().isoformat(timespec="seconds")
    data["error_ids"] = sorted({p.element_id for p in report.errors if p.element_id})
    return json.dumps(data, ensure_ascii=False)


def save(xml: str, user: str, filename: str = "", draft: ProcessDraft | None = None) -> ProcessDraft:
    """Store `xml` (already checked to be a well-formed diagram) as a new draft, or as the new
    content of `draft`, validated against the active tier scheme."""
    key, name = _process_head(xml)
    report = _report_json(xml, filename)
    data = json.loads(report)
    key = (data.get("process_id") or key)[:100]
    name = (data.get("name") or name)[:200]
    if draft is None:
        return ProcessDraft.create(key=key, name=name, xml=xml, filename=filename[:200],
                                   uploaded_by=user[:100], report_json=report)
    draft.key, draft.name, draft.xml, draft.report_json = key, name, xml, report
    draft.filename = (filename or draft.filename)[:200]
    draft.updated_at = now()
    draft.save()
    return draft


def upload(filename: str, data: bytes, user: str, limit: int = MAX_XML_BYTES) -> ProcessDraft:
    """Check an uploaded file and keep it as a draft; nothing is stored when it is refused."""
    return save(check_upload(filename, data, limit), user, filename=filename)


def revalidate(draft: ProcessDraft) -> ProcessDraft:
    draft.report_json = _report_json(draft.xml, draft.filename)
    draft.save(only=[ProcessDraft.report_json])
    return draft


def get(draft_id: int) -> ProcessDraft | None:
    return ProcessDraft.get_or_none(ProcessDraft.id == draft_id)


def listing(limit: int = 200) -> list[ProcessDraft]:
    """The newest drafts, without their XML."""
    return list(ProcessDraft.select(ProcessDraft.id, ProcessDraft.key, ProcessDraft.name, ProcessDraft.filename,
                                    ProcessDraft.uploaded_by, ProcessDraft.uploaded_at, ProcessDraft.updated_at,
                                    ProcessDraft.report_json)
                .order_by(ProcessDraft.updated_at.desc(), ProcessDraft.id.desc()).limit(limit))


def shipped_templates() -> list[dict]:
    """The BPMN templates shipped in `bpmn/`: key (file stem = process id), process name, path."""
    from plugin.engine.publish import templates_dir
    found = []
    for path in sorted(templates_dir().glob("*.bpmn")):
        _id, name = _process_head(path.read_text(encoding="utf-8"))
        found.append({"key": path.stem, "name": name, "path": path})
    return found


def shipped_template(key: str) -> dict | None:
    """One shipped template by key; only names that are listed (never a path from the request)."""
    return next((t for t in shipped_templates() if t["key"] == key), None)


def from_template(key: str, user: str) -> ProcessDraft | None:
    """A new draft holding a copy of a shipped template."""
    found = shipped_template(key)
    if found is None:
        return None
    return save(found["path"].read_text(encoding="utf-8"), user, filename=found["path"].name)


def publish_draft(draft: ProcessDraft, publisher: str, matter=None) -> tuple[ProcessDefinition, bool]:
    """Publish `draft` as the next version of its process (bound to `matter` if given) and audit it,
    in one transaction. Returns the version and whether it is new (False: the very same XML was
    published before and that version is reused). Raises `plugin.engine.publish.PublishRefused`
    when validation finds errors (the draft then keeps the fresh report)."""
    from plugin.applications.models import AuditEntry
    from plugin.credit.tiers import active_scheme
    from plugin.engine.publish import PublishRefused, publish
    report = validate_xml(draft.xml, scheme=active_scheme(), filename=draft.filename or None)
    if not report.ok:
        revalidate(draft)
        raise PublishRefused(report)
    with write_transaction():
        before = ProcessDefinition.select(fn.MAX(ProcessDefinition.id)).scalar() or 0
        definition = publish(draft.xml, source=draft.filename or f"draft:{draft.id}", publisher=publisher,
                             matter=matter, report=report)
        created = definition.id > before
        AuditEntry.create(actor=publisher[:100], action=PUBLISH_ACTION,
                          detail={"key": definition.key, "version": definition.version,
                                  "matter": matter.code if matter is not None else None,
                                  "checksum": definition.checksum, "draft": draft.id, "new_version": created})
    ReferenceCache.clear_all()  # again after commit: no other thread keeps the old binding cached
    return definition, created


def delete(draft: ProcessDraft) -> None:
    with database.atomic():
        draft.delete_instance()
