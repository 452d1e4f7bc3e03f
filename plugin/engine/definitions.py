"""Parsing diagrams safely, and the spec cache.

`parse_xml` refuses DTDs and entities before SpiffWorkflow sees anything (no
XXE, no entity bombs). `parse_process` runs CamundaParser on the safe tree.
Specs are serialized once at publication and restored from a cache keyed by
checksum, so running a case never parses XML.
"""
from __future__ import annotations

import hashlib
import json
import threading

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from plugin.db import on_bind

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NSMAP = {"bpmn": BPMN_NS, "camunda": "http://camunda.org/schema/1.0/bpmn"}
MAX_XML_BYTES = 5 * 1024 * 1024


class DiagramError(ValueError):
    """The file is not a diagram we can run; the message says why (and where)."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(f"{element_id}: {message}" if element_id else message)
        self.element_id = element_id
        self.problem = message


def checksum(xml: str | bytes) -> str:
    data = xml.encode() if isinstance(xml, str) else xml
    return hashlib.sha256(data).hexdigest()


_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                               dtd_validation=False, huge_tree=False, remove_comments=True)


def parse_xml(xml: str | bytes):
    """The XML tree of a diagram, refusing DTDs, entities, and anything that is not BPMN."""
    data = xml.encode() if isinstance(xml, str) else xml
    if len(data) > MAX_XML_BYTES:
        raise DiagramError(f"文件过大（{len(data) // 1024} KB），BPMN 文件不超过 {MAX_XML_BYTES // 1024 // 1024} MB")
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise DiagramError("BPMN 文件不得包含 DTD 或实体声明（<!DOCTYPE>/<!ENTITY>），已拒绝")
    try:
        root = etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError as e:
        raise DiagramError(f"不是有效的 XML：第 {e.lineno} 行：{e.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise DiagramError("BPMN 文件不得包含 DTD，已拒绝")
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DiagramError("不是 BPMN 2.0 文件：根元素应为 bpmn:definitions")
    return root


def executable_process_ids(root) -> list[str]:
    ids = [p.get("id") for p in root.iterfind("bpmn:process", NSMAP)
           if p.get("isExecutable", "true").lower() != "false"]
    if not ids:
        raise DiagramError("文件中没有可执行的流程（bpmn:process isExecutable=\"true\"）")
    return ids


def parse_process(root, filename: str | None = None):
    """(process id, spec, subprocess specs) of the single executable process in `root`."""
    ids = executable_process_ids(root)
    if len(ids) > 1:
        raise DiagramError(f"一个文件只能有一个可执行流程，找到 {len(ids)} 个：{', '.join(ids)}")
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(root, filename)
        spec = parser.get_spec(ids[0])
        subprocesses = parser.get_subprocess_specs(ids[0])
    except ValidationException as e:
        raise DiagramError(_validation_message(e), getattr(e, "id", None)) from None
    except Exception as e:  # the parser has no single error type for every malformed input
        raise DiagramError(f"无法解析流程：{type(e).__name__}: {e}") from None
    return ids[0], spec, subprocesses


# SpiffWorkflow's parser messages a process designer is likely to meet, in Chinese.
SPIFF_MESSAGES = {
    "Non-default exclusive outgoing sequence flow without condition": "排他网关的非默认出口流缺少条件表达式",
    "No start event found": "流程没有开始事件",
    "Multiple outgoing flows are not supported for tasks of type": "此类任务不支持多条出口流（请改用网关）",
    "Invalid process": "流程无效",
}


def _validation_message(e: ValidationException) -> str:
    text = str(e).split("\n")[0].strip()
    for english, chinese in SPIFF_MESSAGES.items():
        if text.startswith(english):
            return f"{chinese}（{text}）"
    return f"流程校验失败：{text}"


# --- serialization ---------------------------------------------------------------------------

_registry = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
serializer = BpmnWorkflowSerializer(_registry)


def spec_to_json(spec, subprocesses) -> str:
    return json.dumps({"spec": _registry.convert(spec),
                       "subprocess_specs": {k: _registry.convert(v) for k, v in subprocesses.items()}},
                      ensure_ascii=False)


# Keys of a serialized spec whose values the engine evaluates, and how (eval or exec).
EXPRESSION_KEYS = {"condition": "eval", "expression": "eval", "cardinality": "eval",
                   "completion_condition": "eval", "script": "exec", "prescript": "exec", "postscript": "exec"}
MAX_TASK_SPECS = 2_000


def expression_problems(spec_json) -> list[tuple[str | None, str]]:
    """(element id, problem) for every expression of a serialized spec that is not in the diagram
    language. Run on every spec as it is published and again whenever a stored one is loaded,
    so a tampered `process_definition` row never runs."""
    from plugin.engine.scripting import UnsafeScript, check_source
    data = json.loads(spec_json) if isinstance(spec_json, str) else spec_json
    problems = []
    stack = [(data, None)]
    while stack:
        node, element = stack.pop()
        if isinstance(node, dict):
            element = node.get("bpmn_id") or element
            for key, value in node.items():
                mode = EXPRESSION_KEYS.get(key)
                if mode and isinstance(value, str) and value.strip():
                    try:
                        check_source(value if mode == "exec" else value.strip(), mode)
                    except SyntaxError as e:
                        problems.append((element, f"表达式不是合法的 Python：{e.msg}（{value[:200]!r}）"))
                    except UnsafeScript as e:
                        problems.append((element, f"表达式不安全，已拒绝：{e}（{value[:200]!r}）"))
                elif isinstance(value, (dict, list)):
                    stack.append((value, element))
        elif isinstance(node, list):
            stack.extend((item, element) for item in node)
    return problems


def spec_from_json(text: str):
    """The spec pair stored as `text`, refused (DiagramError) when any expression in it is not in
    the diagram language or it is larger than any diagram validation lets through."""
    data = json.loads(text)
    problems = expression_problems(data)
    if problems:
        element, message = problems[0]
        raise DiagramError(f"存储的流程未通过安全检查，拒绝运行：{message}", element)
    count = len(data["spec"].get("task_specs", {})) + sum(len(s.get("task_specs", {}))
                                                          for s in data["subprocess_specs"].values())
    if count > MAX_TASK_SPECS:
        raise DiagramError(f"存储的流程过大（{count} 个任务规格），拒绝运行")
    spec = _registry.restore(data["spec"])
    subprocesses = {k: _registry.restore(v) for k, v in data["subprocess_specs"].items()}
    return spec, subprocesses


class SpecCache:
    """Deserialized specs by checksum. Specs are read-only once built, so cases share them.

    A published version never changes, so its spec (and label) can be cached for good by id.
    """

    def __init__(self):
        self._specs: dict[str, tuple] = {}
        self._by_id: dict[int, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def for_id(self, definition_id: int) -> tuple:
        found = self._by_id.get(definition_id)
        if found is not None and found[0] in self._specs:
            return self._specs[found[0]]
        from plugin.engine.models import ProcessDefinition
        return self.get(ProcessDefinition.get_by_id(definition_id))

    def label(self, definition_id: int) -> str:
        if definition_id not in self._by_id:
            self.for_id(definition_id)
        return self._by_id[definition_id][1]

    def get(self, definition) -> tuple:
        found = self._specs.get(definition.checksum)
        if found is None:
            found = spec_from_json(definition.spec_json)
            with self._lock:
                self._specs[definition.checksum] = found
        self._by_id[definition.id] = (definition.checksum, f"{definition.key} v{definition.version}")
        return found

    def clear(self):
        with self._lock:
            self._specs.clear()
            self._by_id.clear()


specs = SpecCache()
on_bind(specs.clear)
