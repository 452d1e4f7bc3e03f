"""Browser-test harness: the real app on a real port, driven by Debian's Chromium through Playwright.

Fixtures
- ``live_server``: the standalone app on a fresh copy of the seeded SQLite database (the
  ``seeded`` fixture of tests/conftest.py), served by werkzeug in a thread on 127.0.0.1 and a free
  port, CSRF enabled. ``.url`` (no trailing slash), ``.app``. Add test-only routes before the
  first request, either in the test (``live_server.app.add_url_rule(…)``) or by overriding the
  ``live_app_setup`` fixture (a list of callables, each called with the app before it serves).
- ``browser`` (session): Chromium at /usr/bin/chromium (``XINYIPI_CHROMIUM`` to point elsewhere).
  When it cannot start the browser tests are skipped with the reason, or FAIL with the launch
  error when ``XINYIPI_REQUIRE_BROWSER=1`` (CI sets it).
- ``page`` (1280×900, zh-CN) and ``phone_page`` (375×740, mobile, touch): a new context per test.
  A failing test saves a full-page screenshot of each of its pages, and the page's uncaught
  JavaScript errors and console errors are added to the report.
- ``shot(page, name)``: saves ``test-artifacts/screenshots/<test name>-<name>.png``, returns the path.
- ``staff_login(page, live_server, username, password="xinyipi-demo")``: signs in at /admin/login.

Every test that uses ``browser`` (directly or through ``page``/``phone_page``) gets the ``browser``
marker, so ``pytest -m "not browser"`` leaves them out.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("XINYIPI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEMO_PASSWORD = "xinyipi-demo"
DEFAULT_TIMEOUT_MS = 15_000


def browser_required() -> bool:
    return os.environ.get("XINYIPI_REQUIRE_BROWSER") == "1"


# --------------------------------------------------------------------------- markers and reports

def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(request) -> bool:
    node = request.node
    return any(getattr(node, f"rep_{when}", None) is not None and getattr(node, f"rep_{when}").failed
               for when in ("setup", "call"))


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("_")[:150]


def screenshot_path(request, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{_safe_name(request.node.name)}-{_safe_name(name)}.png"


@pytest.fixture
def shot(request):
    """``shot(page, name)`` saves a full-page PNG under test-artifacts/screenshots/ and returns its path."""
    def take(page, name: str) -> Path:
        path = screenshot_path(request, name)
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


# --------------------------------------------------------------------------- the live server

@dataclass
class LiveServer:
    url: str
    app: object
    host: str
    port: int


@pytest.fixture
def backend():
    """Browser tests run on SQLite only (overrides the sqlite/postgres parametrization)."""
    return "sqlite"


@pytest.fixture
def live_app_setup():
    """Override to prepare the app before it serves: a list of ``callable(app)``."""
    return []


@pytest.fixture
def live_server(seeded, database_url, tmp_path, live_app_setup):
    from werkzeug.serving import make_server

    from plugin import create_app

    app = create_app({
        "XINYIPI_DATABASE_URL": database_url,
        "XINYIPI_SECRET_KEY": "browser-tests",
        "XINYIPI_UPLOAD_DIR": str(tmp_path / "uploads"),
        "WTF_CSRF_ENABLED": True,
    })
    for setup in live_app_setup:
        setup(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{port}", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app, host="127.0.0.1", port=port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- the browser

_LAUNCH: dict[str, object] = {}


def _launch():
    """Start Playwright and Chromium once per session; remember a failure so every test reports it."""
    if "browser" in _LAUNCH or "error" in _LAUNCH:
        return
    if not os.path.exists(CHROMIUM):
        _LAUNCH["error"] = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        return
    try:
        from playwright.sync_api import sync_playwright
        playwright = sync_playwright().start()
    except Exception as exc:  # noqa: BLE001 — any failure to start is reported the same way
        _LAUNCH["error"] = f"Playwright could not start: {exc!r}"
        return
    try:
        _LAUNCH["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                        headless=True)
        _LAUNCH["playwright"] = playwright
    except Exception as exc:  # noqa: BLE001
        playwright.stop()
        _LAUNCH["error"] = f"Chromium could not start ({CHROMIUM}): {exc}"


@pytest.fixture(scope="session")
def browser():
    _launch()
    if "error" in _LAUNCH:
        message = str(_LAUNCH["error"])
        if browser_required():
            pytest.fail(f"XINYIPI_REQUIRE_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(message)
    yield _LAUNCH["browser"]


def pytest_sessionfinish(session, exitstatus):
    browser = _LAUNCH.pop("browser", None)
    playwright = _LAUNCH.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()


def _open(browser, request, **context_options):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context_options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def console(msg):
        # browsers ask for /favicon.ico by themselves; its 404 is not the page's error
        if msg.type == "error" and not (msg.location or {}).get("url", "").endswith("/favicon.ico"):
            errors.append(f"console.{msg.type}: {msg.text}")
    page.on("console", console)
    page.xyp_errors = errors  # for tests that want to assert a clean console
    return context, page


def _close(context, page, request, label: str):
    try:
        if _failed(request) and not page.is_closed():
            try:
                path = screenshot_path(request, f"FAILED-{label}")
                page.screenshot(path=str(path), full_page=True)
                request.node.add_report_section("call", "screenshot", str(path))
            except Exception as exc:  # noqa: BLE001 — a failed screenshot must not hide the failure
                request.node.add_report_section("call", "screenshot", f"could not save: {exc}")
            if page.xyp_errors:
                request.node.add_report_section("call", f"browser errors ({label})", "\n".join(page.xyp_errors))
    finally:
        context.close()


@pytest.fixture
def page(browser, request):
    context, page = _open(browser, request, viewport={"width": 1280, "height": 900})
    yield page
    _close(context, page, request, "page")


@pytest.fixture
def phone_page(browser, request):
    context, page = _open(browser, request, viewport={"width": 375, "height": 740}, is_mobile=True,
                          has_touch=True, device_scale_factor=2)
    yield page
    _close(context, page, request, "phone")


# --------------------------------------------------------------------------- helpers

def staff_login(page, live_server, username: str, password: str = DEMO_PASSWORD):
    """Sign in through /admin/login as a seeded staff member; fails the test with the page's message
    when the sign-in is refused. Returns the page, now on the admin."""
    page.goto(f"{live_server.url}/admin/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    error = page.locator("#login-error")
    if error.count():
        pytest.fail(f"staff sign-in as {username!r} refused: {error.inner_text()}", pytrace=False)
    if "/admin/login" in page.url:
        pytest.fail(f"staff sign-in as {username!r} stayed on {page.url}", pytrace=False)
    return page


@pytest.fixture(name="staff_login")
def staff_login_fixture():
    """The ``staff_login`` helper as a fixture (test modules need not import from a conftest)."""
    return staff_login
