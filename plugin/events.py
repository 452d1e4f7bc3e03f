"""The domain events a unit of work writes to its outbox (`plugin.work`), in one list.

Each event is a short name and a JSON payload; `subject_code` / `case_number` are set on the
outbox row when the event concerns one subject or one case. Subscribers (`plugin.work.subscribe`)
get them after commit; webhooks and the credit platform will read the outbox. Payloads carry
ids and codes, never whole rows: a reader that needs more reads the current state.

Every name a service emits is listed here (tests/unit/test_structure.py checks it).
"""
from __future__ import annotations

EVENTS: dict[str, str] = {
    # credit
    "subject.tier_changed": "a subject's effective tier or blacklisting moved (any cause); "
                            "{from_tier, to_tier, blacklisted, cause}",
    "subject.changed": "a subject was created, edited or deleted by staff; {change, id, code}",
    "subject.registered": "an applicant registered a code new to the credit library; {id, code}",
    "subjects.imported": "a batch of the credit platform's subject export was imported; {rows, source}",
    "record.created": "a dishonesty record was added (by staff, or a breach); {id, severity, case_number}",
    "record.corrected": "staff corrected a dishonesty record (its fields, or its end: expired); "
                        "{id, change}",
    "record.repaired": "dishonesty records were repaired (staff, or a credit repair case); {ids, case_number}",
    "record.deleted": "staff deleted a dishonesty record entered by mistake; {id}",
    "records.imported": "a batch of the credit platform's dishonesty export was imported; {rows}",
    "scheme.changed": "a tier scheme or its tiers were created, edited or deleted; {change, id, code}",
    "scheme.activated": "another tier scheme became the active one; {code}",
    # catalog
    "matter.changed": "a matter (with its material requirements and per-tier limits) was created, "
                      "edited or deleted; {change, id, code}",
    "material.changed": "a material of the catalog was created, edited or deleted; {change, id, code}",
    "negative_list.changed": "a negative-list entry was created, edited, ended or deleted; "
                             "{change, id, matter_code}",
    "calendar.changed": "a calendar day was set or removed; {change, day}",
}

CREATED, UPDATED, DELETED = "created", "updated", "deleted"
