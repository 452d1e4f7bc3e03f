"""Publishing diagrams: a new `ProcessDefinition` version, optionally bound to a matter."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from plugin.db import ReferenceCache, database
from plugin.engine.definitions import checksum, spec_to_json
from plugin.engine.models import ProcessDefinition
from plugin.engine.validate import Report, validate_xml


def templates_dir() -> Path:
    """`bpmn/` of the source tree, or where the wheel installed it."""
    here = Path(__file__).resolve().parents[2] / "bpmn"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "xinyipi" / "bpmn"


def template_path(key: str) -> Path:
    path = templates_dir() / f"{key}.bpmn"
    if not path.is_file():
        raise FileNotFoundError(f"没有名为 {key} 的流程模板（{templates_dir()}）")
    return path


class PublishRefused(ValueError):
    def __init__(self, report: Report):
        super().__init__("流程校验未通过，未发布：\n" + "\n".join(str(p) for p in report.errors))
        self.report = report


def publish(xml: str, source: str = "", publisher: str = "", matter=None,
            report: Report | None = None) -> ProcessDefinition:
    """Validate and store `xml` as the next version of its process; bind it to `matter` if given.

    Publishing the very same XML again returns the version already stored (and still binds it).
    Cases already running keep the version they started with.
    """
    from plugin.credit.tiers import active_scheme
    scheme = active_scheme()
    report = report or validate_xml(xml, scheme=scheme, filename=source or None)
    if not report.ok:
        raise PublishRefused(report)
    digest = checksum(xml)
    with database.atomic():
        definition = (ProcessDefinition.select()
                      .where((ProcessDefinition.key == report.process_id)
                             & (ProcessDefinition.checksum == digest))
                      .order_by(ProcessDefinition.version.desc()).first())
        if definition is None:
            latest = (ProcessDefinition.select(ProcessDefinition.version)
                      .where(ProcessDefinition.key == report.process_id)
                      .order_by(ProcessDefinition.version.desc()).first())
            definition = ProcessDefinition.create(
                key=report.process_id, version=(latest.version + 1) if latest else 1,
                name=report.name, xml=xml, checksum=digest,
                spec_json=spec_to_json(*report.spec_pair),
                tier_paths_json=json.dumps(report.tier_paths(), ensure_ascii=False),
                scheme_code=scheme.code, source=source, published_by=publisher)
        if matter is not None:
            matter.process = definition
            matter.save()
    ReferenceCache.clear_all()
    return definition


def publish_template(key: str, publisher: str = "seed") -> ProcessDefinition:
    path = template_path(key)
    return publish(path.read_text(encoding="utf-8"), source=f"template:{key}", publisher=publisher)
