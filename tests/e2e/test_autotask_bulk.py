"""An operator creates tickets for several runs at once from Run Checks, in a real browser.

Selects two runs and presses Create tickets; lands on the bulk job's progress page (queued, polling);
the django-tasks-db worker (`manage.py db_worker --batch`) works the job off and the page, polling via
htmx, reaches Finished with each run's ticket number; a reload shows the same; the job list re-opens it.
The simulator is served over HTTP. Set AUTOTASK_E2E_SCREENSHOTS=1 to keep desktop (1366 px) and phone
(375 px) screenshots in test-artifacts/.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from integrations.autotask.models import BulkJob, BulkJobItem
from runs.models import BackupJob

from .support import DESKTOP, NO_SIDEWAYS_SCROLL, PHONE
from .test_autotask_tickets import _our_tickets, failing_run, shot  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def two_more_runs(failing_run):  # noqa: F811
    from tests.integration.autotask_tickets.conftest import make_run

    job = BackupJob.objects.create(customer=failing_run.job.customer, name="Hyper-V - HV02")
    return [failing_run, make_run(job, status="warning")]


def test_operator_bulk_creates_tickets_and_watches_progress(
    two_more_runs, simulator, logged_in_page, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # a real queue
    settings.AUTOTASK_BULK_CONCURRENCY = 1  # one SQLite in-memory database: keep the worker in one thread
    runs = two_more_runs
    page = logged_in_page("operator", DESKTOP)
    page.goto("/")
    expect(page.locator("#autotask-bulk")).to_be_visible()
    for run in runs:
        page.get_by_label(f"Select run {run.pk}").check()
    shot(page, "bulk-1-run-checks")
    page.get_by_role("button", name="Create tickets").click()

    job = BulkJob.objects.get()
    page.wait_for_url(f"**/autotask/bulk/{job.pk}/")
    expect(page.locator("#bulk-state")).to_have_text("Queued")
    expect(page.locator("#bulk-items tbody tr")).to_have_count(2)
    assert page.locator("#bulk-progress").get_attribute("hx-trigger") == "every 2s"
    assert simulator.api_call_count() == 0  # nothing sent before the worker runs
    shot(page, "bulk-2-queued")

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    # htmx polls the fragment and the page reaches Finished by itself (no reload), then stops polling.
    expect(page.locator("#bulk-state")).to_have_text("Finished", timeout=10_000)
    expect(page.locator("#bulk-counts")).to_contain_text("2 of 2 finished")
    numbers = sorted(BulkJobItem.objects.filter(job=job).values_list("ticket__ticket_number", flat=True))
    for number in numbers:
        expect(page.get_by_role("link", name=number)).to_be_visible()
    assert page.locator("#bulk-progress").get_attribute("hx-trigger") is None
    assert len(_our_tickets(simulator)) == 2
    shot(page, "bulk-3-finished")

    page.reload()
    expect(page.locator("#bulk-state")).to_have_text("Finished")
    expect(page.locator("#bulk-items tbody tr[data-state=done]")).to_have_count(2)

    # Re-open it from the job list, also on a phone (where the bulk bar on Run Checks fits the screen too).
    phone = logged_in_page("operator", PHONE)
    expect(phone.locator("#autotask-bulk")).to_be_visible()
    shot(phone, "bulk-0-phone-run-checks")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    phone.goto("/autotask/bulk/")
    phone.get_by_role("link", name=f"Job {job.pk}").click()
    phone.wait_for_url(f"**/autotask/bulk/{job.pk}/")
    expect(phone.locator("#bulk-state")).to_have_text("Finished")
    shot(phone, "bulk-4-phone")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
