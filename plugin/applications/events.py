"""The domain events of a case, all in this one place.

Each is written to the outbox (`domain_event`) by the unit of work that changes the case, in its
transaction, and handed to in-process subscribers (`plugin.work.subscribe`) only after it commits.
Every event carries the case number (`case_number`) and the applicant's code (`subject_code`)
in their own columns; the payload (JSON) holds the rest:

| event | when | payload |
| --- | --- | --- |
| `case.submitted` | an application is submitted (`apply`, `submit_draft`): accepted, or refused by the negative list | `matter`, `tier`, `status` (`accepted` or `refused`), `reason` (refused only) |
| `case.decided` | a case reaches its decision: `approved`, `rejected` or `returned` (at submission for an instant approval, on a completed task, or when a timer fires) | `matter`, `decision`, `status`, `path`, `tier` |
| `case.revoked` | an approved case is revoked for a breach: a supplement not made in time (timer), a failed verification or inspection (`revoke`) | `matter`, `cause` (`supplement`, `verification`, `inspection`), `reason`, `path`, `tier` |

`tier` is the tier code snapshotted on the case at submission; `path` the handling path the
diagram set (`plugin.applications.vocabulary.PATHS`); `matter` the matter's code.
"""
from __future__ import annotations

SUBMITTED = "case.submitted"
DECIDED = "case.decided"
REVOKED = "case.revoked"


def submitted(trail, reason: str | None = None) -> None:
    app = trail.app
    payload = {"matter": trail.matter_code, "tier": app.tier_code, "status": app.status}
    if reason is not None:
        payload["reason"] = reason
    trail.emit(SUBMITTED, **payload)


def decided(trail) -> None:
    app = trail.app
    trail.emit(DECIDED, matter=trail.matter_code, decision=app.decision, status=app.status, path=app.path,
               tier=app.tier_code)


def revoked(trail, cause: str, reason: str) -> None:
    app = trail.app
    trail.emit(REVOKED, matter=trail.matter_code, cause=cause, reason=reason, path=app.path, tier=app.tier_code)
