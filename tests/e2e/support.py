"""What the browser tests share besides fixtures: viewports, the password, users per role, screenshots,
the "no sideways scroll" checks and the Autotask Sandbox set-up the health and phase 6 tests start from.

Import these from here (or, as older modules do, from `.conftest`, which re-exports them). The fixtures
(browser, pages, log-in, the simulator over HTTP) live in `tests/e2e/conftest.py`.
"""

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from tests.autotask_sim import SANDBOX_TICKET_DEFAULTS, connect_tenant, store_credentials
from tests.users import make_user, restore_role_groups  # noqa: F401 - restore_role_groups: for the tests

#: every browser-test user's password
PASSWORD = "e2e-Pass-1234"
#: the two widths every page is checked at: a desktop (1366 px) and a phone (375 px)
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}
#: `@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)` runs a test at both widths
VIEWPORTS = [DESKTOP, PHONE]
VIEWPORT_IDS = ["1366", "375"]

#: screenshots (on failure, and those the tests take on purpose) go here, below the repository root
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: AUTOTASK_E2E_SCREENSHOTS=1 keeps the step-by-step screenshots that `step_screenshots` takes
STEP_SCREENSHOTS_VARIABLE = "AUTOTASK_E2E_SCREENSHOTS"

#: `page.evaluate(NO_SIDEWAYS_SCROLL)` is true when the page does not scroll sideways
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
#: stricter: the body must not be wider than the window either
HAS_NO_HORIZONTAL_OVERFLOW = """() => {
    const root = document.documentElement;
    return root.scrollWidth <= root.clientWidth && document.body.scrollWidth <= root.clientWidth;
}"""

#: the roles a browser test logs in as, and each one's username
ROLE_USERNAMES = {"staff": "e2e-admin", "operator": "e2e-operator", "viewer": "e2e-viewer"}


def save_screenshot(page, name, *, folder=None, full_page=True):
    """Save `page` as test-artifacts/[folder/]name.png (folders made as needed); returns the path."""
    directory = ARTIFACTS / folder if folder else ARTIFACTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def step_screenshots(prefix):
    """`shot = step_screenshots("autotask-health-")`; `shot(page, "desktop")` saves
    test-artifacts/autotask-health-desktop.png, but only when AUTOTASK_E2E_SCREENSHOTS=1."""

    def shot(page, name):
        if os.environ.get(STEP_SCREENSHOTS_VARIABLE) == "1":
            save_screenshot(page, f"{prefix}{name}")

    return shot


def failure_screenshot_name(test_name):
    """A test's name as a file name: `test_x[1366-operator]` → `test_x_1366-operator_`."""
    return re.sub(r"[^\w.-]+", "_", test_name)


def create_user(role, username=None, **extra):
    """A user in the role's group ("staff" → the Admin group and is_staff; "operator"; "viewer") with
    PASSWORD; the username defaults to ROLE_USERNAMES[role]. The groups must exist
    (`restore_role_groups()`, from tests/users.py). Extra keyword arguments go to `User.objects.create_user`."""
    from runs.roles import ADMIN, OPERATOR, VIEWER

    group = {"staff": ADMIN, "operator": OPERATOR, "viewer": VIEWER}[role]
    if role == "staff":
        extra.setdefault("is_staff", True)
    return make_user(username or ROLE_USERNAMES[role], group, password=PASSWORD, **extra)


def store_sandbox_credentials():
    """The simulator's Sandbox username, secret and Tracking Identifier saved on the sandbox
    EnvironmentConfig, as typed on the settings page (no API call). Returns the EnvironmentConfig."""
    from integrations.autotask.simulator import SANDBOX

    return store_credentials("sandbox", SANDBOX)


def enable_sandbox_over_http(base_url="http://127.0.0.1:8000"):
    """The Sandbox credentials stored, Test connection and Refresh reference data (real calls to the
    simulator the `simulator` fixture serves), SANDBOX_TICKET_DEFAULTS (tests/autotask_sim.py) chosen, the integration enabled.
    Returns the EnvironmentConfig."""
    from integrations.autotask.models import AutotaskSettings
    from integrations.autotask.simulator import SANDBOX

    env = connect_tenant("sandbox", SANDBOX, SANDBOX_TICKET_DEFAULTS)
    settings = AutotaskSettings.load()
    settings.enabled, settings.base_url = True, base_url
    settings.save()
    return env


def mapped_failing_run(simulator):
    """Customer "Hartwell Dental", mapped to the Sandbox's first active customer company (type 1), with a
    backup job "Nightly image" whose run of 2026-11-20 22:00 UTC failed. Returns (run, company dict)."""
    from customers.models import Customer
    from integrations.autotask.models import CompanyMapping
    from integrations.autotask.simulator import SANDBOX
    from runs.models import BackupJob, Run

    customer = Customer.objects.create(name="Hartwell Dental")
    company = next(
        c
        for c in simulator.companies(SANDBOX.database_id)
        if c["isActive"] and c["companyType"] == 1 and c["id"]
    )
    CompanyMapping.objects.create(
        customer=customer,
        environment="sandbox",
        database_id=SANDBOX.database_id,
        company_id=company["id"],
        company_name=company["companyName"],
    )
    job = BackupJob.objects.create(customer=customer, name="Nightly image")
    run = Run.objects.create(
        job=job,
        status="error",
        summary="Disk full on NAS",
        started_at=datetime(2026, 11, 20, 22, tzinfo=UTC),
    )
    return run, company
