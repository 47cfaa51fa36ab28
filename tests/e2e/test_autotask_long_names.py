"""The Autotask action pages keep a 200-character customer or job name (no space to break at) inside the
window, as the core pages do (tests/e2e/test_operator_experience.py): the create-ticket preview and its
refusal, the resolve page and the link confirmation. Found in the hbreak2 session: the breadcrumb and the
refusal made these pages 2,200 px wide at 375 px and at 1366 px."""

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings
from integrations.autotask.simulator import SANDBOX
from runs.models import BackupJob, Run

from .support import (
    HAS_NO_HORIZONTAL_OVERFLOW,
    VIEWPORT_IDS,
    VIEWPORTS,
    create_user,
    enable_sandbox_over_http,
    mapped_failing_run,
    restore_role_groups,
    step_screenshots,
)

pytestmark = pytest.mark.browser

shot = step_screenshots("autotask-long-names-")

LONG_CUSTOMER = "C" * 200
LONG_JOB = "J" * 200


@pytest.fixture
def long_runs(transactional_db, simulator, live_server):
    """A mapped customer and an unmapped one, both with 200-character names and a failed run of a job
    with a 200-character name; compatibility mode on (to link)."""
    restore_role_groups()
    create_user("operator")
    enable_sandbox_over_http(live_server.url)
    settings = AutotaskSettings.load()
    settings.compatibility_mode = True
    settings.save()
    mapped_run, _company = mapped_failing_run(simulator)
    Customer.objects.filter(pk=mapped_run.job.customer_id).update(name=LONG_CUSTOMER)
    BackupJob.objects.filter(pk=mapped_run.job_id).update(name=LONG_JOB)
    unmapped = Customer.objects.create(name="U" * 200)
    job = BackupJob.objects.create(customer=unmapped, name="K" * 200)
    unmapped_run = Run.objects.create(
        job=job, status="error", summary="Disk full", started_at=mapped_run.started_at
    )
    return {"mapped": Run.objects.get(pk=mapped_run.pk), "unmapped": unmapped_run}


def _fits(page, name):
    shot(page, name)
    assert page.evaluate(HAS_NO_HORIZONTAL_OVERFLOW), f"{name}: the page scrolls sideways"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_autotask_pages_wrap_long_names(long_runs, simulator, logged_in_page, viewport):
    page = logged_in_page("operator", viewport)
    mapped, unmapped = long_runs["mapped"], long_runs["unmapped"]

    page.goto(f"/autotask/runs/{mapped.pk}/ticket/")
    expect(page.locator("#preview-title")).to_contain_text(LONG_CUSTOMER)
    _fits(page, f"preview-{viewport['width']}")
    # the cut breadcrumb keeps the full name on hover
    expect(page.locator(f'.breadcrumb a[title="{LONG_CUSTOMER}"]')).to_have_count(1)

    page.goto(f"/autotask/runs/{unmapped.pk}/ticket/")
    expect(page.locator("#ticket-refusal")).to_contain_text("U" * 200)
    _fits(page, f"refusal-{viewport['width']}")

    page.goto(f"/autotask/runs/{mapped.pk}/resolve/")
    expect(page.locator("#resolve-no-ticket")).to_be_visible()
    _fits(page, f"resolve-{viewport['width']}")

    # linking any ticket to the unmapped customer's run: the company warning names the customer
    ticket = simulator.tickets(SANDBOX.database_id)[0]
    page.goto(f"/runs/{unmapped.pk}/")
    page.fill("#autotask-link-reference", ticket["ticketNumber"])
    page.locator("#autotask-link-form button[type=submit]").click()
    expect(page.locator("#link-company-warning")).to_contain_text("U" * 200)
    _fits(page, f"link-{viewport['width']}")
