"""The Content-Security-Policy allows no inline style (style-src 'self' + a per-response nonce), and no page
needs one: a staff Admin opens a page of every kind at 1366 px and 375 px in a real Chromium, and the
browser reports no Content Security Policy violation on any of them.

The pages: login, Run Checks with the bulk bar (a run checked) and the customer suggestions open, a run
with an Autotask ticket, Job Details, the customer list, a bulk job's progress page (polling via htmx), the
integration health page, the Autotask settings admin page, the customer mapping page with search results
(htmx), an admin change list, a change form with its autocomplete and calendar open, a 403 and a 404. Things that an inline style used to hide must stay hidden
(the suggestion list before typing, the phone's collapsed menu, the `.htmx-indicator` rules).
Screenshots: test-artifacts/csp/<page>-<width>.png.
"""

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.services.bulk import start_bulk_action
from tests.integration.autotask_resolution.conftest import (
    create_sim_ticket,
    enable_sandbox,
    link_ticket,
    make_run,
    sandbox_company,
)

from .support import VIEWPORT_IDS, VIEWPORTS, create_user, restore_role_groups, save_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db, simulator, settings):
    """A staff Admin, the Sandbox enabled (simulator over HTTP), a run with a ticket, a mapped customer's
    run without one (in a queued bulk job: no worker runs it) and an unmapped customer to map."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # a queue nobody works off
    restore_role_groups(admin_autotask="all")  # the settings, health and mapping pages too
    staff = create_user("staff")
    env_config = enable_sandbox()
    company = sandbox_company(simulator)
    ticketed = make_run(customer_name="Acme Dental", job_name="Nightly VM backup")
    ticket_id, number = create_sim_ticket(env_config, company["id"])
    link_ticket([ticketed], env_config, ticket_id, number, company["id"])
    open_run = make_run(customer_name="Acme Dental", job_name="SQL backup", status="warning")
    CompanyMapping.objects.create(
        customer=open_run.job.customer,
        environment="sandbox",
        database_id=env_config.database_id,
        company_id=company["id"],
        company_name=company["companyName"],
    )
    job = start_bulk_action(user=staff, action="create", run_ids=[open_run.pk])
    unmapped = Customer.objects.create(name="Harbour Logistics")
    return {
        "ticketed": ticketed,
        "number": number,
        "open_run": open_run,
        "bulk_job": job,
        "unmapped": unmapped,
        "company": company,
    }


def watch_csp(page):
    """Every console message (any level) and uncaught page error that mentions the CSP."""
    violations = []

    def note(text):
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            violations.append(f"{page.url}: {text}")

    page.on("console", lambda message: note(message.text))
    page.on("pageerror", lambda error: note(str(error)))
    return violations


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_no_page_needs_an_inline_style(site, new_page, log_in, viewport):
    width = viewport["width"]
    page = new_page(viewport)
    violations = watch_csp(page)

    def shot(name):
        save_screenshot(page, f"{name}-{width}", folder="csp")

    def visit(url, ready, name=None):
        page.goto(url)
        expect(ready).to_be_visible()
        if name:
            shot(name)

    # The login page (anonymous), then every signed-in page as a staff Admin.
    page.goto("/login/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shot("login")
    log_in(page, "e2e-admin")

    # Run Checks: the bulk bar with a run checked, the customer suggestions open.
    expect(page.get_by_role("heading", name="Run Checks")).to_be_visible()
    expect(page.locator("#autotask-bulk")).to_be_visible()
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions).to_be_hidden()  # hidden by a class (d-none), not by an inline style
    if width < 768:
        expect(page.locator("#mainnav")).to_be_hidden()  # the phone's menu stays collapsed
    page.get_by_label(f"Select run {site['open_run'].pk}").check()
    search = page.get_by_role("combobox", name="Customer")
    search.click()
    search.press_sequentially("Acm")
    expect(suggestions.get_by_role("option", name="Acme Dental")).to_be_visible()
    shot("run-checks")
    search.press("Escape")
    expect(suggestions).to_be_hidden()
    if width < 768:  # Bootstrap's collapse animates the menu open through CSSOM, which the CSP allows
        page.get_by_role("button", name="Toggle navigation").click()
        expect(page.locator("#mainnav")).to_be_visible()

    # A run with an Autotask ticket, Job Details, the customer list.
    ticketed = site["ticketed"]
    visit(f"/runs/{ticketed.pk}/", page.get_by_text(site["number"]).first, "run-detail")
    visit(f"/jobs/{ticketed.job_id}/", page.get_by_role("heading", name="Run history"), "job-detail")
    visit("/customers/", page.get_by_role("heading", name="Customers"))

    # The bulk job's progress page: htmx polls its fragment (a swap must not inject a style either).
    job = site["bulk_job"]
    visit(f"/autotask/bulk/{job.pk}/", page.locator("#bulk-state"), "bulk-progress")
    with page.expect_response(lambda response: f"/autotask/bulk/{job.pk}/progress" in response.url):
        pass  # one poll came back and was swapped in
    expect(page.locator("#bulk-state")).to_have_text("Queued")

    visit("/autotask/health/", page.get_by_role("heading", name="Autotask integration health"), "health")

    # The admin: the Autotask settings page, the mapping page with search results (htmx), a change list.
    settings_pk = AutotaskSettings.load().pk
    visit(
        f"/admin/autotask/autotasksettings/{settings_pk}/change/", page.locator("#content"), "admin-settings"
    )
    visit(
        f"/admin/customers/customer/{site['unmapped'].pk}/change/", page.locator("#autotask-mapping-current")
    )
    page.get_by_label("Search Autotask companies").press_sequentially(site["company"]["companyName"][:6])
    expect(page.locator("#autotask-search-results label").first).to_be_visible()
    shot("admin-mapping")
    visit("/admin/runs/run/", page.locator("#result_list"), "admin-changelist")
    # A change form with the admin's scripted widgets open: the job autocomplete (select2, jQuery) and the
    # date shortcuts' calendar — they position and hide things through CSSOM, which the CSP allows.
    visit(f"/admin/runs/run/{ticketed.pk}/change/", page.locator("#run_form"))
    page.locator(".field-job .select2-selection").click()
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".select2-results__option")).to_have_count(0)
    page.locator("#calendarlink0").click()  # the started-at date's calendar icon
    expect(page.locator("#calendarbox0")).to_be_visible()
    shot("admin-change-form")

    # Error pages: the admin's own refusal (no one may add a second settings row) and a missing run.
    visit("/admin/autotask/autotasksettings/add/", page.locator("#error-403"), "403")
    visit("/runs/999999/", page.locator("#error-404"))

    assert violations == []
    # The indicator rules htmx would have injected come from our CSS: an indicator is hidden until a request.
    hidden = page.evaluate(
        """() => { const el = document.createElement('span'); el.className = 'htmx-indicator';
                   document.body.append(el); return getComputedStyle(el).visibility; }"""
    )
    assert hidden == "hidden"
    assert page.locator("head style").count() == 0  # htmx injected nothing
