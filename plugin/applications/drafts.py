"""The applicant's draft (申请草稿) and its materials, up to submission: a draft keeps what the
applicant typed and uploaded on the server until it is submitted; submission checks credit and the
negative list again (逢报必查), requires the uploads the tier's path asks for, starts the process
and freezes the material list onto the case, in one unit of work.
"""
from __future__ import annotations

from plugin import clock
from plugin.applications import admission, lifecycle
from plugin.applications import materials as _materials
from plugin.applications.errors import Closed, Conflict
from plugin.applications.lifecycle import Trail, record, recorded_as
from plugin.applications.models import DRAFT, Application, AuditEntry
from plugin.calendar import add_working_days
from plugin.catalog.negative_list import closure_for
from plugin.credit.tiers import active_scheme_info
from plugin.db import now
from plugin.engine import forms, runtime
from plugin.work import Actor, unit_of_work

_DRAFT_FORM = None


def draft_form():
    """The application form every draft has (申请信息), as a camunda form so that the same
    validation as the diagrams' forms applies."""
    global _DRAFT_FORM
    if _DRAFT_FORM is None:
        _DRAFT_FORM = forms.form_holder("draft", [
            {"id": "contact_name", "label": "经办人姓名", "required": True, "minlength": 2, "maxlength": 50},
            {"id": "contact_phone", "label": "联系电话", "required": True, "minlength": 7, "maxlength": 20},
            {"id": "description", "label": "申请说明", "required": False, "maxlength": 500},
        ])
    return _DRAFT_FORM


def draft_fields() -> list[dict]:
    return forms.describe(draft_form())


def validate_draft(values: dict) -> dict:
    """The draft's values checked like a task form (FormErrors with one message per field)."""
    known = {f["id"] for f in draft_fields()}
    values = {k: v for k, v in (values or {}).items() if k in known}
    errors = {}
    try:
        clean = forms.validate(draft_form(), values)
    except forms.FormErrors as e:
        errors, clean = dict(e.errors), {}
    phone = str(values.get("contact_phone") or "").strip()
    if "contact_phone" not in errors and phone and not all(c.isdigit() or c in "-+ " for c in phone):
        errors["contact_phone"] = "“联系电话”只能包含数字、“-”、“+”和空格"
    if errors:
        raise forms.FormErrors(errors)
    return clean


def _own_draft(number: str, actor: Actor) -> Application:
    app = lifecycle.get_for_applicant(number, actor.id)
    if app.status != DRAFT:
        raise Conflict(f"办件 {app.number} 已提交（{app.status_label}），不能再修改")
    return app


def start_draft(matter_code: str, applicant_code: str) -> Application:
    """Open (or resume) the applicant's draft of an application for a matter. A matter closed to
    them by the negative list raises `Closed` and nothing is stored."""
    code = admission.valid_code(applicant_code)
    facts = admission.open_facts(matter_code)
    today = clock.today()
    subject, tier = admission.credit(code, today)
    closure = closure_for(facts, tier, today)
    if closure is not None:
        raise Closed(closure)
    existing = (Application.select().where((Application.subject == subject.id) & (Application.matter == facts.id)
                                           & (Application.status == DRAFT)).first())
    if existing is not None:
        return existing
    scheme = active_scheme_info()
    app = Application(number=lifecycle.new_number(), matter=facts.id, subject=subject, process=facts.process_id,
                      status=DRAFT, tier_code=tier.code, tier_snapshot=tier.snapshot(), form_data={},
                      promised_days=facts.promised_days_for(scheme.tier(tier.code).id), submitted_at=now())
    actor = Actor.applicant(code)
    with unit_of_work(actor, "case.draft") as unit:
        lifecycle.insert(app)
        record(unit, app, actor, "draft_created", None, DRAFT)
    return app


def save_draft(number: str, values: dict, actor: Actor) -> Application:
    """Keep what the applicant typed, as typed (checked only on submission: nothing is lost)."""
    app = _own_draft(number, actor)
    known = {f["id"] for f in draft_fields()}
    data = {k: str(v)[:2000] for k, v in (values or {}).items() if k in known}
    with unit_of_work(actor, "case.draft"):
        (Application.update(form_data=data, updated_at=now())
         .where((Application.id == app.id) & (Application.status == DRAFT)).execute())
    app.form_data = data
    return app


def draft_requirements(app: Application) -> list:
    """The materials of a draft for the applicant's effective tier now."""
    from plugin.catalog.requirements import requirements_for
    from plugin.engine.paths import expected_path
    _subject, tier = admission.credit(app.subject.code, clock.today())
    return requirements_for(app.matter, tier, path=expected_path(app.matter, tier))


def attach_draft_file(number: str, material_code: str, stored, actor: Actor, dispositions=None):
    """Attach a stored file to a material of the applicant's draft."""
    from plugin.catalog.requirements import ELICENCE, WAIVED
    app = _own_draft(number, actor)
    found = next((d for d in dispositions or draft_requirements(app) if d.material_code == material_code), None)
    if found is None:
        raise _materials.MaterialError({material_code: "本事项不需要这项材料"})
    if found.disposition in (WAIVED, ELICENCE):
        raise _materials.MaterialError({material_code: f"“{found.material_name}”{found.label}，无需上传"})
    with unit_of_work(actor, "case.draft"):
        return _materials.attach(app, found, stored)


def remove_draft_file(number: str, material_code: str, actor: Actor) -> None:
    app = _own_draft(number, actor)
    with unit_of_work(actor, "case.draft"):
        (_materials.CaseMaterial.delete().where((_materials.CaseMaterial.application == app)
                                                & (_materials.CaseMaterial.material_code == material_code)).execute())


def discard_draft(number: str, actor: Actor) -> None:
    """Delete a draft that was never submitted (its audit rows stay, pointing at no case)."""
    app = _own_draft(number, actor)
    with unit_of_work(actor, "case.draft") as unit:
        _materials.CaseMaterial.delete().where(_materials.CaseMaterial.application == app).execute()
        AuditEntry.update(application=None).where(AuditEntry.application == app.id).execute()
        # the unit writes its rows last, after the draft is gone: this one points at no case already
        unit.audit("draft_discarded", application=None, subject=app.subject_id, from_status=DRAFT,
                   tier_code=app.tier_code, by=recorded_as(actor), number=app.number)
        Application.delete().where((Application.id == app.id) & (Application.status == DRAFT)).execute()


def submit_draft(number: str, actor: Actor) -> Application:
    """Submit the applicant's draft: the credit check again (逢报必查), the negative list, the
    materials the tier's path requires, then the matter's process; the materials are frozen onto
    the case in the same unit. A refusal by the negative list is recorded on the case."""
    from plugin.catalog.requirements import requirements_for
    app = _own_draft(number, actor)
    version = app.version
    clean = validate_draft(app.form_data)
    today = clock.today()
    code = app.subject.code
    facts = admission.open_facts(app.matter.code)
    subject, tier = admission.credit(code, today)
    scheme = active_scheme_info()
    snapshot = tier.snapshot()
    app.tier_code, app.tier_snapshot, app.form_data = tier.code, snapshot, clean
    app.process = facts.process_id
    app.promised_days = facts.promised_days_for(scheme.tier(tier.code).id)
    app.submitted_at = now()
    fields = [Application.status, Application.tier_code, Application.tier_snapshot, Application.form_data,
              Application.process, Application.promised_days, Application.submitted_at, Application.refusal_reason,
              Application.decided_at, Application.state, Application.path, Application.decision,
              Application.next_due_at, Application.due_date, Application.updated_at]
    trail = Trail(app, matter_code=facts.code, subject_code=code)

    def write(freeze=None, workflow=None):
        with unit_of_work(actor, "case.submit") as unit:
            app.updated_at = now()
            updated = (Application.update({f: app.__data__.get(f.name) for f in fields}
                                          | {Application.version: version + 1})
                       .where((Application.id == app.id) & (Application.status == DRAFT)
                              & (Application.version == version)).execute())
            if updated != 1:
                raise Conflict(f"办件 {app.number} 已被提交或修改，本次提交未保存，请刷新后查看")
            app.version = version + 1
            if freeze is not None:
                _materials.freeze(app, freeze)
            trail.write(unit)
            if workflow is not None:
                lifecycle.sync_tasks(app, workflow, new_case=True)

    closure = closure_for(facts, tier, today)
    if closure is not None:
        lifecycle.refuse(app, actor, closure, DRAFT, trail)
        write()
        return app

    workflow = lifecycle.started_workflow(facts, subject, tier, snapshot, today)
    path = lifecycle.outcome(workflow)[1]
    admission.check_identity(subject, path)
    dispositions = requirements_for(app.matter, tier, path=path) if path else requirements_for(app.matter, tier)
    missing = _materials.missing_uploads(dispositions, _materials.uploaded(app))
    if missing:
        raise _materials.MaterialError(missing)
    app.due_date = add_working_days(today, app.promised_days)
    app.state = runtime.dump_state(workflow)
    lifecycle.accept(app, workflow, actor, DRAFT, facts, trail)
    write(freeze=dispositions, workflow=workflow)
    return app
