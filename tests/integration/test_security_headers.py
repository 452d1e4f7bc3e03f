"""Security headers (issue #12): every page xinyipi serves — portal, admin, staff sign-in, JSON API,
static files — may not be framed (clickjacking), sniffed or leak its URL to other sites; a host
app's own routes and admin views keep exactly the headers the host gives them."""
from __future__ import annotations

import pytest

from plugin import XinYiPi, assets
from plugin.headers import merge_csp
from tests.helpers import demo_code, sign_in
from tests.integration.test_extension import HOST_ADMIN_BODY, HOST_BODY, make_host
from tests.portal.conftest import make_app, sign_in_applicant

SECURITY_HEADERS = ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
#: a file each static endpoint serves
STATIC_FILES = {"xinyipi_assets.static": "vendor/bpmn-viewer.css", "xinyipi_portal.static": "portal.css",
                "xinyipi_staff.static": "xinyipi/admin.css", "admin.static": "admin/css/bootstrap4/admin.css"}


def assert_secured(response, url):
    headers = response.headers
    assert headers.get("X-Frame-Options") == "DENY", url
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") == "same-origin", url


def assert_untouched(response, url):
    present = [h for h in SECURITY_HEADERS + ("Content-Security-Policy",) if h in response.headers]
    assert not present, (url, present)


def _urls(app) -> dict[str, list[str]]:
    """Every GET route without arguments, and one file of every static endpoint, by blueprint."""
    from flask import url_for
    found: dict[str, list[str]] = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            if rule.endpoint in STATIC_FILES:
                url = url_for(rule.endpoint, filename=STATIC_FILES[rule.endpoint])
            elif rule.arguments:
                continue
            else:
                url = url_for(rule.endpoint)
            found.setdefault(rule.endpoint.rpartition(".")[0] or "(app)", []).append(url)
    return found


def test_every_blueprint_of_the_standalone_app_sends_the_headers(seeded, database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    staff, anonymous, citizen = app.test_client(), app.test_client(), app.test_client()
    sign_in(staff)                                          # sysadmin: sees every admin page
    sign_in_applicant(citizen, demo_code("blue"))
    urls = _urls(app)
    assert set(app.blueprints) <= set(urls), set(app.blueprints) - set(urls)     # a page of every blueprint
    checked = 0
    for blueprint, paths in urls.items():
        for url in paths:
            for client in (staff, anonymous, citizen):
                r = client.get(url)
                assert r.status_code < 500 or (r.status_code == 503 and not assets.bundle_built(assets.MODELER_FILES)), \
                    (url, r.status_code)                     # the designer says 503 until `make frontend`
                if url.startswith(("/portal/static/", "/admin/xinyipi-static/", "/admin/static/")) or (
                        url.startswith("/xinyipi/static/") and assets.bundle_built()):    # built by `make frontend`
                    assert r.status_code == 200, url
                assert_secured(r, url)
                checked += 1
    # pages of every kind: staff sign-in, refusals, not found, the JSON API, a static file
    for url in ("/admin/login", "/portal/login", "/api/v1/health", "/api/v1/subjects/1/tier", "/no/such/page",
                "/portal/cases/XYP0/diagram.xml", "/xinyipi/static/vendor/bpmn-viewer.js"):
        for client in (staff, anonymous):
            assert_secured(client.get(url), url)
    reviewer = app.test_client()
    sign_in(reviewer, "reviewer", "reviewer")
    forbidden = reviewer.get("/admin/xinyipi_staff_user/")
    assert forbidden.status_code == 403
    assert_secured(forbidden, "403 page")
    assert checked > 100


def test_a_policy_a_page_sets_itself_is_kept_and_completed():
    assert merge_csp(None, "frame-ancestors 'none'") == "frame-ancestors 'none'"
    assert merge_csp("sandbox; default-src 'none'", "frame-ancestors 'none'") == \
        "sandbox; default-src 'none'; frame-ancestors 'none'"
    # a page that chose its own frame-ancestors keeps its choice
    assert merge_csp("default-src 'self'; frame-ancestors 'self';", "frame-ancestors 'none'") == \
        "default-src 'self'; frame-ancestors 'self'"


def test_a_host_apps_own_routes_are_left_alone(db, database_url, tmp_path):
    host, admin = make_host(database_url, tmp_path)
    XinYiPi(host, admin)
    client = host.test_client()
    r = client.get("/hello")
    assert r.get_data(as_text=True) == HOST_BODY
    assert_untouched(r, "/hello")
    r = client.get("/admin/hostview/")
    assert r.get_data(as_text=True) == HOST_ADMIN_BODY
    assert_untouched(r, "/admin/hostview/")
    assert_untouched(client.get("/admin/"), "the host's admin index")
    assert_untouched(client.get("/nothing-here"), "the host's 404")
    # while xinyipi's own pages in the same app are protected
    for url in ("/api/v1/health", "/portal/", "/admin/login", "/admin/xinyipi_matter/"):
        assert_secured(client.get(url), url)
    sign_in(client)
    assert_secured(client.get("/admin/xinyipi_matter/"), "a xinyipi view in the host's admin")
    assert_untouched(client.get("/admin/hostview/"), "/admin/hostview/ signed in")


@pytest.mark.parametrize("path", ["/portal/", "/admin/login"])
def test_our_pages_cannot_be_framed_by_another_site(seeded, database_url, tmp_path, path):
    """The attack: another site puts our page in an iframe. Browsers refuse to render it when either
    header says so; both are sent (X-Frame-Options for older browsers)."""
    app = make_app(database_url, tmp_path)
    r = app.test_client().get(path, headers={"Sec-Fetch-Dest": "iframe", "Referer": "https://evil.example/"})
    assert r.headers["X-Frame-Options"] == "DENY"
    policy = {d.strip().split(" ")[0]: d.strip() for d in r.headers["Content-Security-Policy"].split(";")}
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
