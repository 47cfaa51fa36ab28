"""A run's Autotask ticket is shown ONCE per place, for operators and viewers, on a desktop and a phone:
one badge (number + state) per Run Checks row, one ticket panel per run page, actions that do not repeat
the number, and no sideways scrolling at 375 px. Screenshots: test-artifacts/autotask-display-*.png."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from playwright.sync_api import expect

from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket, TicketOrigin
from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
from runs.roles import OPERATOR, ROLE_PERMISSIONS, VIEWER, sync_role_permissions
from tests.integration.autotask_resolution.conftest import (
    create_sim_ticket,
    enable_sandbox,
    link_ticket,
    make_run,
    sandbox_company,
)

from .conftest import ARTIFACTS, PHONE
from .test_autotask_resolution import served_sim  # noqa: F401  (the simulator over HTTP)

pytestmark = pytest.mark.browser

PASSWORD = "e2e-Pass-1234"
DESKTOP_WIDE = {"width": 1366, "height": 900}


@pytest.fixture
def ticketed(transactional_db, served_sim):  # noqa: F811
    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    sync_role_permissions(Group, Permission, ROLE_AUTOTASK_PERMISSIONS)
    for name, role in (("e2e-operator", OPERATOR), ("e2e-viewer", VIEWER)):
        User.objects.create_user(name, password=PASSWORD).groups.add(Group.objects.get(name=role))
    env_config = enable_sandbox()
    company_id = sandbox_company(served_sim)["id"]
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
    served_sim.clear_requests()
    return runs


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("who", ["operator", "viewer"])
@pytest.mark.parametrize("viewport", [DESKTOP_WIDE, PHONE], ids=["1366", "375"])
def test_each_ticket_is_shown_once(ticketed, served_sim, new_page, log_in, who, viewport):  # noqa: F811
    page = new_page(viewport)
    log_in(page, f"e2e-{who}", PASSWORD)
    width = viewport["width"]
    ARTIFACTS.mkdir(exist_ok=True)

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
    page.screenshot(path=str(ARTIFACTS / f"autotask-display-run-checks-{who}-{width}.png"), full_page=True)
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
        page.screenshot(path=str(ARTIFACTS / f"autotask-display-run-{key}-{who}-{width}.png"), full_page=True)
        _no_sideways_scroll(page)
    assert served_sim.api_call_count(exclude_zone=True) == 0


@pytest.mark.parametrize("viewport", [DESKTOP_WIDE, PHONE], ids=["1366", "375"])
def test_preview_offers_the_jobs_open_ticket_first(ticketed, served_sim, new_page, log_in, viewport):  # noqa: F811
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
    page = new_page(viewport)
    log_in(page, "e2e-operator", PASSWORD)
    page.goto(run.get_absolute_url())
    page.get_by_role("link", name="Create Autotask ticket").click()
    expect(page.locator("#choice-link")).to_be_checked()
    expect(page.locator("#open-ticket-form")).to_contain_text(ticket.ticket_number)
    page.screenshot(
        path=str(ARTIFACTS / f"autotask-display-storm-preview-{viewport['width']}.png"), full_page=True
    )
    _no_sideways_scroll(page)
    assert served_sim.api_call_count(exclude_zone=True) == 0
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Added the run to ticket {ticket.ticket_number}")
    expect(page.locator("#autotask-ticket-shared")).to_contain_text("1 other run")
    assert RunTicket.objects.get(run=run).ticket_id == ticket.pk
    assert [(r.method, r.entity) for r in served_sim.requests if r.authenticated] == [("POST", "TicketNotes")]
