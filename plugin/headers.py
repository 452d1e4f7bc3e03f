"""The HTTP headers of what xinyipi serves: security headers on its pages, and stored diagrams
sent so that no browser ever runs them.

- `init_app(app)` adds to every response of xinyipi's own endpoints (portal, admin views, staff
  sign-in, JSON API, static files; in the standalone app every route) ``X-Frame-Options: DENY``,
  ``frame-ancestors 'none'`` merged into whatever ``Content-Security-Policy`` the response already
  has, ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``. A host app's own
  routes (and its own admin views) are left as the host made them.
- `diagram_response(xml, filename)` is the one way a stored diagram (a draft, a published version,
  a shipped template, a case's process) leaves the server: ``text/plain`` with ``nosniff`` (never
  parsed as XML or HTML, so an SVG or XHTML island in it cannot run), ``Content-Disposition:
  attachment`` (opened directly, it downloads) and ``Content-Security-Policy: sandbox`` (should a
  browser render it anyway, it runs nothing). The bpmn-js viewer and modeler fetch these URLs with
  ``fetch()`` and read the text, which none of these headers affects.
"""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Flask, Response, request

FRAME_ANCESTORS = "frame-ancestors 'none'"
REFERRER_POLICY = "same-origin"   # same-origin keeps the Referer Flask-WTF's HTTPS CSRF check reads
DIAGRAM_CSP = "sandbox; default-src 'none'"
DIAGRAM_MIMETYPE = "text/plain"



def merge_csp(existing: str | None, directive: str) -> str:
    """`existing` policy with `directive` added, unless a directive of that name is already there."""
    existing = (existing or "").strip().rstrip(";").strip()
    name = directive.split()[0].lower()
    if any(part.strip().split(" ")[0].lower() == name for part in existing.split(";") if part.strip()):
        return existing
    return f"{existing}; {directive}" if existing else directive


def secure(response: Response) -> Response:
    """Put the security headers on one response (merged with what it already has)."""
    headers = response.headers
    headers["X-Frame-Options"] = "DENY"
    headers["Content-Security-Policy"] = merge_csp(headers.get("Content-Security-Policy"), FRAME_ANCESTORS)
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    return response


def set_attachment(response: Response, filename: str) -> None:
    """``Content-Disposition: attachment`` naming `filename` (printable, no path), with the UTF-8 name
    and an ASCII fallback when it is not ASCII (RFC 6266, as werkzeug's send_file writes it)."""
    name = "".join(c for c in filename.replace("\\", "/").rsplit("/", 1)[-1]
                   if c.isprintable() and c not in '"') or "download"
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or "download"
        names = {"filename": simple, "filename*": f"UTF-8''{quote(name, safe='!#$&+^`|~')}"}
    else:
        names = {"filename": name}
    response.headers.set("Content-Disposition", "attachment", **names)


def diagram_response(xml: str, filename: str = "diagram.bpmn", etag: str | None = None) -> Response:
    """A stored diagram as a download that no browser renders or runs (see the module docstring)."""
    response = Response(xml.encode("utf-8"), mimetype=DIAGRAM_MIMETYPE)   # charset=utf-8 added by Flask
    set_attachment(response, filename or "diagram.bpmn")
    response.headers["Content-Security-Policy"] = DIAGRAM_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    if etag:
        response.set_etag(etag)
        response.make_conditional(request)
    return response


def init_app(app: Flask, is_ours) -> None:
    """Secure the responses of the requests `is_ours()` claims (evaluated per request)."""

    @app.after_request
    def _security_headers(response):
        if is_ours():
            secure(response)
        return response
