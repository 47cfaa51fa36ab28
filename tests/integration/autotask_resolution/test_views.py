"""The Resolve ticket pages and slots: permission, confirmation (database only), the action, and constant
SQL query counts with zero Autotask calls while rendering."""

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backupchecks import extensions
from integrations.autotask.models import AutotaskSettings, AutotaskTicket
from integrations.autotask.services import connection
from integrations.autotask.services.resolution import sync_ticket_statuses
from integrations.autotask.simulator import SANDBOX
from integrations.autotask.template_content import BulkActionsExtension, TicketExtension

from .conftest import link_ticket, make_run, writes

DB = SANDBOX.database_id


def resolve_url(run):
    return reverse("autotask:resolve_ticket", args=[run.pk])


def test_viewer_may_not_resolve(sim, autotask, ticketed_run, viewer_client):
    run, _ticket = ticketed_run()
    assert viewer_client.get(resolve_url(run)).status_code == 403
    assert viewer_client.post(resolve_url(run), {"remark": ""}).status_code == 403
    page = viewer_client.get(run.get_absolute_url()).content.decode()
    assert (
        "Resolve ticket" not in page and 'id="autotask-resolution"' in page
    )  # sees the state, not the action
    assert sim.api_call_count() == 0


def test_confirmation_page_says_what_will_happen_without_calling_autotask(
    sim, autotask, ticketed_run, operator_client
):
    run, ticket = ticketed_run()
    page = operator_client.get(resolve_url(run)).content.decode()
    assert 'data-outcome="unknown"' in page and "depends on the time entries" in page
    assert 'id="resolve-confirm"' in page

    AutotaskTicket.objects.filter(pk=ticket.pk).update(is_complete=True, status_id=5)
    page = operator_client.get(resolve_url(run)).content.decode()
    assert 'data-outcome="already_complete"' in page and "Already complete in Autotask." in page
    assert "nothing will be written" in page
    assert sim.api_call_count() == 0


def test_resolving_from_the_run_page_tells_the_operator_and_shows_on_the_run(
    sim, autotask, ticketed_run, operator_client
):
    run, ticket = ticketed_run()
    detail = operator_client.get(run.get_absolute_url()).content.decode()
    assert f'href="{resolve_url(run)}"' in detail

    response = operator_client.post(resolve_url(run), {"remark": "Fixed the NAS"}, follow=True)

    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    page = response.content.decode()
    assert f"Ticket {ticket.ticket_number}: internal note added and the ticket set to “Complete”" in page
    assert 'data-outcome="closed"' in page and "Fixed the NAS" in page
    assert "resolve-ticket-button" not in page  # done: no second action offered
    assert next(t for t in sim.tickets(DB) if t["id"] == ticket.ticket_id)["status"] == 5


def test_refusal_and_autotask_errors_become_messages(sim, autotask, ticketed_run, operator_client):
    run, ticket = ticketed_run()
    sim.delete_ticket(DB, ticket.ticket_id)
    page = operator_client.post(resolve_url(run), {}, follow=True).content.decode()
    assert "Could not resolve the ticket: Ticket" in page and "not found in Autotask" in page

    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    calls = sim.api_call_count()
    page = operator_client.post(resolve_url(run), {}, follow=True).content.decode()
    assert "Could not resolve the ticket: The Autotask integration is disabled." in page
    assert sim.api_call_count() == calls


def test_remark_too_long_is_a_form_error(sim, autotask, ticketed_run, operator_client):
    run, _ticket = ticketed_run()
    response = operator_client.post(resolve_url(run), {"remark": "x" * 1001})
    assert response.status_code == 400
    assert sim.api_call_count() == 0


def test_post_from_run_checks_returns_there(sim, autotask, ticketed_run, operator_client):
    run, _ticket = ticketed_run()
    checks = reverse("runs:run_checks")
    page = operator_client.get(checks).content.decode()
    match = re.search(rf'href="(/autotask/runs/{run.pk}/resolve/\?next=[^"]+)"', page)
    assert match, "Run Checks row offers Resolve ticket"
    confirm = operator_client.get(match.group(1).replace("&amp;", "&")).content.decode()
    assert f'name="next" value="{checks}"' in confirm
    response = operator_client.post(resolve_url(run), {"next": checks})
    assert response.status_code == 302 and response.url == checks
    page = operator_client.get(checks).content.decode()
    assert "Ticket closed" in page


def test_disabled_integration_hides_the_action_but_keeps_the_outcome_visible(
    sim, autotask, ticketed_run, operator_client
):
    run, ticket = ticketed_run()
    AutotaskTicket.objects.filter(pk=ticket.pk).update(resolution_outcome="note_only")
    other, _ = ticketed_run(job_name="Other job")
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    page = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert "Note added · open (time logged)" in page
    assert "resolve-ticket" not in page
    detail = operator_client.get(other.get_absolute_url()).content.decode()
    assert "resolve-ticket-button" not in detail and 'id="autotask-resolution"' in detail


def _queries(client, url):
    with CaptureQueriesContext(db_connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("outcome", ["", "closed"])
def test_pages_use_a_constant_number_of_queries(sim, autotask, operator_client, outcome):
    def add_ticketed_runs(count, start):
        for i in range(count):
            runs = [make_run(job_name=f"Job {start + i}")]
            ticket = link_ticket(runs, autotask, 9000 + start + i, f"T2026.{start + i}", 1)
            AutotaskTicket.objects.filter(pk=ticket.pk).update(resolution_outcome=outcome)

    add_ticketed_runs(2, 0)
    run = make_run(job_name="Shared")
    link_ticket([run, make_run(job_name="Shared 2")], autotask, 8000, "T-shared", 1)
    for i in range(3):  # Job Details rows with tickets of their own
        link_ticket([make_run(job_name="Shared")], autotask, 7000 + i, f"T-job.{i}", 1)
    urls = (reverse("runs:run_checks"), run.get_absolute_url(), reverse("runs:job_detail", args=[run.job_id]))
    urls += (resolve_url(run),)
    small = [_queries(operator_client, url) for url in urls]
    add_ticketed_runs(25, 100)
    for i in range(30):
        link_ticket([make_run(job_name="Shared")], autotask, 7100 + i, f"T-job.{100 + i}", 1)
    large = [_queries(operator_client, url) for url in urls]

    assert small == large
    # The integration's share, loaded once per request for all rows and slots (TicketPage): settings with
    # web URLs, the rows' tickets, the active environment and its reference data (is it live?); run detail
    # adds the runs sharing the ticket and the run's timeline.
    extensions.unregister(TicketExtension)
    extensions.unregister(BulkActionsExtension)  # shares TicketPage's load (no query of its own)
    try:
        core = [_queries(operator_client, url) for url in urls[:3]]
    finally:
        extensions.register(TicketExtension)
        extensions.register(BulkActionsExtension)
    share = [with_tickets - without for with_tickets, without in zip(small[:3], core, strict=True)]
    assert share == [4, 6, 4], (small, core)
    assert sim.api_call_count() == 0


def test_ticket_completed_in_autotask_shows_on_the_run_and_in_run_checks(
    sim, autotask, ticketed_run, operator_client
):
    run, ticket = ticketed_run()
    other, other_ticket = ticketed_run(job_name="Other job")
    with connection.build_client(connection.credentials_for(autotask)) as client:
        for completed in (ticket, other_ticket):  # a technician completes both in Autotask
            client.update("Tickets", {"id": completed.ticket_id, "status": 5})
    sync_ticket_statuses()  # … and the status sync learns it
    sim.clear_requests()

    checks = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert checks.count("Completed in Autotask") == 2 and "resolve-ticket" not in checks
    detail = operator_client.get(run.get_absolute_url()).content.decode()
    assert 'data-outcome="completed_in_autotask"' in detail and "“Complete” (5), complete" in detail
    assert sim.api_call_count() == 0

    operator_client.post(resolve_url(other), {})  # resolving records it; nothing is written
    page = operator_client.get(other.get_absolute_url()).content.decode()
    assert 'data-outcome="already_complete"' in page and "nothing was written" in page
    assert writes(sim) == []
