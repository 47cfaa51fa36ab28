"""Bulk Create tickets from Run Checks' group-by-job view, in a real browser.

The operator groups by job, checks two jobs (two runs each) and presses Create tickets: "one ticket per
backup job" is already ticked there, so the worker makes two tickets (one per job) and adds each job's
other run to its ticket. The page itself makes no Autotask call. Set AUTOTASK_E2E_SCREENSHOTS=1 to keep
desktop (1366 px) and phone (375 px) screenshots in test-artifacts/.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from integrations.autotask.models import BulkItemState, BulkJob, BulkJobItem
from runs.models import BackupJob

from . import test_autotask_tickets as tickets_e2e
from .conftest import PHONE
from .test_autotask_tickets import DESKTOP_WIDE, NO_SIDEWAYS_SCROLL, PASSWORD, _our_tickets, shot

pytestmark = pytest.mark.browser

simulator = tickets_e2e.simulator
failing_run = tickets_e2e.failing_run


@pytest.fixture
def two_jobs(failing_run):
    from tests.integration.autotask_tickets.conftest import make_run

    second = BackupJob.objects.create(customer=failing_run.job.customer, name="Hyper-V - HV02")
    return {
        failing_run.job: [failing_run, make_run(failing_run.job, status="missed")],
        second: [make_run(second, status="warning"), make_run(second)],
    }


def test_operator_bulk_creates_one_ticket_per_job_from_the_group_view(
    two_jobs, simulator, new_page, log_in, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # a real queue
    settings.AUTOTASK_BULK_CONCURRENCY = 1  # one SQLite in-memory database: keep the worker in one thread
    page = new_page(DESKTOP_WIDE)
    log_in(page, "e2e-operator", PASSWORD)
    page.goto("/?group=job")
    bar = page.locator("#autotask-bulk")
    expect(bar).to_be_visible()
    expect(page.locator("#bulk-share-per-job")).to_be_checked()  # the default when grouped by job
    expect(bar).to_contain_text("for every run counted in the checked jobs' rows")
    for job in two_jobs:
        page.get_by_label(f"Select the 2 runs of {job.name}").check()
    assert simulator.api_call_count() == 0  # the page is database only
    shot(page, "bulk-groups-1-desktop")
    page.get_by_role("button", name="Create tickets").click()

    job = BulkJob.objects.get()
    page.wait_for_url(f"**/autotask/bulk/{job.pk}/")
    assert job.share_per_job
    expect(page.locator("#bulk-items tbody tr")).to_have_count(4)
    assert simulator.api_call_count() == 0

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    expect(page.locator("#bulk-state")).to_have_text("Finished", timeout=10_000)
    expect(page.locator("#bulk-counts")).to_contain_text("4 of 4 finished")
    items = list(BulkJobItem.objects.filter(job=job).select_related("run"))
    assert {item.state for item in items} == {BulkItemState.DONE}
    per_job = {}
    for item in items:
        per_job.setdefault(item.run.job_id, set()).add(item.ticket_id)
    assert all(len(ids) == 1 for ids in per_job.values()) and len(per_job) == 2
    assert len(_our_tickets(simulator)) == 2  # one ticket per backup job, not four
    shot(page, "bulk-groups-2-finished")

    # On a phone the grouped view's bar fits the screen: no sideways scroll. The runs are ticketed now, but
    # still need review, so the groups are still listed.
    phone = new_page(PHONE)
    log_in(phone, "e2e-operator", PASSWORD)
    phone.goto("/?group=job")
    expect(phone.locator("#autotask-bulk")).to_be_visible()
    expect(phone.locator("#bulk-share-per-job")).to_be_checked()
    shot(phone, "bulk-groups-3-phone")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
