"""Browser journeys: the app served by werkzeug on a loopback port, driven by Debian's chromium through the sync
Playwright API. Skipped, with the reason, when no chromium is installed; the PostgreSQL CI run deselects them
(-m "not browser")."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
NO_BROWSER = "no browser: install Debian's chromium and fonts-wqy-microhei to run the journeys"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--lang=zh-CN"]  # date inputs as a Chinese user sees them
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
DEMO_PASSWORD = "anKang-2027"
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
STEP_TIMEOUT_MS = 5_000  # one step of a journey; a journey stays well under a few seconds


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # the journeys' asserts say what went wrong, not an access log
            pass

    return Quiet


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of the app on 127.0.0.1:<free port>, migrated and seeded with the demo city, CSRF on."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(NO_BROWSER)
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from crm import create_app
    from crm.extensions import db
    from crm.services.demo import seed_demo
    from tests.conftest import base_config

    instance = tmp_path_factory.mktemp("browser-instance")
    url = os.environ.get("CRM_TEST_DATABASE_URL") or f"sqlite:///{instance / 'browser.sqlite3'}"
    config = base_config(url, str(instance)) | {"WTF_CSRF_ENABLED": True, "TESTING": False}
    app = create_app(config)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_quiet_handler())
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    app.live_base_url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def base_url(live_server):
    """Re-seed (idempotent) first: other tests sharing a PostgreSQL database empty the tables between tests."""
    from crm.extensions import db
    from crm.services.demo import seed_demo

    with live_server.app_context():
        seed_demo()
        db.session.remove()
    return live_server.live_base_url


@pytest.fixture(scope="session")
def pw_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(NO_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open_page(pw_browser, request, viewport: str):
    context = pw_browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS[viewport])
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    # The journey's final screen, kept as a CI artifact (also when it failed: that is when it is needed).
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.originalname or request.node.name
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def any_page(pw_browser, request, viewport):
    """A fresh browser context at the phone and at the desktop width (the test runs once per viewport)."""
    yield from _open_page(pw_browser, request, viewport)


@pytest.fixture
def phone_page(pw_browser, request):
    yield from _open_page(pw_browser, request, "phone")


@pytest.fixture
def desktop_page(pw_browser, request):
    yield from _open_page(pw_browser, request, "desktop")


@pytest.fixture
def sign_in(base_url):
    """sign_in(page, username) → the page after the login form was filled and sent like a person would."""

    def do(page, username: str, password: str = DEMO_PASSWORD):
        page.goto(f"{base_url}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        return page

    return do
