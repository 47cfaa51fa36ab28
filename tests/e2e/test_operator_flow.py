"""The operator's daily flow in a real browser (Chromium via Playwright) against the live server."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from runs.models import ATTENTION_STATUSES, Run

from .support import HAS_NO_HORIZONTAL_OVERFLOW, PHONE, create_user, restore_role_groups, save_screenshot

pytestmark = pytest.mark.browser

# Tables must not hide columns behind a sideways scroll either (on phones their rows stack as cards).
TABLES_THAT_SCROLL_SIDEWAYS = """() => [...document.querySelectorAll(".table-responsive")]
    .filter((box) => box.scrollWidth > box.clientWidth + 1)
    .map((box) => box.querySelector("table")?.className || "?")"""


@pytest.fixture
def demo(transactional_db):
    # The live server needs a transactional database, whose flush between tests also empties the groups
    # that the roles data migration created: put them back.
    restore_role_groups(autotask=False)
    call_command("seed_demo", customers=3, days=5, no_users=True, stdout=io.StringIO())
    needs_review = Run.objects.filter(status__in=ATTENTION_STATUSES, reviewed_at__isnull=True)
    assert needs_review.exists(), "the demo seed should leave unreviewed failing runs"
    return {
        "operator": create_user("operator"),
        "viewer": create_user("viewer"),
        "needs_review": needs_review,
    }


def _csrf_token(page):
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def test_operator_saves_ticket_number_and_viewer_cannot(demo, logged_in_page):
    # --- the operator sees the failing runs on Run Checks -------------------------------------------------
    page = logged_in_page("operator")
    expect(page.get_by_role("heading", name="Run Checks")).to_be_visible()
    rows = page.locator("table.run-table tbody tr")
    expected_rows = min(demo["needs_review"].count(), 50)
    expect(rows).to_have_count(expected_rows)
    newest = demo["needs_review"].select_related("job").order_by("-started_at", "-id").first()
    first_row = rows.first
    expect(first_row).to_contain_text(newest.job.name)
    expect(first_row.locator(".status-badge")).to_have_text(newest.get_status_display())

    # --- opens the newest one and saves a manual ticket number ------------------------------------------
    first_row.get_by_role("link", name=newest.started_at.strftime("%Y-%m-%d %H:%M")).click()
    page.wait_for_url(f"**/runs/{newest.pk}/")
    ticket_input = page.get_by_label("Manual ticket number")
    ticket_input.fill("T20250310.0042")
    page.locator("#ticket-number-form").get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Saved ticket number T20250310.0042")

    page.reload()
    expect(page.locator("#manual-ticket-number")).to_have_text("T20250310.0042")
    expect(page.get_by_label("Manual ticket number")).to_have_value("T20250310.0042")
    newest.refresh_from_db()
    assert newest.manual_ticket_number == "T20250310.0042"

    # --- a viewer sees the run but no edit control, and a forged POST is refused ----------------------------
    viewer_page = logged_in_page("viewer")
    expect(viewer_page.locator("table.run-table tbody tr")).to_have_count(expected_rows)
    expect(viewer_page.locator('input[name="runs"]')).to_have_count(0)
    expect(viewer_page.get_by_role("button", name="Mark reviewed")).to_have_count(0)

    viewer_page.goto(f"/runs/{newest.pk}/")
    expect(viewer_page.locator("#manual-ticket-number")).to_have_text("T20250310.0042")
    expect(viewer_page.locator('input[name="manual_ticket_number"]')).to_have_count(0)
    expect(viewer_page.locator("main form")).to_have_count(0)
    expect(viewer_page.get_by_role("button", name="Save")).to_have_count(0)

    token = _csrf_token(viewer_page)
    for path, data in [
        (f"/runs/{newest.pk}/ticket-number/", {"manual_ticket_number": "FORGED"}),
        (f"/runs/{newest.pk}/review/", {"reviewed": "1"}),
        ("/runs/review/", {"runs": str(newest.pk)}),
    ]:
        forged = viewer_page.request.post(
            path, form={**data, "csrfmiddlewaretoken": token}, headers={"X-CSRFToken": token}, max_redirects=0
        )
        assert forged.status == 403, path
    newest.refresh_from_db()
    assert newest.manual_ticket_number == "T20250310.0042" and newest.reviewed_at is None

    # the same request from the operator's session is accepted: the 403 above is the permission, not CSRF
    allowed = page.request.post(
        f"/runs/{newest.pk}/ticket-number/",
        form={"manual_ticket_number": "T-OPERATOR", "csrfmiddlewaretoken": _csrf_token(page)},
        max_redirects=0,
    )
    assert allowed.status == 302
    newest.refresh_from_db()
    assert newest.manual_ticket_number == "T-OPERATOR"


def test_operator_marks_runs_reviewed_from_run_checks(demo, logged_in_page):
    page = logged_in_page("operator")
    before = demo["needs_review"].count()
    checkboxes = page.locator('table.run-table tbody input[name="runs"]')
    checkboxes.nth(0).check()
    if before > 1:
        checkboxes.nth(1).check()
    page.get_by_role("button", name="Mark reviewed").click()
    marked = min(before, 2)
    expect(page.get_by_role("alert")).to_contain_text(f"Marked {marked} run")
    assert demo["needs_review"].count() == before - marked
    assert Run.objects.filter(reviewed_by=demo["operator"]).count() == marked


def test_run_checks_fits_a_phone_screen(demo, logged_in_page):
    page = logged_in_page("operator", PHONE)
    expect(page.get_by_role("heading", name="Run Checks")).to_be_visible()
    save_screenshot(page, "run-checks-375")
    assert page.evaluate(HAS_NO_HORIZONTAL_OVERFLOW), "Run Checks overflows horizontally at 375px"
    # filters stack: each filter field spans the full width of the page
    customer_select = page.get_by_label("Customer").bounding_box()
    search_box = page.get_by_label("Search").bounding_box()
    assert customer_select["width"] > 300 and search_box["width"] > 300
    assert search_box["y"] > customer_select["y"]
    # each run is a card: the job link, the summary and the checkbox are all on screen without scrolling
    assert page.evaluate(TABLES_THAT_SCROLL_SIDEWAYS) == []
    first_row = page.locator("table.run-table tbody tr").first
    for part in (
        first_row.locator("td").nth(3).get_by_role("link"),
        first_row.locator("td.summary-cell"),
        first_row.locator('input[name="runs"]'),
    ):
        box = part.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_every_page_renders_without_horizontal_overflow(demo, logged_in_page, viewport):
    page = logged_in_page("operator", viewport)
    run = demo["needs_review"].select_related("job").first()
    pages = {
        "run-checks": "/",
        "run-detail": f"/runs/{run.pk}/",
        "job-detail": f"/jobs/{run.job_id}/",
        "customer-list": "/customers/",
        "customer-detail": f"/customers/{run.job.customer_id}/",
    }
    overflowing = []
    for name, path in pages.items():
        response = page.goto(path)
        assert response.status == 200, path
        save_screenshot(page, f"{name}-{viewport['width']}", folder="pages")
        if not page.evaluate(HAS_NO_HORIZONTAL_OVERFLOW):
            overflowing.append(name)
        overflowing.extend(f"{name}: {table}" for table in page.evaluate(TABLES_THAT_SCROLL_SIDEWAYS))
    assert overflowing == []


def test_status_strip_shows_a_symbol_as_well_as_a_colour(demo, logged_in_page):
    page = logged_in_page("operator")
    run = demo["needs_review"].first()
    page.goto(f"/jobs/{run.job_id}/")
    symbols = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(".status-strip .cell")].map((cell) => [
            [...cell.classList].find((c) => c.startsWith("status-")),
            getComputedStyle(cell, "::after").content,
        ]))"""
    )
    assert symbols[f"status-{run.status}"] not in ("none", "normal", "")
    assert len(set(symbols.values())) == len(symbols)  # one distinct symbol per status
