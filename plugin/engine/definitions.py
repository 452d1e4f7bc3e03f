"""Parsing diagrams safely, and the spec cache.

`parse_xml` refuses DTDs and entities before SpiffWorkflow sees anything (no
XXE, no entity bombs), and anything a browser could run (`refuse_active_content`:
foreign namespaces such as XHTML or SVG, event-handler attributes, `javascript:`
URIs). `parse_process` runs CamundaParser on the safe tree and puts its timers on
the business clock (`plugin.engine.spiff`).
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

from plugin import db
from plugin.engine import spiff
from plugin.i18n import _

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
    refuse_active_content(root)
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
        spiff.use_business_clock(spec, subprocesses)
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


# What a diagram may contain besides BPMN itself: the diagram interchange, and the extensions of
# Camunda (forms, scripts, candidate groups; the modeler's platform attributes), SpiffWorkflow and
# bpmn-js (colours). Anything else could be active in a browser (XHTML, SVG, MathML, XSLT,
# XInclude …) or is simply not ours to keep: refused, naming the element.
ELEMENT_NAMESPACES = frozenset({
    BPMN_NS,
    "http://www.omg.org/spec/BPMN/20100524/DI",          # bpmndi
    "http://www.omg.org/spec/DD/20100524/DC",            # dc
    "http://www.omg.org/spec/DD/20100524/DI",            # di
    NSMAP["camunda"],
    "http://spiffworkflow.org/bpmn/schema/1.0/core",     # spiffworkflow
})
ATTRIBUTE_NAMESPACES = ELEMENT_NAMESPACES | {
    "http://www.w3.org/2001/XMLSchema-instance",         # xsi:type of conditions
    "http://www.w3.org/XML/1998/namespace",              # xml:lang
    "http://camunda.org/schema/modeler/1.0",             # modeler:executionPlatform
    "http://bpmn.io/schema/bpmn/biocolor/1.0",           # bioc:stroke / bioc:fill
    "http://www.omg.org/spec/BPMN/non-normative/color/1.0",  # color:background-color
}
_ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:image/svg")


def _display_name(element) -> str:
    qname = etree.QName(element)
    tag = f"<{element.prefix + ':' if element.prefix else ''}{qname.localname}>"
    if qname.namespace:
        return _("%(tag)s（命名空间 %(ns)s）", tag=tag, ns=qname.namespace)
    return _("%(tag)s（无命名空间）", tag=tag)


def _where(element) -> str | None:
    """The id of the nearest element holding `element` that has one, for the message."""
    for node in (element, *element.iterancestors()):
        if node.get("id"):
            return node.get("id")
    return None


def refuse_active_content(root) -> None:
    """Refuse what a browser could run if the XML were ever rendered: elements of a namespace that is
    not BPMN's or one of its known extensions (an XHTML ``<script>``, an ``<svg onload=…>`` in
    ``extensionElements`` or ``documentation``), attributes of other namespaces, event-handler
    attributes (``on…``), ``javascript:`` (and similar) URIs, and processing instructions
    (``<?xml-stylesheet?>`` would apply XSLT). The message names the element and where it is."""
    for node in (*root.itersiblings(preceding=True), *root.iter(etree.PI)):
        if isinstance(node, etree._ProcessingInstruction):
            raise DiagramError(_("BPMN 文件不得包含处理指令 <?%(target)s …?>（浏览器可能据此执行样式表），已拒绝。",
                                 target=node.target))
    for element in root.iter(etree.Element):
        if etree.QName(element).namespace not in ELEMENT_NAMESPACES:
            raise DiagramError(_("BPMN 文件不得包含元素 %(element)s：只接受 BPMN、BPMNDI、DC、DI、Camunda 和 "
                                 "SpiffWorkflow 扩展的元素（XHTML、SVG 等可能被浏览器执行），已拒绝。",
                                 element=_display_name(element)), _where(element))
        for name, value in element.attrib.items():
            qname = etree.QName(name)
            if qname.namespace and qname.namespace not in ATTRIBUTE_NAMESPACES:
                raise DiagramError(_("BPMN 文件不得包含元素 %(element)s 的属性 %(attribute)s（命名空间 %(ns)s），已拒绝。",
                                     element=_display_name(element), attribute=qname.localname,
                                     ns=qname.namespace), _where(element))
            if qname.localname.lower().startswith("on"):
                raise DiagramError(_("BPMN 文件不得包含事件处理属性：元素 %(element)s 的属性 %(attribute)s，已拒绝。",
                                     element=_display_name(element), attribute=qname.localname), _where(element))
            squeezed = "".join(c for c in value if c.isprintable() and not c.isspace()).lower()
            if squeezed.startswith(_ACTIVE_SCHEMES):
                raise DiagramError(_("BPMN 文件不得包含可执行的链接：元素 %(element)s 的属性 %(attribute)s 以“%(scheme)s”开头，已拒绝。",
                                     element=_display_name(element), attribute=qname.localname,
                                     scheme=squeezed.split(":")[0] + ":"), _where(element))


# --- serialization ---------------------------------------------------------------------------

_registry = spiff.spec_registry()       # Camunda's, with timers on the business clock
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


class _CurrentSpecs:
    """`specs`: the spec cache of the current database binding (`plugin.db.current_binding`; the
    extension of each app holds its own, ``app.extensions["xinyipi"].specs``): a definition id means
    something in one database only."""

    _unbound = SpecCache()

    @staticmethod
    def cache() -> SpecCache:
        binding = db.current_binding()
        return binding.cache("specs", SpecCache) if binding is not None else _CurrentSpecs._unbound

    def for_id(self, definition_id: int) -> tuple:
        return self.cache().for_id(definition_id)

    def label(self, definition_id: int) -> str:
        return self.cache().label(definition_id)

    def get(self, definition) -> tuple:
        return self.cache().get(definition)

    def clear(self) -> None:
        self.cache().clear()


specs = _CurrentSpecs()
