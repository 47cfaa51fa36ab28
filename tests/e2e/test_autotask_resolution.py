"""An operator resolves two Autotask tickets in a real browser: one without time entries (note + closed,
from the run page) and one with time logged (note only, from its Run Checks row). The simulator is served
over HTTP; the ticket rows are written in the set-up (phase 4's UI creates them in the product)."""

import httpx
import pytest
from playwright.sync_api import expect

from integrations.autotask.services.resolution import note_marker
from integrations.autotask.simulator import SANDBOX
from tests.integration.autotask_resolution.conftest import (
    create_sim_ticket,
    enable_sandbox,
    link_ticket,
    make_run,
    sandbox_company,
)

from .support import DESKTOP, PHONE, create_user, restore_role_groups, save_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def two_tickets(transactional_db, simulator):
    restore_role_groups()
    create_user("operator")
    env_config = enable_sandbox()
    company_id = sandbox_company(simulator)["id"]
    tickets = {}
    for key, job in (("closed", "Nightly VM backup"), ("note_only", "File server backup")):
        run = make_run(job_name=job)
        ticket_id, number = create_sim_ticket(env_config, company_id, title=f"Backup failed: {job}")
        tickets[key] = (run, link_ticket([run], env_config, ticket_id, number, company_id))
    # A technician logs time on the second ticket (the simulator's control API, over HTTP).
    _run, logged = tickets["note_only"]
    response = httpx.post(
        f"{simulator.base}/_simulator/tenants/{SANDBOX.database_id}/tickets/{logged.ticket_id}/time-entries",
        json={"hours": 0.5},
    )
    assert response.status_code == 200
    simulator.clear_requests()
    return tickets


def our_notes(sim, ticket):
    marker = note_marker(ticket)
    return [
        n for n in sim.ticket_notes(SANDBOX.database_id, ticket.ticket_id) if marker in (n["title"] or "")
    ]


def status_of(sim, ticket):
    return next(t for t in sim.tickets(SANDBOX.database_id) if t["id"] == ticket.ticket_id)["status"]


def shot(page, name):
    save_screenshot(page, f"autotask-resolution-{name}")


def test_operator_resolves_both_branches(two_tickets, simulator, logged_in_page):
    page = logged_in_page("operator", DESKTOP)

    # --- no time entries: from the run page → note + closed ---------------------------------------------
    run, ticket = two_tickets["closed"]
    page.goto(run.get_absolute_url())
    expect(page.locator("#resolution-outcome")).to_have_text("Not resolved from Backupchecks yet.")
    page.get_by_role("link", name="Resolve ticket", exact=True).click()
    expect(
        page.get_by_role("heading", name=f"Resolve Autotask ticket {ticket.ticket_number}")
    ).to_be_visible()
    expect(page.locator("#resolve-prediction")).to_contain_text("depends on the time entries")
    assert simulator.api_call_count() == 0  # the confirmation page read the database only
    page.get_by_label("Remark (optional)").fill("Replaced the failing disk; rerun succeeded.")
    shot(page, "confirm-desktop")
    page.get_by_role("button", name="Resolve ticket").click()
    page.wait_for_url(f"**{run.get_absolute_url()}")
    expect(page.get_by_role("alert")).to_contain_text(
        f"Ticket {ticket.ticket_number}: internal note added and the ticket set to “Complete”"
    )
    expect(page.locator("#resolution-outcome")).to_contain_text("Internal note added and the ticket closed")
    expect(page.locator("#autotask-resolution")).to_contain_text("Replaced the failing disk")
    expect(page.locator("#resolve-ticket-button")).to_have_count(0)
    expect(page.locator("#ticket-known-status")).to_contain_text("Autotask status “Complete” (5), complete")
    shot(page, "closed-desktop")
    assert status_of(simulator, ticket) == 5
    (note,) = our_notes(simulator, ticket)
    assert note["publish"] == 2 and "Replaced the failing disk" in note["description"]

    # --- time logged: from the Run Checks row → note only, ticket stays open -----------------------------
    run, ticket = two_tickets["note_only"]
    page.goto("/")
    row = page.locator("table.run-table tbody tr", has_text="File server backup")
    expect(row.locator(".resolve-ticket")).to_be_visible()
    shot(page, "run-checks-before-desktop")
    row.get_by_role("link", name=f"Resolve the Autotask ticket of run {run.pk}").click()
    expect(page.locator("#resolve-prediction")).to_contain_text(
        "with time logged, it adds an internal note only"
    )
    page.get_by_role("button", name="Resolve ticket").click()
    page.wait_for_url("**/")
    expect(page.get_by_role("alert")).to_contain_text("the ticket stays open because time was logged on it")
    row = page.locator("table.run-table tbody tr", has_text="File server backup")
    expect(row.locator(".autotask-resolution")).to_contain_text("Note added · open (time logged)")
    expect(row.locator(".resolve-ticket")).to_have_count(0)
    shot(page, "run-checks-desktop")
    assert status_of(simulator, ticket) == 1
    assert len(our_notes(simulator, ticket)) == 1

    # --- the same pages on a phone ------------------------------------------------------------------------
    phone = logged_in_page("operator", PHONE)
    phone.goto("/")
    expect(phone.locator(".autotask-resolution").first).to_be_visible()
    shot(phone, "run-checks-phone")
    phone.goto(run.get_absolute_url())
    expect(phone.locator("#autotask-resolution")).to_contain_text("stays open because time was logged")
    shot(phone, "note-only-phone")
