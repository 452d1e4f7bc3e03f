"""信用档案: a subject's full credit history, for staff and for the credit platform.

`archive(code)` gathers, for one subject: the effective tier now and why; every application with
its path, decision and revocation; every signed commitment; every dishonesty record (imported or
recorded by a breach here) and its repair; every verification and inspection; every tier change.
`events` merges them into one timeline. `to_json` and `to_csv` are the two export formats; both
carry the same facts (CSV: one row per event).
"""
from __future__ import annotations

import datetime as _dt
import json

from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.credit.models import DishonestyRecord, Subject, TierChange
from plugin.credit.tiers import effective_tier
from plugin.db import now
from plugin.spreadsheet import to_csv as to_spreadsheet

FORMAT_VERSION = 1
CSV_COLUMNS = ("时间", "类别", "事件", "办件编号", "事项编码", "事项名称", "详情")
EVENT_KINDS = {"application": "办件", "decision": "办件", "revocation": "办件", "commitment": "承诺",
               "dishonesty": "失信记录", "repair": "信用修复", "supervision": "批后监管", "tier_change": "等级变动"}


class ArchiveNotFound(LookupError):
    pass


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.replace(microsecond=0).isoformat() + ("Z" if value.tzinfo is None else "")
    return value.isoformat()


def archive(code: str, on: _dt.date | None = None) -> dict:
    """The credit archive of the subject with `code` (ArchiveNotFound, or InvalidCode for a bad code)."""
    from plugin.applications.materials import Commitment
    from plugin.applications.models import STATUSES, Application
    from plugin.catalog.models import Matter
    from plugin.supervision.models import KINDS, STATES, SupervisionItem

    code, _kind = validate_subject_code(code)
    subject = Subject.get_or_none(Subject.code == code)
    if subject is None:
        raise ArchiveNotFound(f"信用主体 {code} 不存在")
    tier = effective_tier(subject, on)

    cases = list(Application.select(Application, Matter).join(Matter)
                 .where(Application.subject == subject).order_by(Application.submitted_at, Application.id))
    by_id = {a.id: a for a in cases}
    applications = [{
        "number": a.number, "matter_code": a.matter.code, "matter_name": a.matter.name,
        "status": a.status, "status_label": STATUSES.get(a.status, a.status), "path": a.path,
        "decision": a.decision, "tier_at_submission": a.tier_code, "submitted_at": _iso(a.submitted_at),
        "decided_at": _iso(a.decided_at), "revoked_at": _iso(a.revoked_at),
        "revocation_reason": a.revocation_reason, "refusal_reason": a.refusal_reason,
    } for a in cases if a.status != "draft"]
    commitments = [{
        "number": by_id[c.application_id].number, "kind": c.kind, "kind_label": c.kind_label,
        "signed_at": _iso(c.signed_at), "signer": c.signer_name, "text_sha256": c.text_sha256,
    } for c in Commitment.select().where(Commitment.application.in_(list(by_id))).order_by(Commitment.signed_at)
    ] if by_id else []
    records = [{
        "id": r.id, "severity": r.severity, "reason": r.reason, "authority": r.authority,
        "start": _iso(r.start), "end": _iso(r.end), "repaired_at": _iso(r.repaired_at),
        "case_number": r.case_number, "recorded_at": _iso(r.created_at),
    } for r in DishonestyRecord.select().where(DishonestyRecord.subject == subject)
        .order_by(DishonestyRecord.start, DishonestyRecord.id)]
    supervision = [{
        "id": s.id, "kind": s.kind, "kind_label": KINDS.get(s.kind, s.kind), "number": by_id[s.application_id].number,
        "state": s.state, "state_label": STATES.get(s.state, s.state), "due_date": _iso(s.due_date),
        "inspector": s.assignee, "draw": s.draw_id, "note": s.note, "recorded_by": s.recorded_by,
        "recorded_at": _iso(s.recorded_at), "opened_at": _iso(s.created_at),
    } for s in SupervisionItem.select().where(SupervisionItem.application.in_(list(by_id)))
        .order_by(SupervisionItem.created_at, SupervisionItem.id)] if by_id else []
    changes = [{
        "at": _iso(t.at), "scheme": t.scheme, "from": t.from_code, "to": t.to_code,
        "from_blacklisted": t.from_blacklisted, "to_blacklisted": t.to_blacklisted, "cause": t.cause,
        "cause_label": t.cause_label, "reason": t.reason, "case_number": t.case_number, "actor": t.actor,
    } for t in TierChange.select().where(TierChange.subject == subject).order_by(TierChange.at, TierChange.id)]

    result = {
        "format": "xinyipi.credit-archive", "format_version": FORMAT_VERSION,
        "generated_at": _iso(now()),
        "subject": {"code": subject.code, "name": subject.name, "kind": subject.kind},
        "tier": {"scheme": tier.scheme, "code": tier.code, "label": tier.label, "blacklisted": tier.blacklisted,
                 "has_dishonesty_record": tier.has_dishonesty_record, "reasons": list(tier.reasons)},
        "applications": applications, "commitments": commitments, "dishonesty_records": records,
        "supervision": supervision, "tier_changes": changes,
    }
    result["events"] = events(result, {a.number: a for a in cases})
    return result


def events(data: dict, cases: dict) -> list[dict]:
    """One timeline, oldest first: (at, kind, what, case number, matter code, matter name, detail)."""
    out = []

    def add(at, kind, what, number=None, detail=""):
        case = cases.get(number)
        out.append({"at": at, "kind": kind, "kind_label": EVENT_KINDS[kind], "what": what, "number": number,
                    "matter_code": case.matter.code if case else None,
                    "matter_name": case.matter.name if case else None, "detail": detail})

    for a in data["applications"]:
        add(a["submitted_at"], "application", "提交申请", a["number"],
            f"受理时等级 {_tier_label(a['tier_at_submission'])}"
            + (f"，办理路径 {_path_label(a['path'])}" if a["path"] else ""))
        if a["decided_at"]:
            add(a["decided_at"], "decision", a["status_label"] if a["status"] != "revoked" else "准予许可",
                a["number"], a["refusal_reason"] or "")
        if a["revoked_at"]:
            add(a["revoked_at"], "revocation", "撤销许可", a["number"], a["revocation_reason"] or "")
    for c in data["commitments"]:
        add(c["signed_at"], "commitment", f"签署{c['kind_label']}", c["number"], f"SHA-256 {c['text_sha256']}")
    for r in data["dishonesty_records"]:
        add(r["recorded_at"], "dishonesty", f"{r['severity']}失信记录（编号 {r['id']}）", r["case_number"],
            f"{r['reason']}（{r['authority']}，{r['start']} 起）")
        if r["repaired_at"]:
            add(r["repaired_at"], "repair", f"失信记录（编号 {r['id']}）已修复", None, r["reason"])
    for s in data["supervision"]:
        add(s["opened_at"], "supervision", f"{s['kind_label']}：待办", s["number"],
            f"期限 {s['due_date']}" + (f"，检查人员 {s['inspector']}" if s["inspector"] else ""))
        if s["recorded_at"] and s["state"] != "pending":
            add(s["recorded_at"], "supervision", f"{s['kind_label']}：{s['state_label']}", s["number"], s["note"] or "")
    for t in data["tier_changes"]:
        add(t["at"], "tier_change", f"等级 {_tier_label(t['from'], t['scheme'])} → {_tier_label(t['to'], t['scheme'])}"
            f"（{t['cause_label']}）", t["case_number"], t["reason"])
    out.sort(key=lambda e: (e["at"] or "", e["kind"]))
    return out


def _path_label(path: str) -> str:
    from plugin.applications.progress import PATHS
    return str(PATHS.get(path, path))


def _tier_label(code: str | None, scheme_code: str | None = None) -> str:
    """'橙色（orange）': the label of a tier code in its scheme (the active one when not given)."""
    from plugin.credit.tiers import active_scheme_info, schemes
    scheme = next((s for s in schemes().values() if s.code == scheme_code), None) if scheme_code else None
    scheme = scheme or active_scheme_info()
    tier = scheme.tier(code) if code else None
    return f"{tier.label}（{code}）" if tier else (code or "—")


def to_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_csv(data: dict) -> str:
    """The timeline as CSV (UTF-8 with BOM, so that spreadsheet programs read the Chinese), every
    cell escaped against formula injection (`plugin.spreadsheet`)."""
    return to_spreadsheet(CSV_COLUMNS, ([e["at"], e["kind_label"], e["what"], e["number"], e["matter_code"],
                                         e["matter_name"], e["detail"]] for e in data["events"]))


__all__ = ["archive", "to_json", "to_csv", "ArchiveNotFound", "InvalidCode"]
