"""Process drafts (流程草稿): diagrams uploaded — or, later, saved by the BPMN designer — not yet published.

A draft keeps the XML exactly as it came (so a published version downloads byte for byte as it
was uploaded) and the report of its last validation against the active tier scheme, so a designer
can come back to it. Drafts are never run: publishing one goes through `plugin.engine.publish`,
which makes an immutable `ProcessDefinition` version.

`check_upload` refuses what is not a diagram file (wrong extension, empty, too large, binary,
not UTF-8, malformed XML, DTDs and entities, not BPMN) with a Chinese message, before anything
is stored. The BPMN designer saves through `save_designed(xml, user, draft=…, revision=…)` into the
same table, with the same checks; its `revision` (the checksum of the XML the designer started
from) makes a stale save (another tab, another designer) a `DraftConflict` instead of an overwrite.
"""
from __future__ import annotations

import json
import logging

import peewee as pw
from peewee import fn

from plugin.db import BaseModel, ReferenceCache, database, now, write_transaction
from plugin.engine.definitions import MAX_XML_BYTES, NSMAP, DiagramError, checksum, parse_xml
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
    updated_by = pw.CharField(max_length=100, default="", verbose_name="最后保存人")
    report_json = pw.TextField(default="{}", verbose_name="最近一次校验报告")

    class Meta:
        table_name = "process_draft"

    @property
    def report(self) -> dict:
        return json.loads(self.report_json or "{}")

    @property
    def ok(self) -> bool:
        return bool(self.report.get("ok"))

    @property
    def revision(self) -> str:
        """The checksum of the XML as stored: what a designer's save says it started from."""
        return revision_of(self.xml)

    def __str__(self):
        return f"{self.name or self.key or self.filename} #{self.id}"


class UploadRefused(ValueError):
    """The file is not a diagram we keep; the message says why, in Chinese."""


class DraftConflict(ValueError):
    """The draft changed since the designer opened it: saving would overwrite someone's work."""

    def __init__(self, draft: "ProcessDraft"):
        who = draft.updated_by or draft.uploaded_by or "?"
        at = draft.updated_at.strftime("%Y-%m-%d %H:%M:%S") if draft.updated_at else "?"
        super().__init__(_("草稿 #%(id)s 已在您打开之后被 %(who)s 于 %(at)s（UTC）保存过（可能是另一个标签页或另一位设计人员），"
                           "为免覆盖对方的修改，本次未保存。您的修改仍保留在本页：请先导出 .bpmn 文件备份，"
                           "再重新打开草稿合并修改，或另存为新草稿。", id=draft.id, who=who, at=at))
        self.draft = draft


def revision_of(xml: str) -> str:
    return checksum(xml)[:16]


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
                                   uploaded_by=user[:100], updated_by=user[:100], report_json=report)
    draft.key, draft.name, draft.xml, draft.report_json = key, name, xml, report
    draft.filename = (filename or draft.filename)[:200]
    draft.updated_at, draft.updated_by = now(), user[:100]
    draft.save()
    return draft


def save_designed(xml: str, user: str, draft: ProcessDraft | None = None, revision: str | None = None,
                  filename: str = "", limit: int = MAX_XML_BYTES) -> ProcessDraft:
    """Keep what the BPMN designer sends: the same checks as an upload (size, encoding, DTDs and
    entities, well-formed BPMN), then a new draft (``draft`` None) or the new content of ``draft``.

    ``revision`` is the `ProcessDraft.revision` the designer's page started from; when the draft has
    been saved since (another tab, another designer), `DraftConflict` is raised and nothing changes.
    The report is computed before the write transaction, so a slow dry run never holds the lock.
    """
    name = filename or (draft.filename if draft is not None else "") or "designer.bpmn"
    if not name.lower().endswith(EXTENSIONS):
        name += ".bpmn"
    text = check_upload(name, xml.encode("utf-8"), limit)
    if draft is not None and revision != draft.revision:
        raise DraftConflict(draft)
    key, title = _process_head(text)
    report = _report_json(text, name)
    data = json.loads(report)
    key = (data.get("process_id") or key)[:100]
    title = (data.get("name") or title)[:200]
    with write_transaction():
        if draft is None:
            return ProcessDraft.create(key=key, name=title, xml=text, filename=name[:200], uploaded_by=user[:100],
                                       updated_by=user[:100], report_json=report)
        current = ProcessDraft.get_or_none(ProcessDraft.id == draft.id)
        if current is None:
            raise UploadRefused(_("草稿 #%(id)s 已被删除，未保存。您的修改仍保留在本页，可以另存为新草稿。", id=draft.id))
        if current.revision != revision:
            raise DraftConflict(current)
        current.key, current.name, current.xml, current.report_json = key, title, text, report
        current.updated_at, current.updated_by = now(), user[:100]
        current.save()
        return current


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
                                    ProcessDraft.updated_by,
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


def blank_diagram(process_id: str | None = None, name: str = "新流程") -> str:
    """A new diagram to start from in the designer: one pool with the lanes of DESIGN.md §3.6
    (applicant, reviewer, approver) and a start event, with its diagram interchange."""
    import secrets
    process_id = process_id or f"Process_{secrets.token_hex(4)}"
    lanes = [("applicant", "申请人（applicant）"), ("reviewer", "审查人员（reviewer）"),
             ("approver", "审批负责人（approver）")]
    lane_xml = "".join(
        f'      <bpmn:lane id="Lane_{code}" name="{code}">\n'
        f'        <bpmn:documentation>{label}</bpmn:documentation>\n'
        + ('        <bpmn:flowNodeRef>StartEvent_Submit</bpmn:flowNodeRef>\n' if code == "applicant" else "")
        + '      </bpmn:lane>\n' for code, label in lanes)
    lane_di = "".join(
        f'      <bpmndi:BPMNShape id="Lane_{code}_di" bpmnElement="Lane_{code}" isHorizontal="true">\n'
        f'        <dc:Bounds x="190" y="{80 + 150 * i}" width="970" height="150" />\n'
        f'      </bpmndi:BPMNShape>\n' for i, (code, _label) in enumerate(lanes))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_{process_id}" targetNamespace="http://bpmn.io/schema/bpmn" exporter="xinyipi" exporterVersion="1" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.21.0">
  <bpmn:collaboration id="Collaboration_{process_id}">
    <bpmn:participant id="Participant_{process_id}" name="{name}" processRef="{process_id}" />
  </bpmn:collaboration>
  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">
    <bpmn:laneSet id="LaneSet_{process_id}">
{lane_xml}    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_Submit" name="提交申请" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_{process_id}">
    <bpmndi:BPMNPlane id="BPMNPlane_{process_id}" bpmnElement="Collaboration_{process_id}">
      <bpmndi:BPMNShape id="Participant_{process_id}_di" bpmnElement="Participant_{process_id}" isHorizontal="true">
        <dc:Bounds x="160" y="80" width="1000" height="450" />
      </bpmndi:BPMNShape>
{lane_di}      <bpmndi:BPMNShape id="StartEvent_Submit_di" bpmnElement="StartEvent_Submit">
        <dc:Bounds x="242" y="137" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="237" y="180" width="46" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
