"""JSON API under /api/v1 for headless clients and the credit platform."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request
from peewee import DataError

from plugin.credit.codes import InvalidCode, validate_subject_code
from plugin.i18n import _
from plugin.urls import is_out_of_range

api = Blueprint("xinyipi_api", __name__, url_prefix="/api/v1")


@api.errorhandler(OverflowError)
@api.errorhandler(DataError)
def _number_out_of_range(e):
    """A number from the request that no database holds (see `plugin.urls`): not found, not a 500."""
    if not is_out_of_range(e):
        raise e
    return jsonify(error="不存在：请求中的数字超出了范围"), 404


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
    """A subject's effective tier, for the credit platform only (it discloses names and dishonesty
    records). The platform token is checked before anything else, so without it nothing is told, not
    even whether the code is known:

    - no ``XINYIPI_API_TOKEN`` configured: 403, the endpoint is off;
    - no or a wrong ``Authorization: Bearer <token>``: 401 with ``WWW-Authenticate: Bearer``;
    - an organisation (统一社会信用代码): 200 with the full credit-check snapshot (name, tier, scheme,
      active dishonesty records, the reasons);
    - a natural person (身份证号, GB 11643): 200 with the tier only (code, kind, scheme, tier code,
      label, rank): never the name, the records or the reasons (personal information);
    - an invalid code: 400 naming the failed rule; an unknown one: 404.
    """
    from plugin.credit.codes import PERSON
    from plugin.credit.models import Subject
    from plugin.credit.tiers import effective_tier
    refused = _platform_only()
    if refused is not None:
        return refused
    try:
        code, kind = validate_subject_code(code)
    except InvalidCode as e:
        return jsonify(error=str(e), rule=e.rule), 400
    subject = Subject.get_or_none(Subject.code == code)
    if subject is None:
        return jsonify(error=_("信用主体 %(code)s 不存在", code=code)), 404
    snapshot = effective_tier(subject).snapshot()
    if kind == PERSON:
        return jsonify({key: snapshot[key] for key in PERSON_FIELDS} | {"kind": PERSON})
    return jsonify(snapshot)


#: what the tier endpoint tells about a natural person: the tier, nothing that names or describes them
PERSON_FIELDS = ("subject_code", "scheme", "code", "label", "rank", "top_rank", "checked_at")


def _platform_only():
    """None when the request carries the platform token, else the refusal to return."""
    if not current_app.config.get("XINYIPI_API_TOKEN"):
        return jsonify(error=_("该接口未启用：请配置 XINYIPI_API_TOKEN")), 403
    if not _platform_token_ok():
        response = jsonify(error=_("缺少或错误的访问令牌（Authorization: Bearer …）"))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="xinyipi"'
        return response
    return None


def _platform_token_ok() -> bool:
    """The credit platform's calls carry `Authorization: Bearer <XINYIPI_API_TOKEN>`."""
    token = current_app.config.get("XINYIPI_API_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@api.get("/subjects/<code>/archive")
def subject_archive(code):
    """A subject's credit archive (信用档案) for the credit platform: JSON, or CSV with ?format=csv.
    Needs the platform token; without a configured token the export is off (403)."""
    from plugin.credit import archive as credit_archive
    if not current_app.config.get("XINYIPI_API_TOKEN"):
        return jsonify(error="信用档案接口未启用：请配置 XINYIPI_API_TOKEN"), 403
    if not _platform_token_ok():
        return jsonify(error="缺少或错误的访问令牌（Authorization: Bearer …）"), 401
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        return jsonify(error="format 只能是 json 或 csv"), 400
    try:
        data = credit_archive.archive(code)
    except credit_archive.InvalidCode as e:
        return jsonify(error=str(e), rule=e.rule), 400
    except credit_archive.ArchiveNotFound:
        abort(404)
    if fmt == "csv":
        return Response(credit_archive.to_csv(data), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename=credit-archive-{data['subject']['code']}.csv"})
    return Response(credit_archive.to_json(data), mimetype="application/json")
