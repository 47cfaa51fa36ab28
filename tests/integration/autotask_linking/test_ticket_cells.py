"""One truthful "Ticket" cell per run row (Job Details, Run Checks) and no "—" beside a ticket on run detail.

The core column used to read "—" (no manual number) next to an unlabelled column holding the Autotask
ticket. Now the manual number and the run_list_badges slot share one labelled cell, and "—" shows only when
neither has anything; run detail's empty manual number is left out while an integration panel shows the run's
ticket. Rendered from the database: zero Autotask requests.
"""

import re

from django.urls import reverse

from integrations.autotask.models import AutotaskTicket, RunTicket, TicketOrigin, TicketState
from integrations.autotask.simulator import SANDBOX

from .conftest import api_calls, make_run, map_customer

CELL = re.compile(r'<td class="ticket-cell" data-label="Ticket">(.*?)</td>', re.S)


def _with_ticket(job, ticket_id, *, days=0, **run_fields):
    ticket = AutotaskTicket.objects.create(
        environment="sandbox",
        database_id=SANDBOX.database_id,
        correlation_key=f"k-{ticket_id}",
        state=TicketState.CREATED,
        origin=TicketOrigin.CREATED,
        ticket_id=ticket_id,
        ticket_number=f"T20261101.{ticket_id:04d}",
        title=f"Ticket {ticket_id}",
        status_id=8,
    )
    run = make_run(job, days=days, **run_fields)
    RunTicket.objects.create(run=run, ticket=ticket)
    return run


def _cells(html):
    return CELL.findall(html)


def _headers(html):
    thead = html[html.index("<thead>") : html.index("</thead>")]
    return re.findall(r"<th\b[^>]*>(.*?)</th>", thead, re.S)


def test_job_details_has_one_labelled_ticket_cell_per_row(active, sim, job, operator_client):
    # newest first on the page: autotask (day 2), manual (day 1), none (day 0)
    make_run(job, days=0, status="success")
    make_run(job, days=1, status="success", manual_ticket_number="PSA-77")
    _with_ticket(job, 7703, days=2)
    html = operator_client.get(reverse("runs:job_detail", args=[job.pk])).content.decode()

    headers = _headers(html)
    assert headers.count("Ticket") == 1
    assert not any("visually-hidden" in header for header in headers)  # every column says what it holds
    autotask_cell, manual_cell, empty_cell = _cells(html)
    assert "T20261101.7703" in autotask_cell and "—" not in autotask_cell
    assert (
        "PSA-77" in manual_cell and 'title="Manual ticket number"' in manual_cell and "—" not in manual_cell
    )
    assert ">—<" in empty_cell
    assert api_calls(sim) == 0


def test_run_checks_shows_the_autotask_ticket_in_the_ticket_column(active, sim, job, operator_client):
    map_customer(job.customer, 1001)  # so an unticketed failed run offers "Create ticket"
    _with_ticket(job, 7703, days=1)
    make_run(job, days=0, manual_ticket_number="PSA-77")
    html = operator_client.get(reverse("runs:run_checks")).content.decode()

    headers = _headers(html)
    assert "Ticket" in headers and not any(
        h.strip().startswith('<span class="visually-hidden"') for h in headers
    )
    autotask_cell, manual_cell = _cells(html)
    assert "T20261101.7703" in autotask_cell
    assert "PSA-77" in manual_cell and "Create ticket" in manual_cell  # both fill the one cell
    summary_cells = re.findall(r'<td class="summary-cell">(.*?)</td>', html, re.S)
    assert not any("PSA-77" in cell for cell in summary_cells)  # the manual number is not in the summary
    assert api_calls(sim) == 0


def test_run_detail_leaves_out_an_empty_manual_number_beside_an_autotask_ticket(
    active, sim, job, operator_client
):
    # compatibility mode (the `active` fixture) keeps manual entry allowed, so this used to read "—"
    run = _with_ticket(job, 7703)
    html = operator_client.get(reverse("runs:run_detail", args=[run.pk])).content.decode()
    assert "T20261101.7703" in html
    assert 'id="manual-ticket-number"' not in html
    assert 'id="ticket-number-form"' in html  # still editable

    bare = make_run(job, days=1)
    html = operator_client.get(reverse("runs:run_detail", args=[bare.pk])).content.decode()
    assert (
        '<dt class="col-sm-4">Manual ticket number</dt><dd class="col-sm-8 text-break" id="manual-ticket-number">—</dd>'
        in html
    )

    both = _with_ticket(job, 7704, days=2, manual_ticket_number="PSA-9")
    html = operator_client.get(reverse("runs:run_detail", args=[both.pk])).content.decode()
    assert 'id="manual-ticket-number">PSA-9</dd>' in html and "T20261101.7704" in html
    assert api_calls(sim) == 0


def test_run_checks_says_why_an_unmapped_customers_run_has_no_create_button(
    active, sim, job, customer, operator_client, viewer_client
):
    from customers.models import Customer
    from runs.models import BackupJob

    mapped_job = BackupJob.objects.create(customer=Customer.objects.create(name="Mapped Ltd"), name="Files")
    map_customer(mapped_job.customer, 1001)
    make_run(mapped_job, days=1)
    make_run(job, days=0)  # job's customer has no mapping
    url = reverse("runs:run_checks")

    mapped_cell, unmapped_cell = _cells(operator_client.get(url).content.decode())  # newest first
    assert "No Autotask company" in unmapped_cell and "Create ticket" not in unmapped_cell
    assert "not mapped to a usable Autotask company" in unmapped_cell  # the title says why and who fixes it
    assert "Create ticket" in mapped_cell and "No Autotask company" not in mapped_cell
    # a viewer could not create a ticket anyway: no hint, the cell keeps its "—"
    viewer_cells = _cells(viewer_client.get(url).content.decode())
    assert not any("No Autotask company" in cell for cell in viewer_cells)
    assert api_calls(sim) == 0
