"""Phase 6 in a real browser against the simulator served over HTTP: disable → the operator enters a manual
ticket number → re-enable with compatibility mode → link an existing ticket (created in the simulator
first) → it shows on the run and in the run's timeline."""

import os
import threading
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import AutotaskSettings, CompanyMapping, EnvironmentConfig, RunTicket
from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from integrations.autotask.simulator.server import make_server
from runs.models import BackupJob, Run
from runs.roles import ADMIN, OPERATOR, ROLE_PERMISSIONS, sync_role_permissions

from .conftest import ARTIFACTS, PHONE

pytestmark = pytest.mark.browser

PASSWORD = "e2e-Pass-1234"
STEP_SHOTS = os.environ.get("AUTOTASK_E2E_SCREENSHOTS") == "1"
DESKTOP_WIDE = {"width": 1366, "height": 900}


def shot(page, name):
    if STEP_SHOTS:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"autotask-phase6-{name}.png"), full_page=True)


@pytest.fixture
def simulator(settings):
    sim = AutotaskSimulator()
    server = make_server(sim, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AUTOTASK_ZONE_INFO_URL = (
        f"http://127.0.0.1:{server.server_port}/atservicesrest/v1.0/zoneInformation"
    )
    clear_zone_cache()
    yield sim
    server.shutdown()
    server.server_close()
    clear_zone_cache()


@pytest.fixture
def world(transactional_db, simulator):
    from integrations.autotask.services import connection, reference

    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    sync_role_permissions(Group, Permission, ROLE_AUTOTASK_PERMISSIONS)
    Group.objects.get(name=ADMIN).permissions.add(Permission.objects.get(codename="manage_autotask"))
    admin_user = User.objects.create_user("e2e-admin", password=PASSWORD, is_staff=True)
    admin_user.groups.add(Group.objects.get(name=ADMIN))
    operator = User.objects.create_user("e2e-operator", password=PASSWORD)
    operator.groups.add(Group.objects.get(name=OPERATOR))

    env = EnvironmentConfig.for_environment("sandbox")
    env.username, env.secret, env.integration_code = (
        SANDBOX.username,
        SANDBOX.secret,
        SANDBOX.integration_code,
    )
    env.save()
    connection.check_connection(env)
    reference.refresh_reference_data(env)
    env.refresh_from_db()
    for name, value in {
        "queue_id": 29700109,
        "source_id": 71,
        "new_ticket_status_id": 1,
        "warning_priority_id": 2,
        "error_priority_id": 1,
        "note_type_id": 18,
        "note_publish_id": 2,
        "resolved_status_id": 5,
    }.items():
        setattr(env, name, value)
    env.save()
    settings = AutotaskSettings.load()
    settings.enabled, settings.base_url = True, "http://127.0.0.1:8000"
    settings.save()

    customer = Customer.objects.create(name="Hartwell Dental")
    company = next(
        c
        for c in simulator.companies(SANDBOX.database_id)
        if c["isActive"] and c["companyType"] == 1 and c["id"]
    )
    CompanyMapping.objects.create(
        customer=customer,
        environment="sandbox",
        database_id=SANDBOX.database_id,
        company_id=company["id"],
        company_name=company["companyName"],
    )
    job = BackupJob.objects.create(customer=customer, name="Nightly image")
    run = Run.objects.create(
        job=job, status="error", summary="Disk full on NAS", started_at=datetime(2026, 11, 20, 22, tzinfo=UTC)
    )
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


def test_disable_manual_number_reenable_and_link(new_page, log_in, world, simulator):
    run = world["run"]
    admin_page = new_page(viewport=DESKTOP_WIDE)
    log_in(admin_page, "e2e-admin", PASSWORD)
    operator_page = new_page(viewport=DESKTOP_WIDE)
    log_in(operator_page, "e2e-operator", PASSWORD)

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
    phone = new_page(viewport=PHONE)
    log_in(phone, "e2e-operator", PASSWORD)
    phone.goto(f"/runs/{run.pk}/")
    expect(phone.locator("#autotask-timeline")).to_be_visible()
    shot(phone, "4-phone")
    assert phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
