"""An operator creates an Autotask ticket in a real browser, against the simulator served over HTTP.

Opens a failing run, previews, creates, sees the number linking to Autotask; the button is gone; a stale
second tab submitting again is told "already has ticket T…" and no second ticket appears in Autotask.
Set AUTOTASK_E2E_SCREENSHOTS=1 to keep desktop (1366 px) and phone (375 px) screenshots in test-artifacts/.
"""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.services import tickets
from integrations.autotask.simulator import SANDBOX
from runs.models import BackupJob
from tests.integration.autotask_tickets.conftest import configure_integration, make_run, map_customer

from .conftest import simulator  # noqa: F401 - importable from here, as the bulk browser tests did
from .support import (
    DESKTOP,
    NO_SIDEWAYS_SCROLL,
    PASSWORD,  # noqa: F401 - see DESKTOP_WIDE
    PHONE,
    create_user,
    restore_role_groups,
    step_screenshots,
)

pytestmark = pytest.mark.browser

shot = step_screenshots("autotask-tickets-")
#: like PASSWORD, `simulator` and `shot`: imported from here by browser tests written before the shared set-up
DESKTOP_WIDE = DESKTOP


@pytest.fixture
def failing_run(transactional_db, simulator, live_server):  # noqa: F811
    restore_role_groups()
    create_user("operator")
    env_config = configure_integration(base_url=live_server.url)
    customer = Customer.objects.create(name="Northwind Dental Group")
    map_customer(customer, env_config)
    job = BackupJob.objects.create(
        customer=customer, name="Agent Backup - FS01", backup_software="Veeam Agent for Windows"
    )
    run = make_run(job)
    simulator.clear_requests()
    return run


def _our_tickets(sim):
    return [t for t in sim.tickets(SANDBOX.database_id) if (t["externalID"] or "").startswith("BC-")]


def test_operator_creates_exactly_one_ticket(failing_run, simulator, logged_in_page):  # noqa: F811
    run = failing_run
    page = logged_in_page("operator", DESKTOP)

    # A second tab opens the preview now and is left alone (it goes stale).
    stale = page.context.new_page()
    stale.goto(f"/autotask/runs/{run.pk}/ticket/")
    expect(stale.get_by_role("button", name="Create ticket in Autotask")).to_be_visible()

    # On a phone the preview fits the screen too.
    phone = logged_in_page("operator", PHONE)
    phone.goto(f"/autotask/runs/{run.pk}/ticket/")
    expect(phone.get_by_role("button", name="Create ticket in Autotask")).to_be_visible()
    shot(phone, "0-phone-preview")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)

    # The operator finds the run on Run Checks and opens it.
    page.goto("/")
    row = page.locator("table.run-table tbody tr", has_text="Agent Backup - FS01")
    expect(row.get_by_role("link", name=f"Create Autotask ticket for run {run.pk}")).to_be_visible()
    shot(page, "1-run-checks")
    row.get_by_role("link", name=run.started_at.strftime("%Y-%m-%d %H:%M")).click()
    page.wait_for_url(f"**/runs/{run.pk}/")
    page.get_by_role("link", name="Create Autotask ticket").click()

    # The preview: exactly what will be sent, and nothing sent yet.
    expect(page.get_by_role("heading", name="Create Autotask ticket")).to_be_visible()
    expect(page.locator("#preview-title")).to_have_text(
        "Backup Error: Northwind Dental Group – Agent Backup - FS01"
    )
    expect(page.locator("#preview-description")).to_contain_text(
        f"Job Details: {page.url.split('/autotask')[0]}/jobs/"
    )
    shot(page, "2-preview")
    assert simulator.api_call_count() == 0

    page.get_by_role("button", name="Create ticket in Autotask").click()
    page.wait_for_url(f"**/runs/{run.pk}/")
    record = tickets.ticket_for_run(run)
    assert record is not None and record.ticket_number
    expect(page.get_by_role("alert")).to_contain_text(f"Created Autotask ticket {record.ticket_number}.")
    link = page.locator("#autotask-ticket-number").get_by_role("link", name=record.ticket_number)
    expect(link).to_have_attribute(
        "href",
        "https://ww2.autotask.net/Autotask/AutotaskExtend/ExecuteCommand.aspx"
        f"?Code=OpenTicketDetail&TicketID={record.ticket_id}",
    )
    expect(page.get_by_role("link", name="Create Autotask ticket")).to_have_count(0)
    shot(page, "3-created")
    assert len(_our_tickets(simulator)) == 1

    # The stale tab submits its old preview: refused, with the ticket number, and nothing new in Autotask.
    simulator.clear_requests()
    stale.get_by_role("button", name="Create ticket in Autotask").click()
    stale.wait_for_url(f"**/runs/{run.pk}/")
    expect(stale.get_by_role("alert")).to_contain_text(f"already has Autotask ticket {record.ticket_number}")
    assert simulator.api_call_count() == 0
    assert len(_our_tickets(simulator)) == 1

    # Run Checks and the job's history show the number, linking to Autotask.
    page.goto("/")
    row = page.locator("table.run-table tbody tr", has_text="Agent Backup - FS01")
    expect(row.get_by_role("link", name=record.ticket_number)).to_be_visible()
    expect(row.get_by_role("link", name=re.compile("Create Autotask ticket"))).to_have_count(0)
    page.goto(f"/jobs/{run.job_id}/")
    expect(page.get_by_role("link", name=record.ticket_number)).to_be_visible()
    shot(page, "4-job-details")

    # Phones: the run page with its ticket fits the screen.
    phone.goto(f"/runs/{run.pk}/")
    expect(phone.locator("#autotask-ticket-number")).to_contain_text(record.ticket_number)
    shot(phone, "5-phone-run")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
