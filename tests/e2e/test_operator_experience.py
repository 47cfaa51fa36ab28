"""Issue 13 in a real browser: long names (item 5), Run Checks as a work queue (item 10), the filter row
with a field error (item 9) and the Autotask settings page (item 12), at 1366 and 375 px.

Every page is also saved to test-artifacts/issue13/<page>-<role>-<width>.png for a person to look at.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.models import EnvironmentConfig
from integrations.autotask.simulator import SANDBOX
from runs.models import BackupJob, IngestToken, Run

from .support import (
    DESKTOP,
    HAS_NO_HORIZONTAL_OVERFLOW,
    VIEWPORT_IDS,
    VIEWPORTS,
    create_user,
    restore_role_groups,
    save_screenshot,
)

pytestmark = pytest.mark.browser

LONG_CUSTOMER = "Customer" + "C" * 190
LONG_JOB = "Job" + "J" * 197  # 200 characters, no space to break at


def shot(page, name):
    save_screenshot(page, f"{name}-{page.viewport_size['width']}", folder="issue13")


@pytest.fixture
def queue_data(transactional_db):
    restore_role_groups(autotask=False, admin_autotask="all")
    now = timezone.now().replace(microsecond=0)
    long_customer = Customer.objects.create(name=LONG_CUSTOMER)
    acme = Customer.objects.create(name="Acme")
    long_job = BackupJob.objects.create(customer=long_customer, name=LONG_JOB, backup_software="Veeam")
    nightly = BackupJob.objects.create(customer=acme, name="Nightly", backup_software="Veeam")
    files = BackupJob.objects.create(customer=acme, name="Files", backup_software="Synology")
    runs = {}
    # twenty missed nights of one job, then some others
    for night in range(20):
        runs[f"missed{night}"] = Run.objects.create(
            job=nightly, status="missed", started_at=now - timedelta(days=night, hours=2), summary="No run"
        )
    runs["long"] = Run.objects.create(
        job=long_job, status="error", started_at=now - timedelta(hours=1), summary="S" * 400
    )
    runs["files_error"] = Run.objects.create(
        job=files, status="error", started_at=now - timedelta(hours=3), summary="Share offline"
    )
    runs["files_warning"] = Run.objects.create(
        job=files, status="warning", started_at=now - timedelta(hours=4), summary="1 file skipped"
    )
    Run.objects.create(job=files, status="success", started_at=now - timedelta(hours=30))
    return {
        "runs": runs,
        "nightly": nightly,
        "operator": create_user("operator"),
        "viewer": create_user("viewer"),
        "admin": create_user("staff"),
    }


def _assert_fits(page, what):
    assert page.evaluate(HAS_NO_HORIZONTAL_OVERFLOW), f"{what} overflows horizontally"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_long_names_never_push_columns_off_screen(queue_data, logged_in_page, viewport):
    page = logged_in_page("operator", viewport)
    width = viewport["width"]
    _assert_fits(page, "Run Checks")
    row = page.locator("table.run-table tbody tr", has_text="JJJJ").first
    job_link = row.get_by_role("link", name=LONG_JOB)
    expect(job_link).to_have_attribute("title", LONG_JOB)  # the full name stays available
    for part in (row.locator("td.summary-cell"), job_link, row.locator(".status-badge")):
        box = part.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box
    shot(page, "run-checks-long-names-operator")

    page.goto(queue_data["runs"]["long"].get_absolute_url())
    _assert_fits(page, "run detail")
    expect(page.locator(".breadcrumb").get_by_role("link", name=LONG_JOB)).to_have_attribute(
        "title", LONG_JOB
    )
    shot(page, "run-detail-long-names-operator")

    for path, name in (
        ("/?group=job", "run-checks-grouped"),
        (f"/jobs/{queue_data['runs']['long'].job_id}/", "job-detail"),
        ("/customers/", "customer-list"),
        (f"/customers/{queue_data['runs']['long'].job.customer_id}/", "customer-detail"),
    ):
        page.goto(path)
        _assert_fits(page, name)
        shot(page, f"{name}-long-names-operator")


def test_run_checks_work_queue(queue_data, logged_in_page):
    runs = queue_data["runs"]
    page = logged_in_page("operator", DESKTOP)

    # sort by status: errors first, the header says so
    page.locator("th").get_by_role("link", name="Status").click()
    expect(page).to_have_url(re.compile(r"sort=status"))
    expect(page.locator("th[aria-sort]")).to_contain_text("Status")
    expect(page.locator("table.run-table tbody tr").first.locator(".status-badge")).to_have_text("Error")
    page.locator("th").get_by_role("link", name="Customer / job").click()
    expect(page).to_have_url(re.compile(r"sort=customer"))
    expect(page.locator("table.run-table tbody tr").first).to_contain_text("Acme")

    # filter to errors, open the first, "Mark reviewed and next" goes to the next error with the same list
    page.goto("/")
    page.get_by_label("Status").select_option("error")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.run-table tbody tr")).to_have_count(2)
    page.locator("table.run-table tbody tr").first.locator("td[data-label=Started] a").click()
    expect(page).to_have_url(re.compile(rf"/runs/{runs['long'].pk}/\?status=error"))
    shot(page, "run-detail-operator")
    page.get_by_role("button", name="Mark reviewed and next").click()
    expect(page).to_have_url(re.compile(rf"/runs/{runs['files_error'].pk}/\?status=error"))
    expect(page.get_by_role("alert")).to_contain_text("Marked the run reviewed.")
    runs["long"].refresh_from_db()
    assert runs["long"].reviewed_at is not None

    # the way back keeps the filter
    page.get_by_role("link", name="Run Checks (same filters)").click()
    expect(page).to_have_url(re.compile(r"/\?status=error$"))
    expect(page.get_by_label("Status")).to_have_value("error")
    expect(page.locator("table.run-table tbody tr")).to_have_count(1)

    # group by job: twenty missed nights are one row; reviewing the group reviews all of them
    page.goto("/")
    page.get_by_role("link", name="Group by job").click()
    expect(page).to_have_url(re.compile(r"group=job"))
    nightly_row = page.locator("table.run-table tbody tr", has_text="Nightly")
    expect(nightly_row).to_have_count(1)
    expect(nightly_row.locator(".run-count")).to_have_text("20")
    expect(nightly_row.locator(".status-badge")).to_have_text("Missed")
    files_row = page.locator("table.run-table tbody tr", has_text="Files")
    expect(files_row.locator(".status-badge")).to_have_text("Error")  # the worst of error + warning
    shot(page, "run-checks-grouped-operator")
    nightly_row.locator("input.row-check").check()
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_role("alert")).to_contain_text("Marked 20 runs reviewed.")
    expect(page).to_have_url(re.compile(r"group=job"))
    assert not Run.objects.needing_review().filter(job=queue_data["nightly"]).exists()
    assert Run.objects.needing_review().count() == 2  # Files' error and warning


def test_filter_row_stays_aligned_with_a_field_error(queue_data, logged_in_page):
    page = logged_in_page("operator", DESKTOP)
    page.goto("/?date_from=2025-03-10&date_to=2025-03-01")
    expect(page.locator(".run-filters .invalid-feedback")).to_contain_text("before the start date")
    tops = {
        label: round(page.get_by_label(label, exact=True).bounding_box()["y"])
        for label in ("Customer", "Status", "From", "To", "Search")
    }
    assert len(set(tops.values())) == 1, tops
    button = page.get_by_role("button", name="Filter").bounding_box()
    assert abs(button["y"] - tops["Search"]) <= 4, (button, tops)
    shot(page, "run-checks-filter-error-operator")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_viewer_and_admin_pages(queue_data, logged_in_page, viewport):
    viewer = logged_in_page("viewer", viewport)
    for path, name in (
        ("/", "run-checks"),
        ("/?group=job", "run-checks-grouped"),
        ("/customers/", "customer-list"),
    ):
        viewer.goto(path)
        _assert_fits(viewer, name)
        expect(viewer.get_by_role("button", name="Mark reviewed")).to_have_count(0)
        shot(viewer, f"{name}-viewer")
    viewer.goto(queue_data["runs"]["files_error"].get_absolute_url() + "?status=error")
    expect(viewer.get_by_role("button", name="Mark reviewed and next")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Run Checks (same filters)")).to_be_visible()
    shot(viewer, "run-detail-viewer")

    admin = logged_in_page("staff", viewport)
    admin.goto("/customers/")
    for link in admin.locator(".to-review-link").all():  # fully on screen, not clipped by the cell
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] - 8, box
    shot(admin, "customer-list-admin")
    admin.goto("/admin/runs/ingesttoken/add/")
    admin.get_by_label("Name").fill("Veeam mailer")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator("#new-ingest-token")).to_contain_text("bc_")
    expect(admin.locator("#new-ingest-curl")).to_contain_text("curl -X POST")
    shot(admin, "ingest-token-admin")
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin.get_by_role("button", name="Copy curl line").click()
    expect(admin.get_by_role("button", name="Copied")).to_have_count(1)
    copied = admin.evaluate("navigator.clipboard.readText()")
    assert copied == admin.locator("#new-ingest-curl").inner_text() and "Bearer bc_" in copied
    assert IngestToken.objects.count() == 1


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_autotask_settings_page(queue_data, logged_in_page, simulator_url, viewport):
    page = logged_in_page("staff", viewport)
    page.goto("/admin/autotask/autotasksettings/1/change/")
    # nothing stored: no "Clear stored …" boxes; the buttons sit right under the credentials
    expect(page.get_by_label("Clear stored secret")).to_have_count(0)
    buttons = page.locator("#autotask-connection-buttons").bounding_box()
    impersonation = page.get_by_label("Impersonation resource id").bounding_box()
    panel = page.locator("#autotask-connection-panel").bounding_box()
    assert impersonation["y"] < buttons["y"] < panel["y"]
    shot(page, "autotask-settings-admin")

    # a failed test keeps what was typed (not the secret) and says what failed in plain words
    page.get_by_label("API username").fill(SANDBOX.username)
    page.get_by_label("API secret").fill("wrong-secret-typed")
    page.get_by_label("Tracking Identifier (API integration code)").fill(SANDBOX.integration_code)
    page.get_by_label("Backupchecks base URL").fill("https://bc.example.org")
    page.get_by_role("button", name="Test connection").click()
    error = page.locator(".messagelist .error")
    expect(error).to_contain_text("Connection test failed (Sandbox)")
    expect(error).not_to_contain_text("ThresholdInformation")
    expect(page.get_by_label("API username")).to_have_value(SANDBOX.username)
    expect(page.get_by_label("Backupchecks base URL")).to_have_value("https://bc.example.org")
    expect(page.get_by_label("API secret")).to_have_value("")
    expect(page.locator("#autotask-last-test")).not_to_contain_text("ThresholdInformation")
    shot(page, "autotask-settings-failed-test-admin")

    # the right secret: stored, and now it can be cleared
    page.get_by_label("API secret").fill(SANDBOX.secret)
    page.get_by_label("Tracking Identifier (API integration code)").fill(SANDBOX.integration_code)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Connected (Sandbox)")
    expect(page.get_by_label("Clear stored secret")).to_have_count(1)
    expect(page.get_by_label("Backupchecks base URL")).to_have_value("https://bc.example.org")
    assert EnvironmentConfig.for_environment("sandbox").secret == SANDBOX.secret
    shot(page, "autotask-settings-tested-admin")
