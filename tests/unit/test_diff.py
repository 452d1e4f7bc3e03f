"""`plugin.engine.diff`: two versions of real diagrams compared by element id."""
from __future__ import annotations

from pathlib import Path

import pytest

from plugin.engine.definitions import DiagramError
from plugin.engine.diff import diff_xml

ROOT = Path(__file__).resolve().parents[2]
STANDARD = (ROOT / "bpmn" / "standard_review.bpmn").read_text(encoding="utf-8")
TOLERANCE = (ROOT / "bpmn" / "tolerance.bpmn").read_text(encoding="utf-8")


def changes_of(diff, element_id):
    found = next(c for c in diff.changed if c.id == element_id)
    return {ch.property: (ch.before, ch.after) for ch in found.changes}


def test_the_same_diagram_has_no_differences():
    diff = diff_xml(STANDARD, STANDARD)
    assert diff.same and diff.added == diff.removed == diff.changed == [] and diff.moved == []


def test_condition_name_default_and_script_changes_are_named():
    new = (STANDARD.replace('acceptance == "accepted"', 'acceptance == "accepted" and tier != "black"')
           .replace('name="受理" sourceRef', 'name="予以受理" sourceRef')
           .replace('default="Flow_Gateway_Decide_Script_Rejected"', 'default="Flow_Gateway_Decide_Script_Approved"')
           .replace('decision = "returned"', 'decision = "returned"\nreason = "材料不全"'))
    diff = diff_xml(STANDARD, new)
    assert diff.added == [] and diff.removed == []
    assert changes_of(diff, "Flow_Gateway_Accept_Task_Review") == {
        "name": ("受理", "予以受理"),
        "condition": ('acceptance == "accepted"', 'acceptance == "accepted" and tier != "black"')}
    assert changes_of(diff, "Gateway_Decide") == {
        "default": ("Flow_Gateway_Decide_Script_Rejected", "Flow_Gateway_Decide_Script_Approved")}
    before, after = changes_of(diff, "Script_Returned")["script"]
    assert after == before + '\nreason = "材料不全"'


def test_form_fields_and_lanes():
    new = STANDARD.replace('<camunda:constraint name="maxlength" config="500" />',
                           '<camunda:constraint name="maxlength" config="800" />', 1)
    # move the review task to the approver lane
    new = new.replace("<bpmn:flowNodeRef>Task_Review</bpmn:flowNodeRef>", "", 1)
    new = new.replace('<bpmn:lane id="Lane_approver" name="approver">',
                      '<bpmn:lane id="Lane_approver" name="approver">\n<bpmn:flowNodeRef>Task_Review</bpmn:flowNodeRef>', 1)
    diff = diff_xml(STANDARD, new)
    changed = {c.id for c in diff.changed}
    accept = changes_of(diff, "Task_Accept")["form"]
    assert [f.constraints for f in accept[0] if f.id == "opinion"] == [(("maxlength", "500"), ("required", "true"))]
    assert [f.constraints for f in accept[1] if f.id == "opinion"] == [(("maxlength", "800"), ("required", "true"))]
    assert changes_of(diff, "Task_Review")["lane"] == ("reviewer", "approver")
    assert changed == {"Task_Accept", "Task_Review"}


def test_added_and_removed_elements_with_their_flows():
    # insert a user task between the path script and the acceptance
    new = STANDARD.replace(
        '<bpmn:sequenceFlow id="Flow_Script_PathStandard_Task_Accept" sourceRef="Script_PathStandard" targetRef="Task_Accept" />',
        '<bpmn:sequenceFlow id="Flow_In" sourceRef="Script_PathStandard" targetRef="Task_Note" />'
        '<bpmn:userTask id="Task_Note" name="补充说明"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="note" label="说明" type="string" /></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:sequenceFlow id="Flow_Out" sourceRef="Task_Note" targetRef="Task_Accept" />')
    diff = diff_xml(STANDARD, new)
    assert {e.id for e in diff.added} == {"Flow_In", "Task_Note", "Flow_Out"}
    assert [e.id for e in diff.removed] == ["Flow_Script_PathStandard_Task_Accept"]
    note = next(e for e in diff.added if e.id == "Task_Note")
    assert note.type == "userTask" and [f.id for f in note.props["form"]] == ["note"]
    assert changes_of(diff, "Script_PathStandard") == {"outgoing": (("Task_Accept",), ("Task_Note",))}
    assert changes_of(diff, "Task_Accept") == {"incoming": (("Script_PathStandard",), ("Task_Note",))}
    assert "+ userTask 补充说明（Task_Note）" in diff.lines()


def test_timer_and_moves():
    new = TOLERANCE.replace('working_days(matter["supplement_days"])', "working_days(10)")
    import re
    shape = re.search(r'<bpmndi:BPMNShape id="[^"]*" bpmnElement="Task_Supplement"[^>]*>\s*<dc:Bounds x="(\d+)"', new)
    new = new[:shape.start(1)] + str(int(shape.group(1)) + 40) + new[shape.end(1):]
    diff = diff_xml(TOLERANCE, new)
    timer = next(c for c in diff.changed if any(ch.property == "timer" for ch in c.changes))
    assert {ch.property: (ch.before, ch.after) for ch in timer.changes}["timer"] == (
        'timeDate: working_days(matter["supplement_days"])', "timeDate: working_days(10)")
    assert diff.moved == ["Task_Supplement"]
    assert len(diff.changed) == 1


def test_unsafe_documents_are_refused():
    with pytest.raises(DiagramError):
        diff_xml(STANDARD, '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><a>&x;</a>')
