"""Phase 6 in a real browser against the simulator served over HTTP: disable → the operator enters a manual
ticket number → re-enable with compatibility mode → link an existing ticket (created in the simulator
first) → it shows on the run and in the run's timeline."""

import pytest
from playwright.sync_api import expect

from integrations.autotask.models import AutotaskSettings, RunTicket

from .support import (
    DESKTOP,
    NO_SIDEWAYS_SCROLL,
    PHONE,
    create_user,
    enable_sandbox_over_http,
    mapped_failing_run,
    restore_role_groups,
    step_screenshots,
)

pytestmark = pytest.mark.browser

shot = step_screenshots("autotask-phase6-")


@pytest.fixture
def world(transactional_db, simulator):
    restore_role_groups(admin_autotask="manage_autotask")
    create_user("staff")
    create_user("operator")
    env = enable_sandbox_over_http()
    run, company = mapped_failing_run(simulator)
    return {"run": run, "company": company, "env": env}


def _create_ticket_in_autotask(env, company_id):
    """A ticket someone made directly in Autotask (through the API, like any other tool would)."""
    from integrations.autotask.services.connection import build_client, credentials_for

    with build_client(credentials_for(env)) as client:
        ticket_id = client.create(
            "Tickets",
            {
                "companyID": company_id,
                "title": "NAS backups failing since Monday",
                "status": 1,
                "priority": 2,
                "queueID": 29700109,
            },
        )
        return client.get("Tickets", ticket_id)


def test_disable_manual_number_reenable_and_link(logged_in_page, world, simulator):
    run = world["run"]
    admin_page = logged_in_page("staff", DESKTOP)
    operator_page = logged_in_page("operator", DESKTOP)

    # Enabled without compatibility mode: no manual entry on the run.
    operator_page.goto(f"/runs/{run.pk}/")
    expect(operator_page.locator("#ticket-number-form")).to_have_count(0)
    expect(operator_page.locator("#autotask-link-form")).to_have_count(0)

    # The admin disables the integration.
    admin_page.goto("/admin/autotask/autotasksettings/1/change/")
    expect(admin_page.locator(".field-compatibility_mode")).to_contain_text(
        "existing manual numbers stay visible"
    )
    admin_page.get_by_label("Enabled").uncheck()
    simulator.clear_requests()
    admin_page.get_by_role("button", name="Save", exact=True).click()
    expect(admin_page.locator(".messagelist .success")).to_contain_text("saved")
    assert simulator.api_call_count() == 0

    # The operator enters a manual ticket number, exactly as before the integration.
    operator_page.reload()
    operator_page.get_by_label("Manual ticket number").fill("PSA-2041")
    operator_page.locator("#ticket-number-form").get_by_role("button", name="Save").click()
    expect(operator_page.locator("#manual-ticket-number")).to_have_text("PSA-2041")
    expect(operator_page.locator("#autotask-link-form")).to_have_count(0)
    shot(operator_page, "1-disabled-manual")
    assert simulator.api_call_count() == 0

    # Re-enabled with compatibility mode.
    admin_page.goto("/admin/autotask/autotasksettings/1/change/")
    admin_page.get_by_label("Enabled").check()
    admin_page.get_by_label("Compatibility mode").check()
    admin_page.get_by_role("button", name="Save", exact=True).click()
    expect(admin_page.locator(".messagelist .success")).to_contain_text("saved")
    settings = AutotaskSettings.load()
    assert settings.enabled and settings.compatibility_mode

    # Someone created a ticket directly in Autotask; the operator links it by its number as typed.
    ticket = _create_ticket_in_autotask(world["env"], world["company"]["id"])
    simulator.clear_requests()
    operator_page.reload()
    expect(operator_page.locator("#manual-ticket-number")).to_have_text("PSA-2041")
    expect(operator_page.locator("#ticket-number-form")).to_be_visible()
    operator_page.get_by_label("Link an existing Autotask ticket").fill(" " + ticket["ticketNumber"].lower())
    operator_page.get_by_role("button", name="Look up").click()
    expect(operator_page.locator("#link-ticket-title")).to_have_text("NAS backups failing since Monday")
    expect(operator_page.locator("#link-ticket-company")).to_contain_text(world["company"]["companyName"])
    expect(operator_page.locator("#link-ticket-status")).to_contain_text("New")
    expect(operator_page.locator("#link-company-warning")).to_have_count(0)
    shot(operator_page, "2-confirm")
    operator_page.get_by_role("button", name=f"Link ticket {ticket['ticketNumber']}").click()

    expect(operator_page.locator(".alert-success")).to_contain_text(
        f"Linked Autotask ticket {ticket['ticketNumber']}"
    )
    expect(operator_page.locator("#autotask-ticket-number")).to_have_text(ticket["ticketNumber"])
    timeline = operator_page.locator("#autotask-timeline")
    expect(timeline).to_contain_text("Existing ticket linked")
    expect(timeline).to_contain_text(ticket["ticketNumber"])
    expect(timeline).to_contain_text("e2e-operator")
    expect(operator_page.locator("#autotask-link-form")).to_have_count(0)
    shot(operator_page, "3-linked")
    assert RunTicket.objects.get(run=run).ticket.ticket_id == ticket["id"]
    # the lookup by number + the link's own lookup by id; nothing written to Autotask
    assert [r.method for r in simulator.requests if r.authenticated] == ["POST", "GET"]

    # The admin's audit log, filtered to this run from the run page's link: readable labels, the run's events.
    admin_page.goto(f"/runs/{run.pk}/")
    admin_page.get_by_role("link", name="Open in the audit log").click()
    expect(admin_page.locator("#changelist-filter")).to_contain_text(f"Run {run.pk}")
    expect(admin_page.locator("td.field-event", has_text="Existing ticket linked")).to_have_count(1)
    expect(admin_page.locator("td.field-event", has_text="Settings changed")).to_have_count(0)
    # the customer filter lists no customers (2,000 would not fit): the "about" column links to it
    shot(admin_page, "5-audit-log")
    admin_page.locator("td.field-subject").get_by_role("link", name="Hartwell Dental").first.click()
    expect(admin_page.locator("#changelist-filter")).to_contain_text("Hartwell Dental")

    # The run page fits a phone.
    phone = logged_in_page("operator", PHONE)
    phone.goto(f"/runs/{run.pk}/")
    expect(phone.locator("#autotask-timeline")).to_be_visible()
    shot(phone, "4-phone")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
