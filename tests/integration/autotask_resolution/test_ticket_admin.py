"""The Autotask ticket admin (admin_tickets.py): a read-only list rendered from the database only (constant
queries, zero Autotask calls), visible to staff Admins only, and the "Resolve selected tickets in Autotask"
admin action running the real resolution flow against the simulator."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.autotask.models import AutotaskSettings, AutotaskTicket, ResolutionOutcome
from integrations.autotask.services import connection
from integrations.autotask.simulator import SANDBOX

from .conftest import add_time_entry, link_ticket, make_run, writes

DB = SANDBOX.database_id
CHANGELIST = "admin:autotask_autotaskticket_changelist"


@pytest.fixture
def admin_client_(client, staff_admin):
    client.force_login(staff_admin)
    return client


def _add_tickets(autotask, start, count):
    for i in range(start, start + count):
        runs = [make_run(job_name=f"Job {i}"), make_run(job_name=f"Job {i} b")]
        link_ticket(runs, autotask, 90000 + i, f"T20261130.{i:04d}", 1178)


def test_list_renders_from_the_database_with_constant_queries(sim, autotask, admin_client_):
    url = reverse(CHANGELIST)
    _add_tickets(autotask, 0, 2)
    admin_client_.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(db_connection) as small:
        response = admin_client_.get(url)
    assert response.status_code == 200
    _add_tickets(autotask, 2, 8)
    with CaptureQueriesContext(db_connection) as large:
        response = admin_client_.get(url)
    assert len(large.captured_queries) == len(small.captured_queries)
    page = response.content.decode()
    assert page.count("T20261130.") >= 10
    # the number links to Autotask's own ticket page; runs covered is the annotated count (2 each)
    assert "Code=OpenTicketDetail&amp;TicketID=90003" in page
    assert '<td class="field-runs_covered">2</td>' in page
    # no add / delete for anyone
    assert reverse("admin:autotask_autotaskticket_add") not in page and "delete_selected" not in page
    assert 'value="resolve_in_autotask"' in page
    assert sim.api_call_count() == 0


def test_only_staff_admins_reach_it(autotask, client, staff_admin, operator, viewer):
    ticket = link_ticket([make_run()], autotask, 91000, "T20261130.9100", 1178)
    for user in (operator, viewer):
        client.force_login(user)
        response = client.get(reverse(CHANGELIST))
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    # a staff Operator has view_autotaskticket (for the run pages) but not the integration's admin pages
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert "Autotask tickets" not in client.get(reverse("admin:index")).content.decode()
    client.force_login(staff_admin)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert "Autotask tickets" in client.get(reverse("admin:index")).content.decode()
    change = client.get(reverse("admin:autotask_autotaskticket_change", args=[ticket.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()  # read-only
    assert client.get(reverse("admin:autotask_autotaskticket_add")).status_code == 403
    assert client.get(reverse("admin:autotask_autotaskticket_delete", args=[ticket.pk])).status_code == 403


def _post_action(client, action, tickets):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [t.pk for t in tickets], "index": 0},
        follow=True,
    )


def _message(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_resolve_action_closes_or_only_notes_as_the_time_entries_say(
    sim, autotask, ticketed_run, control, admin_client_
):
    _run_a, with_time = ticketed_run(job_name="Job with time")
    _run_b, without_time = ticketed_run(job_name="Job without time")
    add_time_entry(control, with_time.ticket_id)
    sim.clear_requests()

    response = _post_action(admin_client_, "resolve_in_autotask", [with_time, without_time])

    assert response.status_code == 200
    message = _message(response)
    assert "Resolved 2 of 2 tickets." in message
    assert f"Closed: {without_time.ticket_number}" in message
    assert f"Note only, left open (time logged): {with_time.ticket_number}" in message
    by_id = {t["id"]: t for t in sim.tickets(DB)}
    assert by_id[without_time.ticket_id]["status"] == 5
    assert by_id[with_time.ticket_id]["status"] == autotask.new_ticket_status_id
    for ticket in (with_time, without_time):
        assert len(sim.ticket_notes(DB, ticket.ticket_id)) == 1
    outcomes = dict(AutotaskTicket.objects.values_list("pk", "resolution_outcome"))
    assert outcomes[with_time.pk] == ResolutionOutcome.NOTE_ONLY
    assert outcomes[without_time.pk] == ResolutionOutcome.CLOSED

    # again: the stored results, nothing sent
    calls = sim.api_call_count()
    message = _message(_post_action(admin_client_, "resolve_in_autotask", [with_time, without_time]))
    assert "Resolved before (nothing sent)" in message
    assert sim.api_call_count() == calls


def test_resolve_action_reports_failures_without_a_500(sim, autotask, ticketed_run, admin_client_):
    _run, gone = ticketed_run()
    sim.delete_ticket(DB, gone.ticket_id)
    pending = AutotaskTicket.objects.create(
        environment=autotask.environment, database_id=DB, correlation_key="bc-admin-pending"
    )
    response = _post_action(admin_client_, "resolve_in_autotask", [gone, pending])
    assert response.status_code == 200
    message = _message(response)
    assert "Resolved 0 of 2 tickets." in message
    assert f"Failed: {gone.ticket_number} (" in message and "not found in Autotask" in message
    assert "Refused: " in message and "covers no run" in message


def test_actions_refuse_with_zero_requests_while_disabled(sim, autotask, ticketed_run, admin_client_):
    _run, ticket = ticketed_run()
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    sim.clear_requests()

    message = _message(_post_action(admin_client_, "resolve_in_autotask", [ticket]))
    assert f"Refused: {ticket.ticket_number} (The Autotask integration is disabled.)" in message
    message = _message(_post_action(admin_client_, "sync_statuses_now", [ticket]))
    assert "Status sync refused" in message and "disabled" in message

    assert sim.api_call_count() == 0 and writes(sim) == []
    assert AutotaskTicket.objects.get(pk=ticket.pk).resolution_outcome == ""


def test_sync_action_picks_up_a_ticket_completed_in_autotask(sim, autotask, ticketed_run, admin_client_):
    _run, ticket = ticketed_run()
    with connection.build_client(connection.credentials_for(autotask)) as client:
        client.update("Tickets", {"id": ticket.ticket_id, "status": 5})  # a technician completed it
    sim.clear_requests()
    message = _message(_post_action(admin_client_, "sync_statuses_now", [ticket]))
    assert "Checked 1 open ticket: 1 changed (1 completed)" in message
    assert AutotaskTicket.objects.get(pk=ticket.pk).is_complete
    assert sim.api_call_count(exclude_zone=True) == 1
