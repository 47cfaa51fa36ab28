"""Issue 14: the integration health page in a real browser, against the simulator served over HTTP.

The Admin opens the settings page, follows "Integration health", sees usage, pacing, the limiter, the last
API calls and a claim whose outcome is unknown, presses "Reconcile now" and sees it adopted. At 375 px the
page does not scroll sideways (its tables scroll inside their own boxes)."""

import os
import threading
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.client import clear_zone_cache
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AutotaskSettings, CompanyMapping, EnvironmentConfig, TicketState
from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from integrations.autotask.simulator.server import make_server
from runs.models import BackupJob, Run
from runs.roles import ADMIN, ROLE_PERMISSIONS, sync_role_permissions

from .conftest import ARTIFACTS, PHONE

pytestmark = pytest.mark.browser

PASSWORD = "e2e-Pass-1234"
DESKTOP_WIDE = {"width": 1366, "height": 900}
SHOTS = os.environ.get("AUTOTASK_E2E_SCREENSHOTS") == "1"


def shot(page, name):
    if SHOTS:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"autotask-health-{name}.png"), full_page=True)


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
    from integrations.autotask.services import budget, connection, reference, tickets

    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    sync_role_permissions(Group, Permission, ROLE_AUTOTASK_PERMISSIONS)
    Group.objects.get(name=ADMIN).permissions.add(Permission.objects.get(codename="manage_autotask"))
    admin_user = User.objects.create_user("e2e-admin", password=PASSWORD, is_staff=True)
    admin_user.groups.add(Group.objects.get(name=ADMIN))

    simulator.add_usage(SANDBOX, 6200, spread_seconds=3600)  # another integration: 62 % of the hour
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
        c for c in simulator.companies(SANDBOX.database_id) if c["isActive"] and c["companyType"] == 1
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
    # A create whose answer was lost after Autotask committed it: the claim is left `unknown`.
    simulator.inject_fault(entity="Tickets", method="POST", mode="commit_then_drop")
    with pytest.raises(AutotaskError):
        tickets.create_ticket_for_run(run)
    claim = tickets.ticket_for_run(run)
    assert claim.state == TicketState.UNKNOWN
    # Some background work at 62 % usage: a reading, pacing "slowed", calls in the log.
    with (
        budget.background_work("scheduled mapping check"),
        connection.build_client(connection.credentials_for(env)) as client,
    ):
        client.count("Companies", [{"op": "exist", "field": "id"}])
    return {"claim": claim, "run": run}


def test_the_admin_checks_health_and_reconciles_a_claim(new_page, log_in, world, simulator):
    page = new_page(DESKTOP_WIDE)
    log_in(page, "e2e-admin", PASSWORD)
    page.goto("/admin/autotask/autotasksettings/1/change/")
    expect(page.locator("#id_pacing_ceiling_percent")).to_have_value("80")
    shot(page, "settings")
    page.locator("#autotask-health-link").click()
    page.wait_for_url("**/autotask/health/")
    expect(page.get_by_role("heading", name="Autotask integration health")).to_be_visible()
    expect(page.locator("#health-pacing")).to_have_attribute("data-state", "slowed")
    expect(page.locator("#health-pacing")).to_contain_text("Slowed")
    expect(page.locator("#health-usage")).to_contain_text("%")
    expect(page.locator("#health-limiter")).to_contain_text("companies")
    expect(page.locator("#health-calls")).to_contain_text("/Companies/query/count")
    expect(page.locator("#health-calls")).to_contain_text("scheduled mapping check")
    expect(page.locator("#health-scheduled")).to_contain_text("Company mapping check")
    claim = world["claim"]
    row = page.locator(f"#claim-{claim.pk}")
    expect(row).to_contain_text(claim.correlation_key)
    shot(page, "desktop")

    # On a phone the claim is a card: its Reconcile now button is on screen, not in a table scrolled aside.
    phone = new_page(PHONE)
    log_in(phone, "e2e-admin", PASSWORD)
    phone.goto("/autotask/health/")
    button = phone.locator(f"#claim-{claim.pk}").get_by_role("button", name="Reconcile now")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    shot(phone, "phone-claim")

    row.get_by_role("button", name="Reconcile now").click()
    expect(page.locator(".alert-success, .messages, [role=alert]").first).to_contain_text("is now linked")
    expect(page.locator("#health-no-claims")).to_be_visible()
    claim.refresh_from_db()
    assert claim.state == TicketState.CREATED

    phone.goto("/autotask/health/")
    expect(phone.get_by_role("heading", name="Autotask integration health")).to_be_visible()
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at 375 px"
    shot(phone, "phone")
