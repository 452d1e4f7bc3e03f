"""What changed between two versions of a diagram, element by element (no HTML here).

`diff_xml(old, new)` compares the executable process of two BPMN documents by element id and
returns a `DiagramDiff`: the elements added, removed and changed. For each element it compares what
the engine reads (DESIGN.md §3.6): the element's type and name, its lane, the elements it comes
from and goes to, a sequence flow's condition, a gateway's default flow, a user task's
`camunda:formData` fields, a script task's script, a timer's expression, a boundary event's host and
whether it interrupts, and the documentation. Layout is compared apart (`moved`): moving an element
changes no property, but SpiffWorkflow evaluates a gateway's conditions in the order of their
targets' y position, so a designer wants to see it.

Both documents go through `definitions.parse_xml` (no DTDs, no entities).
"""
from __future__ import annotations

import dataclasses

from plugin.engine.definitions import BPMN_NS, NSMAP, parse_xml

CAMUNDA_NS = NSMAP["camunda"]
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"

# Children that describe their parent rather than being elements of the process.
NOT_ELEMENTS = {"laneSet", "extensionElements", "documentation", "conditionExpression", "script",
                "incoming", "outgoing", "flowNodeRef", "timeDate", "timeDuration", "timeCycle",
                "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "ioSpecification",
                "dataInputAssociation", "dataOutputAssociation", "property"}
# The properties compared, in the order they are listed.
PROPERTIES = ("type", "name", "lane", "incoming", "outgoing", "source", "target", "condition", "default",
              "form", "script", "script_format", "timer", "attached_to", "interrupting", "documentation")


@dataclasses.dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    default: str
    constraints: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, str], ...]

    def text(self) -> str:
        out = f"{self.id}（{self.label or '—'}，{self.type or 'string'}"
        if self.default:
            out += f"，默认 {self.default}"
        if self.constraints:
            out += "，" + "、".join(f"{k}={v}" for k, v in self.constraints)
        if self.values:
            out += "，可选 " + "/".join(f"{k}:{v}" for k, v in self.values)
        return out + "）"


@dataclasses.dataclass
class Element:
    """What the engine reads of one element; every value is a string, a tuple or None."""
    id: str
    type: str
    name: str = ""
    props: dict = dataclasses.field(default_factory=dict)

    def label(self) -> str:
        return f"{self.name}（{self.id}）" if self.name else self.id


@dataclasses.dataclass
class Change:
    property: str
    before: object
    after: object


@dataclasses.dataclass
class ElementChange:
    id: str
    type: str
    name: str
    changes: list[Change]


@dataclasses.dataclass
class DiagramDiff:
    process_before: str | None
    process_after: str | None
    added: list[Element]
    removed: list[Element]
    changed: list[ElementChange]
    moved: list[str]

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        out = [f"+ {e.type} {e.label()}" for e in self.added]
        out += [f"- {e.type} {e.label()}" for e in self.removed]
        for c in self.changed:
            out.append(f"~ {c.type} {c.name + '（' + c.id + '）' if c.name else c.id}")
            out += [f"    {ch.property}: {display(ch.before)} → {display(ch.after)}" for ch in c.changes]
        return out


def display(value) -> str:
    """A property value as one line of text."""
    if value is None or value == "" or value == ():
        return "—"
    if isinstance(value, tuple):
        return "；".join(v.text() if isinstance(v, FormField) else str(v) for v in value)
    return str(value)


def _local(tag) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else ""


def _text(node) -> str:
    return (node.text or "").strip() if node is not None else ""


def _form(node) -> tuple:
    fields = []
    for f in node.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NSMAP):
        constraints = tuple(sorted((c.get("name") or "", c.get("config") or "")
                                   for c in f.iterfind("camunda:validation/camunda:constraint", NSMAP)))
        values = tuple((v.get("id") or "", v.get("name") or "") for v in f.iterfind("camunda:value", NSMAP))
        fields.append(FormField(f.get("id") or "", f.get("label") or "", f.get("type") or "",
                                f.get("defaultValue") or "", constraints, values))
    return tuple(fields)


def _timer(node) -> str | None:
    definition = node.find("bpmn:timerEventDefinition", NSMAP)
    if definition is None:
        return None
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        found = definition.find(f"bpmn:{tag}", NSMAP)
        if found is not None:
            return f"{tag}: {_text(found)}"
    return "timer"


def elements_of(root) -> tuple[str | None, dict[str, Element]]:
    """(process id, {element id: Element}) of the first executable process of a parsed document."""
    processes = [p for p in root.iterfind("bpmn:process", NSMAP)
                 if p.get("isExecutable", "true").lower() != "false"] or root.findall("bpmn:process", NSMAP)
    if not processes:
        return None, {}
    process = processes[0]
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP):
            lanes[_text(ref)] = lane.get("name") or lane.get("id")
    flows = [(f.get("id"), f.get("sourceRef"), f.get("targetRef"))
             for f in process.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for _id, source, target in flows:
        outgoing.setdefault(source, []).append(target)
        incoming.setdefault(target, []).append(source)

    found: dict[str, Element] = {}
    for node in process.iter(f"{{{BPMN_NS}}}*"):
        kind = _local(node.tag)
        element_id = node.get("id")
        if not element_id or kind in NOT_ELEMENTS or kind.endswith("EventDefinition"):
            continue
        props: dict = {"type": kind, "name": node.get("name") or ""}
        if node is process:
            pass
        elif kind == "sequenceFlow":
            props["source"] = node.get("sourceRef")
            props["target"] = node.get("targetRef")
            props["condition"] = _text(node.find("bpmn:conditionExpression", NSMAP)) or None
        elif kind != "lane":
            props["lane"] = lanes.get(element_id)
            props["incoming"] = tuple(sorted(incoming.get(element_id, ())))
            props["outgoing"] = tuple(sorted(outgoing.get(element_id, ())))
            props["default"] = node.get("default")
            props["form"] = _form(node)
            script = node.find("bpmn:script", NSMAP)
            props["script"] = (script.text or "").strip("\n") if script is not None else None
            props["script_format"] = node.get("scriptFormat") if kind == "scriptTask" else None
            props["timer"] = _timer(node)
            if kind == "boundaryEvent":
                props["attached_to"] = node.get("attachedToRef")
                props["interrupting"] = node.get("cancelActivity", "true")
        props["documentation"] = " ".join(_text(d) for d in node.iterfind("bpmn:documentation", NSMAP)) or None
        found[element_id] = Element(id=element_id, type=kind, name=props["name"], props=props)
    return process.get("id"), found


def _bounds(root) -> dict[str, tuple]:
    out = {}
    for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        b = shape.find(f"{{{DC_NS}}}Bounds")
        if b is not None:
            out[shape.get("bpmnElement")] = tuple(round(float(b.get(k, 0))) for k in ("x", "y", "width", "height"))
    return out


def diff_xml(old: str | bytes, new: str | bytes) -> DiagramDiff:
    """Elements added, removed and changed from `old` to `new` (raises DiagramError on bad XML)."""
    old_root, new_root = parse_xml(old), parse_xml(new)
    old_id, before = elements_of(old_root)
    new_id, after = elements_of(new_root)
    added = [after[i] for i in after if i not in before]
    removed = [before[i] for i in before if i not in after]
    changed = []
    for element_id, now in after.items():
        was = before.get(element_id)
        if was is None:
            continue
        changes = [Change(p, was.props.get(p), now.props.get(p)) for p in PROPERTIES
                   if (was.props.get(p) or None) != (now.props.get(p) or None)]
        if changes:
            changed.append(ElementChange(element_id, now.type, now.name or was.name, changes))
    old_bounds, new_bounds = _bounds(old_root), _bounds(new_root)
    moved = sorted(i for i in after if i in before and i in old_bounds and i in new_bounds
                   and old_bounds[i] != new_bounds[i])
    return DiagramDiff(old_id, new_id, added, removed, changed, moved)
