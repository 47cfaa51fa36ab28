"""Browser fixtures: Playwright's sync API driving Debian's /usr/bin/chromium against `live_server`.

Without Chromium the browser tests are skipped — except under CI (`CI=true`), where that is a failure.
A failing test leaves a screenshot of each of its pages in `test-artifacts/<test name>.png`.
"""

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in the tests are still synchronous.
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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


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


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server, request):
    """Factory: `new_page(viewport=PHONE)` opens a page in a fresh browser context (its own cookies).

    On failure every page opened by the test is saved as test-artifacts/<test name>[-n].png.
    """
    contexts, pages = [], []

    def _new_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield _new_page

    if _failed(request.node):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
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
    """Log in through the login form (not a session shortcut): `log_in(page, username, password)`."""

    def _log_in(page, username, password):
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)

    return _log_in
