"""Small truths an operator and a viewer see, in a real browser (issue hpol).

- Enter in the Autotask company search (customer admin) sends ONE request; typing then pausing searches as
  before; the checkbox searches once; without JavaScript, Enter opens the results page.
- Placeholders of ticket-number inputs read "e.g. …" and are italic, on a phone too.
- A viewer following an operator link gets the 403 page in the site layout, naming the role.
- Job Details on a phone: the Autotask ticket sits in the one "Ticket" cell, with no "—" beside it.
Set AUTOTASK_E2E_SCREENSHOTS=1 to keep desktop (1366 px) and phone (375 px) screenshots in test-artifacts/.
"""

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.models import (
    AutotaskSettings,
    AutotaskTicket,
    RunTicket,
    TicketOrigin,
    TicketState,
)
from integrations.autotask.simulator import SANDBOX
from runs.roles import ADMIN, VIEWER

from . import test_autotask_tickets as tickets_e2e
from .conftest import PHONE
from .test_autotask_tickets import DESKTOP_WIDE, NO_SIDEWAYS_SCROLL, PASSWORD, shot

pytestmark = pytest.mark.browser

# the phase 4 browser test's fixtures: the simulator over HTTP, an operator and a failing run of a mapped customer
simulator = tickets_e2e.simulator
failing_run = tickets_e2e.failing_run

SEARCH_PATH = "/autotask/customers/"
ITALIC = "el => getComputedStyle(el, '::placeholder').fontStyle"


@pytest.fixture
def staff_admin(failing_run):
    user = User.objects.create_user("e2e-admin", password=PASSWORD, is_staff=True)
    group = Group.objects.get(name=ADMIN)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="autotask"))
    user.groups.add(group)
    return user


@pytest.fixture
def viewer(failing_run):
    user = User.objects.create_user("e2e-viewer", password=PASSWORD)
    user.groups.add(Group.objects.get(name=VIEWER))
    return user


def _company_searches(page):
    """The list of company-search URLs the page requests, growing as it runs."""
    seen = []
    page.on("request", lambda request: seen.append(request.url) if SEARCH_PATH in request.url else None)
    return seen


def test_enter_in_the_company_search_sends_one_request(staff_admin, simulator, new_page, log_in):
    customer = Customer.objects.create(name="Contoso Pharmacy")
    company = next(c for c in simulator.companies(SANDBOX.database_id) if c["id"] and c["isActive"])
    page = new_page(DESKTOP_WIDE)
    log_in(page, "e2e-admin", PASSWORD)
    page.clock.install()
    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)  # page timers run only when the test says so
    searches = _company_searches(page)
    box = page.get_by_label("Search Autotask companies")

    # Type and press Enter before the search-as-you-type pause: one request.
    box.press_sequentially(company["companyName"][:5])
    box.press("Enter")
    expect(
        page.locator("#autotask-search-results label").filter(has_text=f"id {company['id']}")
    ).to_be_visible()
    page.clock.run_for(2000)  # any search-as-you-type timer still pending would fire now
    page.wait_for_load_state("networkidle")
    assert len(searches) == 1, searches

    # Enter again on the same text: one more request (one per Enter, never two).
    box.press("Enter")
    page.clock.run_for(2000)
    page.wait_for_load_state("networkidle")
    assert len(searches) == 2, searches

    # Typing and pausing still searches as you type, once.
    box.press("End")
    box.press("Backspace")
    page.clock.run_for(400)
    page.wait_for_load_state("networkidle")
    assert len(searches) == 3, searches
    # The checkbox searches once.
    page.get_by_label("include inactive companies").check()
    page.clock.run_for(2000)
    page.wait_for_load_state("networkidle")
    assert len(searches) == 4, searches
    assert "include_inactive=1" in searches[-1]
    shot(page, "hpol-company-search")


def test_company_search_works_by_keyboard_without_javascript(
    staff_admin, simulator, browser, live_server, log_in
):
    customer = Customer.objects.create(name="Contoso Pharmacy")
    company = next(c for c in simulator.companies(SANDBOX.database_id) if c["id"] and c["isActive"])
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url, viewport=PHONE)
    try:
        page = context.new_page()
        log_in(page, "e2e-admin", PASSWORD)
        searches = _company_searches(page)
        page.goto(f"/admin/customers/customer/{customer.pk}/change/")
        box = page.get_by_label("Search Autotask companies")
        box.fill(company["companyName"][:5])
        box.press("Enter")
        page.wait_for_url(f"**{SEARCH_PATH}{customer.pk}/companies/?q=*")
        expect(page.locator("#autotask-search-results")).to_contain_text(f"id {company['id']}")
        assert len(searches) == 1, searches
    finally:
        context.close()


def test_ticket_number_placeholders_look_like_placeholders_on_a_phone(
    failing_run, simulator, new_page, log_in
):
    settings = AutotaskSettings.load()
    settings.compatibility_mode = True  # offers Link (bulk bar and run page)
    settings.save()
    page = new_page(PHONE)
    log_in(page, "e2e-operator", PASSWORD)
    page.goto("/")
    bulk = page.locator("#bulk-ticket-reference")
    expect(bulk).to_be_visible()
    assert bulk.get_attribute("placeholder").startswith("e.g. ")
    assert bulk.evaluate(ITALIC) == "italic"
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "hpol-bulk-placeholder-phone")

    page.goto(f"/runs/{failing_run.pk}/")
    for selector in ("#autotask-link-reference", "#id_manual_ticket_number"):
        field = page.locator(selector)
        expect(field).to_be_visible()
        assert field.get_attribute("placeholder").startswith("e.g. "), selector
        assert field.evaluate(ITALIC) == "italic", selector
    shot(page, "hpol-link-placeholder-phone")


def test_viewer_following_an_operator_link_sees_the_403_page(viewer, failing_run, new_page, log_in):
    for viewport, name in ((DESKTOP_WIDE, "desktop"), (PHONE, "phone")):
        page = new_page(viewport)
        log_in(page, "e2e-viewer", PASSWORD)
        page.goto(f"/runs/{failing_run.pk}/")
        response = page.goto(f"/autotask/runs/{failing_run.pk}/ticket/")
        assert response.status == 403
        expect(page.locator("#needed-role")).to_contain_text("It needs the Operator role")
        expect(page.get_by_role("link", name="Run Checks").first).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        shot(page, f"hpol-403-{name}")


def test_job_details_ticket_cell_on_a_phone(failing_run, simulator, new_page, log_in):
    ticket = AutotaskTicket.objects.create(
        environment="sandbox",
        database_id=SANDBOX.database_id,
        correlation_key="k-hpol",
        state=TicketState.CREATED,
        origin=TicketOrigin.CREATED,
        ticket_id=7703,
        ticket_number="T20261101.7703",
        title="Ticket 7703",
        status_id=8,
    )
    RunTicket.objects.create(run=failing_run, ticket=ticket)
    page = new_page(PHONE)
    log_in(page, "e2e-operator", PASSWORD)
    page.goto(f"/jobs/{failing_run.job_id}/")
    cell = page.locator("td.ticket-cell").first
    expect(cell).to_be_visible()
    expect(cell).to_contain_text("T20261101.7703")
    assert "—" not in cell.inner_text()
    label = cell.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Ticket: "'
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "hpol-job-details-phone")
