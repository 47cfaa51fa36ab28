"""A run's Autotask ticket is shown ONCE per place, for operators and viewers, on a desktop and a phone:
one badge (number + state) per Run Checks row, one ticket panel per run page, actions that do not repeat
the number, and no sideways scrolling at 375 px. Screenshots: test-artifacts/autotask-display-*.png."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket, TicketOrigin
from tests.integration.autotask_resolution.conftest import (
    create_sim_ticket,
    enable_sandbox,
    link_ticket,
    make_run,
    sandbox_company,
)

from .support import (
    NO_SIDEWAYS_SCROLL,
    VIEWPORT_IDS,
    VIEWPORTS,
    create_user,
    restore_role_groups,
    save_screenshot,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def ticketed(transactional_db, simulator):
    restore_role_groups()
    for role in ("operator", "viewer"):
        create_user(role)
    env_config = enable_sandbox()
    company_id = sandbox_company(simulator)["id"]
    runs = {}
    for key, job in (
        ("created", "Nightly VM backup of the accounting servers"),
        ("resolved", "File server backup"),
        ("linked", "Exchange Online backup"),
    ):
        run = make_run(job_name=job)
        ticket_id, number = create_sim_ticket(env_config, company_id, title=f"Backup failed: {job}")
        ticket = link_ticket([run], env_config, ticket_id, number, company_id)
        runs[key] = (run, ticket)
    run, ticket = runs["resolved"]
    AutotaskTicket.objects.filter(pk=ticket.pk).update(
        resolution_outcome="closed",
        resolved_at=timezone.now(),
        resolution_remark="Replaced the failing disk",
        is_complete=True,
        status_id=5,
        status_checked_at=timezone.now(),
    )
    run, ticket = runs["linked"]
    AutotaskTicket.objects.filter(pk=ticket.pk).update(origin=TicketOrigin.LINKED)
    RunTicket.objects.create(run=make_run(job_name="Exchange Online backup"), ticket=ticket)  # shared
    AuditEvent.record(
        "ticket_linked", user=None, environment="sandbox", run=run, message=f"Linked {ticket.ticket_number}"
    )
    sql_run = make_run(job_name="SQL backup")  # no ticket yet: Create (offered for a mapped customer only)
    from integrations.autotask.models import CompanyMapping

    CompanyMapping.objects.get_or_create(
        customer=sql_run.job.customer,
        environment="sandbox",
        defaults={"database_id": env_config.database_id, "company_id": company_id, "company_name": "Mapped"},
    )
    simulator.clear_requests()
    return runs


def _no_sideways_scroll(page):
    assert page.evaluate(NO_SIDEWAYS_SCROLL)


@pytest.mark.parametrize("who", ["operator", "viewer"])
@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_each_ticket_is_shown_once(ticketed, simulator, logged_in_page, who, viewport):
    page = logged_in_page(who, viewport)
    width = viewport["width"]

    page.goto("/")
    for run, ticket in ticketed.values():
        row = page.locator("table.run-table tbody tr").filter(
            has=page.locator(f'a[href="{run.get_absolute_url()}"]')
        )
        expect(row.get_by_text(ticket.ticket_number, exact=True)).to_have_count(1)
        link = row.get_by_role("link", name=ticket.ticket_number, exact=True)
        expect(link).to_have_attribute("href", re.compile(f"OpenTicketDetail&TicketID={ticket.ticket_id}$"))
    resolve_buttons = page.locator(".resolve-ticket")
    create_buttons = page.locator(".create-autotask-ticket")
    if who == "viewer":
        expect(resolve_buttons).to_have_count(0)
        expect(create_buttons).to_have_count(0)
    else:
        expect(resolve_buttons.first).to_be_visible()
        expect(create_buttons.first).to_be_visible()
    save_screenshot(page, f"autotask-display-run-checks-{who}-{width}")
    _no_sideways_scroll(page)

    for key, (run, ticket) in ticketed.items():
        page.goto(run.get_absolute_url())
        panel = page.locator("#autotask-ticket")
        expect(panel).to_be_visible()
        expect(page.locator("#autotask-run-panel")).to_have_count(1)
        expect(panel.get_by_text(ticket.ticket_number, exact=True)).to_have_count(1)
        expect(page.locator("#autotask-ticket-actions", has_text=ticket.ticket_number)).to_have_count(0)
        if key == "resolved":
            expect(page.locator("#resolution-outcome")).to_contain_text("closed from Backupchecks")
            expect(page.locator("#resolve-ticket-button")).to_have_count(0)
        if key == "linked":
            expect(page.locator("#autotask-ticket-origin")).to_have_text("Linked")
            expect(page.locator("#autotask-ticket-shared")).to_contain_text("1 other run")
            expect(page.locator("#autotask-timeline")).to_be_visible()
        if key == "created":
            expect(page.locator("#autotask-ticket-origin")).to_have_text("Created")
            resolve = page.get_by_role("link", name="Resolve ticket", exact=True)
            expect(resolve).to_have_count(1 if who == "operator" else 0)
        save_screenshot(page, f"autotask-display-run-{key}-{who}-{width}")
        _no_sideways_scroll(page)
    assert simulator.api_call_count(exclude_zone=True) == 0


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_preview_offers_the_jobs_open_ticket_first(ticketed, simulator, logged_in_page, viewport):
    from integrations.autotask.models import CompanyMapping

    first_run, ticket = ticketed["created"]
    customer = first_run.job.customer
    CompanyMapping.objects.update_or_create(
        customer=customer,
        environment="sandbox",
        defaults={
            "database_id": ticket.database_id,
            "company_id": ticket.company_id,
            "company_name": "Mapped company",
        },
    )
    run = make_run(job_name=first_run.job.name)  # the same job fails again
    page = logged_in_page("operator", viewport)
    page.goto(run.get_absolute_url())
    page.get_by_role("link", name="Create Autotask ticket").click()
    expect(page.locator("#choice-link")).to_be_checked()
    expect(page.locator("#open-ticket-form")).to_contain_text(ticket.ticket_number)
    save_screenshot(page, f"autotask-display-storm-preview-{viewport['width']}")
    _no_sideways_scroll(page)
    assert simulator.api_call_count(exclude_zone=True) == 0
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Added the run to ticket {ticket.ticket_number}")
    expect(page.locator("#autotask-ticket-shared")).to_contain_text("1 other run")
    assert RunTicket.objects.get(run=run).ticket_id == ticket.pk
    assert [(r.method, r.entity) for r in simulator.requests if r.authenticated] == [("POST", "TicketNotes")]
