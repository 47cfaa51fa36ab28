"""Ticket-storm avoidance in phase 4's preview (issue 11 item 4): when an earlier run of the job has an open
ticket, the preview offers adding this run to it (with an internal note) as the DEFAULT choice, and
creating a new ticket as the alternative. The preview makes zero API calls; the link path costs what
`linking.add_run_to_open_ticket` costs (one POST of the note)."""

import re

from django.urls import reverse

from integrations.autotask.models import AutotaskTicket, RunTicket, TicketState
from integrations.autotask.services import tickets
from integrations.autotask.simulator import SANDBOX

from .conftest import api_calls, make_run, map_customer


def _open_ticket(job, seeded, ticket_id=7702, days=0):
    ticket = AutotaskTicket.objects.create(
        environment="sandbox",
        database_id=SANDBOX.database_id,
        correlation_key=f"storm-{ticket_id}-{days}",
        state=TicketState.CREATED,
        ticket_id=ticket_id,
        ticket_number=seeded[ticket_id]["ticketNumber"],
        title="Backup failed: Nightly image",
        company_id=seeded[ticket_id]["companyID"],
        status_id=1,
    )
    RunTicket.objects.create(run=make_run(job, days=days), ticket=ticket)
    return ticket


def _mapped(job, seeded):
    map_customer(job.customer, seeded[7702]["companyID"])


def test_preview_offers_the_open_ticket_of_an_earlier_run(active, sim, job, seeded):
    _mapped(job, seeded)
    run = make_run(job, days=3)
    assert "open_ticket" not in tickets.preview_ticket(run).extra  # no earlier ticket: nothing offered

    ticket = _open_ticket(job, seeded)
    draft = tickets.preview_ticket(run)
    assert draft.extra["open_ticket"] == ticket
    assert any(ticket.ticket_number in notice for notice in draft.notices)
    assert api_calls(sim) == 0


def test_no_offer_for_a_closed_ticket_or_while_this_runs_attempt_is_unresolved(active, sim, job, seeded):
    _mapped(job, seeded)
    ticket = _open_ticket(job, seeded)
    run = make_run(job, days=3)
    AutotaskTicket.objects.filter(pk=ticket.pk).update(is_complete=True)
    assert "open_ticket" not in tickets.preview_ticket(run).extra
    AutotaskTicket.objects.filter(pk=ticket.pk).update(is_complete=False)
    unknown = AutotaskTicket.objects.create(
        environment="sandbox", database_id=SANDBOX.database_id, correlation_key="storm-unknown",
        state=TicketState.UNKNOWN,
    )  # fmt: skip
    RunTicket.objects.create(run=run, ticket=unknown)
    assert "open_ticket" not in tickets.preview_ticket(run).extra  # it may have created a ticket already
    assert api_calls(sim) == 0


def test_preview_page_defaults_to_linking(active, sim, job, seeded, operator_client):
    _mapped(job, seeded)
    ticket = _open_ticket(job, seeded)
    run = make_run(job, days=3)
    page = operator_client.get(reverse("autotask:create_ticket", args=[run.pk])).content.decode()
    assert 'id="open-ticket-form"' in page and 'id="create-ticket-form"' not in page
    link_radio = re.search(r'<input[^>]*id="choice-link"[^>]*>', page).group(0)
    create_radio = re.search(r'<input[^>]*id="choice-create"[^>]*>', page).group(0)
    assert 'value="link"' in link_radio and "checked" in link_radio and "checked" not in create_radio
    assert f'name="open_ticket" value="{ticket.pk}"' in page and ticket.ticket_number in page
    assert "OpenTicketDetail&amp;TicketID=7702" in page  # the number links to Autotask
    assert api_calls(sim) == 0


def test_choosing_link_adds_the_run_and_one_internal_note(active, sim, job, seeded, operator_client):
    _mapped(job, seeded)
    ticket = _open_ticket(job, seeded)
    run = make_run(job, days=3)
    url = reverse("autotask:create_ticket", args=[run.pk])
    response = operator_client.post(url, {"choice": "link", "open_ticket": ticket.pk}, follow=True)
    assert (
        f"Added the run to ticket {ticket.ticket_number} with an internal note." in response.content.decode()
    )
    assert RunTicket.objects.get(run=run).ticket == ticket
    assert AutotaskTicket.objects.count() == 1  # nothing new
    assert [(r.method, r.entity) for r in sim.requests if r.authenticated] == [("POST", "TicketNotes")]
    page = operator_client.get(run.get_absolute_url()).content.decode()
    assert ticket.ticket_number in page and "Also covers 1 other run" in page


def test_choosing_create_creates_a_new_ticket(active, sim, job, seeded, operator_client):
    _mapped(job, seeded)
    ticket = _open_ticket(job, seeded)
    run = make_run(job, days=3)
    url = reverse("autotask:create_ticket", args=[run.pk])
    operator_client.post(url, {"choice": "create", "open_ticket": ticket.pk})
    record = RunTicket.objects.get(run=run).ticket
    assert record != ticket and record.state == TicketState.CREATED
    assert ("POST", "Tickets") in [(r.method, r.entity) for r in sim.requests if r.authenticated]
