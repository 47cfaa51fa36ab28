"""A run's timeline shows its shared ticket's events from every run, each marked "from run #N" with a link
to that run; on a desktop and a phone, without sideways scrolling. Screenshots:
test-artifacts/autotask-shared-timeline-*.png."""

import pytest
from playwright.sync_api import expect

from integrations.autotask.models import AuditEvent
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
def shared(transactional_db, simulator):
    restore_role_groups()
    create_user("operator")
    env_config = enable_sandbox()
    company_id = sandbox_company(simulator)["id"]
    run_a = make_run(job_name="Nightly VM backup of the accounting servers")
    run_b = make_run(job_name="Nightly VM backup of the accounting servers")
    ticket_id, number = create_sim_ticket(env_config, company_id)
    ticket = link_ticket([run_a, run_b], env_config, ticket_id, number, company_id)
    AuditEvent.record(
        "ticket_note_added",
        environment="sandbox",
        run=run_b,
        ticket_id=ticket_id,
        message=f"Internal note added to ticket {number}",
    )
    AuditEvent.record(
        "resolve_ticket",
        environment="sandbox",
        run=run_a,
        ticket_id=ticket_id,
        message=f"Ticket {number}: internal note added and the ticket set to “Complete”.",
    )
    AuditEvent.record(
        "ticket_status_changed",
        environment="sandbox",
        ticket_id=ticket_id,
        message=f"Ticket {number}: status “New” (1) → “Complete” (5).",
    )
    simulator.clear_requests()
    return run_a, run_b, ticket


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=VIEWPORT_IDS)
def test_run_b_shows_that_the_ticket_was_resolved_from_run_a(shared, simulator, logged_in_page, viewport):
    run_a, run_b, _ticket = shared
    page = logged_in_page("operator", viewport)
    page.goto(run_b.get_absolute_url())

    events = page.locator("#autotask-timeline .autotask-timeline-event")
    expect(events).to_have_count(3)
    resolved = events.filter(has=page.locator("strong", has_text="Ticket resolution"))
    expect(resolved.get_by_role("link", name=f"run #{run_a.pk}", exact=True)).to_have_attribute(
        "href", run_a.get_absolute_url()
    )
    expect(events.nth(0)).not_to_contain_text("from run")  # run B's own note
    expect(events.nth(2)).not_to_contain_text("from run")  # the status sync: no run
    save_screenshot(page, f"autotask-shared-timeline-{viewport['width']}")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    resolved.get_by_role("link", name=f"run #{run_a.pk}", exact=True).click()
    page.wait_for_url(f"**{run_a.get_absolute_url()}")
    expect(page.locator("#autotask-timeline .autotask-timeline-event")).to_have_count(3)
    expect(page.locator("#autotask-timeline")).to_contain_text(f"from run #{run_b.pk}")
    assert simulator.api_call_count(exclude_zone=True) == 0
