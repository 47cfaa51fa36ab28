"""The browser tests' one shared set-up: Playwright's sync API driving Debian's /usr/bin/chromium against
pytest-django's `live_server`.

A new browser test needs nothing of its own for the browser, users, log-in, viewports, screenshots or the
simulator; for example::

    import pytest
    from playwright.sync_api import expect

    from .support import (
        NO_SIDEWAYS_SCROLL, VIEWPORT_IDS, VIEWPORTS, create_user, restore_role_groups, save_screenshot,
    )

    pytestmark = pytest.mark.browser

    @pytest.fixture
    def operator(transactional_db):
        restore_role_groups()            # the live server's flush emptied the role groups
        return create_user("operator")   # e2e-operator / PASSWORD, in the Operator group

    @pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)   # 1366 px and 375 px
    def test_run_checks(operator, logged_in_page, viewport):
        page = logged_in_page("operator", viewport)   # logged in through the login form, at "/"
        expect(page.get_by_role("heading", name="Run Checks")).to_be_visible()
        save_screenshot(page, f"run-checks-{viewport['width']}")   # test-artifacts/run-checks-1366.png
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

Fixtures here:
- `browser` (session): Chromium from /usr/bin/chromium, `--headless --no-sandbox --disable-gpu` (+ no
  background networking). Without Chromium the browser tests are skipped, except under CI (`CI=true`, as
  `.ci/run` sets), where that is a failure (`require_chromium`).
- `new_page(viewport=DESKTOP)`: a page in a fresh browser context (its own cookies), base URL = the live
  server, 10 s default timeout. When the test fails, every page it opened is saved as
  `test-artifacts/<test name>[-n].png`.
- `page`: `new_page()` at the desktop width.
- `log_in(page, username, password=PASSWORD)`: through the login form (not a session shortcut).
- `logged_in_page(who, viewport=DESKTOP)`: `new_page` + `log_in`; `who` is a role ("staff", "operator",
  "viewer": users e2e-admin, e2e-operator, e2e-viewer, see `support.create_user`) or a username.
- `simulator`: a fresh Autotask simulator served over HTTP on a free loopback port (`simulator.base` is
  its URL); zone discovery points at it, so the product's real client talks to it over the network.
- `simulator_url`: that simulator's base URL.

Everything else shared (PASSWORD, DESKTOP, PHONE, VIEWPORTS, ARTIFACTS, NO_SIDEWAYS_SCROLL, users per role,
screenshot helpers, the Sandbox set-up) is in `tests/e2e/support.py`; the names older modules import from
here are re-exported below.

Playwright's sync API runs an event loop in the test's thread; the ORM calls in the tests stay synchronous,
so `DJANGO_ALLOW_ASYNC_UNSAFE` is set here, for every browser test, before Django sees an ORM call.
"""

import os
import threading
from pathlib import Path

import pytest

from .live_server import OneRequestAtATimeServer
from .support import (  # noqa: F401 - re-exported for the modules that import them from here
    ARTIFACTS,
    DESKTOP,
    PASSWORD,
    PHONE,
    ROLE_USERNAMES,
    failure_screenshot_name,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Playwright's default timeout for every action and `expect`, in milliseconds
DEFAULT_TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (`item.rep_call`), so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(item):
    return any(
        getattr(item, f"rep_{when}", None) and getattr(item, f"rep_{when}").failed
        for when in ("setup", "call")
    )


def require_chromium(chromium=CHROMIUM, environ=os.environ):
    """Skip the calling test when Chromium is missing — but fail it under CI, where browser tests must run."""
    if chromium.exists():
        return
    message = f"{chromium} is not installed (apt-get install chromium)"
    if environ.get("CI") == "true":
        pytest.fail(message + "; under CI the browser tests must run")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def one_request_at_a_time():
    """Django's live server answers one request at a time while it shares the in-memory SQLite connection
    (see `tests/e2e/live_server.py`). Session-scoped and autouse, so it is in place before `live_server`."""
    from django.test.testcases import LiveServerThread

    original = LiveServerThread.server_class
    LiveServerThread.server_class = OneRequestAtATimeServer
    yield
    LiveServerThread.server_class = original


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(browser, live_server):
    """pytest-django's live server, started after the browser so the test thread and the server share one
    database connection object.

    Once Playwright's sync API runs its event loop in the test thread, Django's connection handler (an
    asgiref `Local`) keys connections by context instead of by thread, and the test thread gets a new
    connection object. A live server started before that would share the old one with its requests while
    the test's queries went through the new one: two connections to the in-memory database, whose
    table locks fail instead of waiting, and outside `OneRequestAtATimeServer`'s lock.
    """
    return live_server


@pytest.fixture
def new_page(browser, live_server, request):
    """Factory: `new_page(viewport=PHONE)` opens a page in a fresh browser context (its own cookies).

    On failure every page opened by the test is saved as test-artifacts/<test name>[-n].png.
    """
    contexts, pages = [], []

    def _new_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield _new_page

    if _failed(request.node):
        ARTIFACTS.mkdir(exist_ok=True)
        name = failure_screenshot_name(request.node.name)
        for index, page in enumerate(pages):
            suffix = "" if index == 0 else f"-{index}"
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"could not save a screenshot of page {index}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def log_in():
    """Log in through the login form (not a session shortcut): `log_in(page, username, password=PASSWORD)`."""

    def _log_in(page, username, password=PASSWORD):
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)

    return _log_in


@pytest.fixture
def logged_in_page(new_page, log_in):
    """Factory: `logged_in_page("operator", PHONE)` → a new page (own cookies) logged in as that role's user
    ("staff", "operator", "viewer"; see `support.create_user`) or as the user of that username."""

    def _logged_in_page(who, viewport=DESKTOP):
        page = new_page(viewport)
        log_in(page, ROLE_USERNAMES.get(who, who))
        return page

    return _logged_in_page


@pytest.fixture
def simulator(settings):
    """A fresh AutotaskSimulator served over HTTP in a thread (`simulator.base` is its URL). Zone discovery
    points at it and the services use their real transport, so requests go over the loopback network."""
    from integrations.autotask.client import clear_zone_cache
    from integrations.autotask.services import connection
    from integrations.autotask.simulator import AutotaskSimulator
    from integrations.autotask.simulator.server import make_server

    sim = AutotaskSimulator()
    server = make_server(sim, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sim.base = f"http://127.0.0.1:{server.server_port}"
    settings.AUTOTASK_ZONE_INFO_URL = f"{sim.base}/atservicesrest/v1.0/zoneInformation"
    connection.set_transport_factory(None)
    clear_zone_cache()
    yield sim
    server.shutdown()
    server.server_close()
    clear_zone_cache()


@pytest.fixture
def simulator_url(simulator):
    """The base URL of the simulator served over HTTP (see `simulator`)."""
    return simulator.base
