"""The case services, one name to import them by (CLI, portal, admin, API, tests).

The services themselves live in the modules that say what they do, in the spirit of
spiff-arena's `services/`; this facade only re-exports their public names, so that
`service.apply`, `service.Actor`, `service.tick`, `service.ApplicationError`, … keep working:

| module | what it does |
| --- | --- |
| `errors` | the refusals a person can read (`ApplicationError` and its kinds) |
| `admission` | what is checked before a case may be opened: code, matter, credit, identity |
| `lifecycle` | a case opened (`apply`), moved by its workflow's outcome, revoked (`revoke`) |
| `drafts` | the applicant's draft and its materials, up to `submit_draft` |
| `tasks` | human tasks: completing them (staff and applicant), claims |
| `timers` | `tick`: firing the due timers |
| `guide` | the matter guide and its search |
| `casefile` | read models for pages: the case file of one case, an applicant's cases, a case's record |
| `events` | the domain events a case emits (documented there) |
| `vocabulary` | the words: path labels, audit action labels |

Every write goes through `plugin.work.unit_of_work` (one transaction, the actor, the business
clock, the audit rows and the events); `Actor` is `plugin.work.Actor`.
"""
from __future__ import annotations

from plugin.applications.casefile import (CaseFile, case_file, cases_of, opinions,
                                          supplement_deadline, timeline)
from plugin.applications.drafts import (attach_draft_file, discard_draft, draft_fields, draft_form,
                                        draft_requirements, remove_draft_file, save_draft, start_draft,
                                        submit_draft, validate_draft)
from plugin.applications.errors import (ApplicationError, Claimed, Closed, CommitmentChanged,
                                        Conflict, NotAllowed, NotFound, Unverified)
from plugin.applications.guide import Guide, matter_guide, published_matters, repair_matter
from plugin.applications.lifecycle import (SUPPLEMENT_BREACH, apply, get, get_for_applicant,
                                           load_workflow, recorded_as, revoke)
from plugin.applications.models import AuditEntry
from plugin.applications.tasks import (SIGNING_KINDS, claim_task, complete_applicant_task,
                                       complete_supplement, complete_task, pending_commitment, ready_tasks,
                                       release_task)
from plugin.applications.timers import TickReport, tick
from plugin.applications.vocabulary import PATH_DESCRIPTIONS as PATH_LABELS
from plugin.db import PreparedInsert, now
from plugin.work import Actor

__all__ = [
    "Actor", "ApplicationError", "CaseFile", "Claimed", "Closed", "CommitmentChanged", "Conflict", "Guide",
    "NotAllowed", "NotFound", "PATH_LABELS", "SIGNING_KINDS", "SUPPLEMENT_BREACH", "TickReport", "Unverified",
    "apply", "attach_draft_file", "case_file", "cases_of", "claim_task", "complete_applicant_task",
    "complete_supplement", "complete_task", "discard_draft", "draft_fields", "draft_form", "draft_requirements",
    "get", "get_for_applicant", "load_workflow", "matter_guide", "opinions", "pending_commitment",
    "published_matters", "ready_tasks", "recorded_as", "release_task", "remove_draft_file", "repair_matter",
    "revoke", "save_draft", "start_draft", "submit_draft", "supplement_deadline", "tick", "timeline",
    "validate_draft",
]


# ---------------------------------------------------------------------------------------------
# For plugin.supervision until it moves onto the unit of work (issue #13): an audit row of a case
# as a dict, and rows written at once in the caller's transaction. New code uses the unit.
# ---------------------------------------------------------------------------------------------
def _audit(app, actor, action, from_status=None, to_status=None, **detail) -> dict:
    return {"application": app.id, "subject": app.subject_id, "actor": recorded_as(actor), "action": action,
            "from_status": from_status, "to_status": to_status, "tier_code": app.tier_code,
            "detail": detail, "at": now()}


_insert_audit = PreparedInsert(AuditEntry, ["application", "subject", "actor", "action", "from_status",
                                             "to_status", "tier_code", "detail", "at"])


def _write_audit(rows: list[dict]) -> None:
    _insert_audit.execute(rows)
