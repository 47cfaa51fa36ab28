"""Issue 14: the integration health page in a real browser, against the simulator served over HTTP.

The Admin opens the settings page, follows "Integration health", sees usage, pacing, the limiter, the last
API calls and a claim whose outcome is unknown, presses "Reconcile now" and sees it adopted. At 375 px the
page does not scroll sideways (its tables scroll inside their own boxes)."""

import pytest
from playwright.sync_api import expect

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import TicketState
from integrations.autotask.simulator import SANDBOX

from .support import (
    DESKTOP,
    PHONE,
    create_user,
    enable_sandbox_over_http,
    mapped_failing_run,
    restore_role_groups,
    step_screenshots,
)

pytestmark = pytest.mark.browser

shot = step_screenshots("autotask-health-")


@pytest.fixture
def world(transactional_db, simulator):
    from integrations.autotask.services import budget, connection, tickets

    restore_role_groups(admin_autotask="manage_autotask")
    create_user("staff")

    simulator.add_usage(SANDBOX, 6200, spread_seconds=3600)  # another integration: 62 % of the hour
    env = enable_sandbox_over_http()
    run, company = mapped_failing_run(simulator)
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


def test_the_admin_checks_health_and_reconciles_a_claim(logged_in_page, world, simulator):
    page = logged_in_page("staff", DESKTOP)
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
    phone = logged_in_page("staff", PHONE)
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
