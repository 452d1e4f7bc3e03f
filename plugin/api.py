"""JSON API under /api/v1 for headless clients and the credit platform."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from plugin.credit.codes import InvalidCode, validate_subject_code

api = Blueprint("xinyipi_api", __name__, url_prefix="/api/v1")


@api.get("/health")
def health():
    from plugin.db import database
    database.execute_sql("SELECT 1")
    return jsonify(status="ok")


@api.get("/matters")
def matters():
    from plugin.catalog import Matter
    return jsonify([{"code": m.code, "name": m.name, "department": m.department, "kind": m.kind,
                     "legal_days": m.legal_days, "promised_days": m.promised_days,
                     "process": str(m.process) if m.process_id else None, "status": m.status}
                    for m in Matter.select().order_by(Matter.code)])


@api.get("/subjects/<code>/tier")
def subject_tier(code):
    from plugin.credit.models import Subject
    from plugin.credit.tiers import effective_tier
    try:
        code, _ = validate_subject_code(code)
    except InvalidCode as e:
        return jsonify(error=str(e), rule=e.rule), 400
    subject = Subject.get_or_none(Subject.code == code)
    if subject is None:
        abort(404)
    return jsonify(effective_tier(subject).snapshot())
