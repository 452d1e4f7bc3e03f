"""Small helpers for tests that drive cases through the real service."""
from __future__ import annotations

import random

from plugin.accounts import StaffUser
from plugin.applications import service
from plugin.catalog.models import Matter
from plugin.catalog.negative_list import is_on_negative_list
from plugin.credit.codes import make_credit_code
from plugin.credit.models import DishonestyRecord, Subject, Tier, TierScheme
from plugin.engine.definitions import checksum, parse_process, parse_xml, spec_to_json
from plugin.engine.models import ProcessDefinition
from seeds.loader import demo_subjects

STAFF_FOR_LANE = {"reviewer": "reviewer", "approver": "approver", "supervisor": "supervisor"}


def demo_code(tier: str, severity=None) -> str:
    """The code of the first named demo subject of a Haikou tier (and record severity)."""
    for code, _name, _kind, scheme, t, sev in demo_subjects():
        if scheme == "haikou" and t == tier and sev == severity:
            return code
    raise LookupError(tier)


def new_subject(tier_code: str, scheme: str = "haikou", seed: int = 1, name: str = "测试主体有限公司") -> Subject:
    tier = Tier.select().join(TierScheme).where((TierScheme.code == scheme) & (Tier.code == tier_code)).get()
    code = make_credit_code(random.Random(f"{scheme}{tier_code}{seed}"))
    return Subject.create(code=code, name=f"{name}{seed}", kind="organisation", tier=tier, source="测试")


def add_record(subject: Subject, severity: str, reason="测试失信记录"):
    import datetime as _dt
    return DishonestyRecord.create(subject=subject, severity=severity, reason=reason, authority="测试机关",
                                   start=_dt.date(2025, 1, 1), end=None,
                                   fingerprint=f"{subject.code}{severity}{reason}")


def matter_with(process_key: str, negative: bool | None = None) -> Matter:
    query = (Matter.select().join(ProcessDefinition, on=(Matter.process == ProcessDefinition.id))
             .where(ProcessDefinition.key == process_key).order_by(Matter.code))
    for matter in query:
        if negative is None or is_on_negative_list(matter) == negative:
            return matter
    raise LookupError(process_key)


def actor_for(app, lane: str) -> service.Actor:
    if lane == "applicant":
        return service.Actor.applicant(app.subject.code)
    user = StaffUser.get(StaffUser.username == STAFF_FOR_LANE[lane])
    return service.Actor.staff(user.username, user.role)


def values_for(task: dict, choice: str | None = None) -> dict:
    values = {}
    for field in task["fields"]:
        if field["type"] == "enum":
            ids = [o["id"] for o in field["options"]]
            values[field["id"]] = choice if choice in ids else next(
                (k for k in ("accepted", "approved") if k in ids), ids[0])
        elif field["type"] == "boolean":
            values[field["id"]] = True
        elif field["type"] == "long":
            values[field["id"]] = 1
        elif field["type"] == "date":
            values[field["id"]] = "2026-12-01"
        else:
            values[field["id"]] = "材料齐全，符合条件"
    return values


def work_through(app, choices: dict[str, str] | None = None, max_steps: int = 20):
    """Complete every ready task with approving values (or `choices[task name]`); return the case and
    the names of the tasks done."""
    done = []
    for _ in range(max_steps):
        app = service.get(app.number)
        tasks = service.ready_tasks(app)
        if not tasks:
            return app, done
        task = tasks[0]
        choice = (choices or {}).get(task["name"])
        service.complete_task(app.number, task["id"], values_for(task, choice), actor_for(app, task["lane"]))
        done.append(task["name"])
    raise AssertionError(f"still tasks after {max_steps} steps: {done}")


PASSWORD = "test-password-1"


def sign_in(client, username: str = "admin", role: str = "sysadmin", password: str = PASSWORD):
    """Sign a test client in as a staff member (created with `role` when missing); return the user."""
    import re
    user = StaffUser.get_or_none(StaffUser.username == username)
    if user is None:
        user = StaffUser(username=username, name=f"测试{username}", role=role, department="测试")
        user.set_password(password)
        user.save()
    elif password == PASSWORD and not user.check_password(password):
        user.set_password(password)
        user.save()
    page = client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    r = client.post("/admin/login", data={"username": username, "password": password,
                                          "csrf_token": token.group(1) if token else ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return user


def csrf_of(client, url: str) -> str:
    """The CSRF token a page of ours renders (for POSTs made the way a browser makes them)."""
    import re
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def bound_account(code: str, password: str = "portal-pass-1"):
    """The portal account of a subject (made through the real registration when missing). A subject of
    the credit library is bound the way a staff review binds it (registration makes a binding
    request; a staff member approves it), so the account is verified."""
    from plugin.identity import binding
    from plugin.portal import identity
    from plugin.portal.models import ApplicantAccount
    found = ApplicantAccount.get_or_none(ApplicantAccount.code == code)
    if found is not None:
        return found
    subject = Subject.get(Subject.code == code)
    done = identity.register(code, subject.name, password, password)
    if done.account is not None:
        return done.account
    if done.request.status == "code_sent":
        binding.to_review(done.request)
    return binding.approve(done.request.id, "staff:test-reviewer")


def diagram(body: str, lane_nodes: str = "", process_id: str = "probe") -> str:
    """A minimal process around `body`, with one reviewer lane holding `lane_nodes`."""
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in lane_nodes.split())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="Defs" targetNamespace="http://xinyipi.test">
  <bpmn:process id="{process_id}" name="测试流程" isExecutable="true">
    <bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_R" name="reviewer">{refs}</bpmn:lane></bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>"""


def script_diagram(script: str, process_id: str = "probe") -> str:
    """start → script task `Script_Evil` (the attack) → a script that decides → end."""
    from xml.sax.saxutils import escape
    return diagram(f"""
    <bpmn:startEvent id="Start_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Script_Evil"/>
    <bpmn:scriptTask id="Script_Evil" scriptFormat="python"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Script_Evil" targetRef="Script_Decide"/>
    <bpmn:scriptTask id="Script_Decide" scriptFormat="python"><bpmn:script>decision = "approved"
path = "instant"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Script_Decide" targetRef="End_1"/>
    <bpmn:endEvent id="End_1" name="结束"/>""", process_id=process_id)


def store_unchecked(xml: str, key: str = "tampered") -> ProcessDefinition:
    """Put a diagram into storage the way a tampered database would: no validation at all."""
    _, spec, subs = parse_process(parse_xml(xml))
    return ProcessDefinition.create(key=key, version=99, name="tampered", xml=xml, checksum=checksum(xml),
                                    spec_json=spec_to_json(spec, subs), tier_paths_json="{}")
