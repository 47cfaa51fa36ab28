"""A run's Autotask timeline shows its own events AND the events about its current ticket wherever they were
recorded (another run sharing the ticket, the status sync, storm-avoidance notes and links), each event of
another run marked "from run #N" with a link — database only, one query, constant counts."""

import re
from datetime import timedelta

from django.apps import apps
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket, TicketState
from integrations.autotask.services import connection, linking
from integrations.autotask.services.resolution import sync_ticket_statuses

from .conftest import create_sim_ticket, link_ticket, make_run, sandbox_company

MIGRATION = "integrations.autotask.migrations.0009_audit_event_ticket_id"


def timeline(client, run):
    """[(action, from-run id or None, message)] of the run page's timeline, in page order."""
    response = client.get(run.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'<ol[^>]*id="autotask-timeline">(.*?)</ol>', page, re.S)
    if match is None:
        return []
    items = re.findall(r'<li class="mb-2 autotask-timeline-event"(.*?)</li>', match.group(1), re.S)
    events = []
    for item in items:
        action = re.search(r'data-action="([^"]+)"', item).group(1)
        from_run = re.search(r'data-from-run="(\d+)"', item)
        if from_run:  # the marker names and links the run it came from
            assert f'from <a href="{reverse("runs:run_detail", args=[from_run.group(1)])}">run #' in item
        events.append((action, int(from_run.group(1)) if from_run else None, item))
    return events


def actions(events):
    return [(action, from_run) for action, from_run, _item in events]


def two_runs_sharing_a_ticket(ticketed_run):
    first, second = make_run(job_name="Shared job"), make_run(job_name="Shared job")
    _run, ticket = ticketed_run(runs=[first, second])
    return first, second, ticket


def test_resolving_from_one_run_shows_on_every_run_sharing_the_ticket(
    sim, autotask, ticketed_run, operator_client
):
    run_a, run_b, ticket = two_runs_sharing_a_ticket(ticketed_run)
    assert timeline(operator_client, run_b) == []

    response = operator_client.post(
        reverse("autotask:resolve_ticket", args=[run_a.pk]), {"remark": "NAS fixed"}
    )
    assert response.status_code == 302
    sim.clear_requests()

    on_b = timeline(operator_client, run_b)
    assert actions(on_b) == [("resolve_ticket", run_a.pk)]
    assert f'from <a href="/runs/{run_a.pk}/">run #{run_a.pk}</a>' in on_b[0][2]
    assert actions(timeline(operator_client, run_a)) == [("resolve_ticket", None)]  # its own: no marker
    assert sim.api_call_count() == 0


def test_status_sync_changes_show_on_every_sharing_run(sim, autotask, ticketed_run, operator_client):
    run_a, run_b, ticket = two_runs_sharing_a_ticket(ticketed_run)
    with connection.build_client(connection.credentials_for(autotask)) as client:
        client.update("Tickets", {"id": ticket.ticket_id, "status": 8})  # a technician takes it on
    sync_ticket_statuses()
    event = AuditEvent.objects.get(action="ticket_status_changed")
    assert (event.run_id, event.ticket_id, event.environment) == (None, ticket.ticket_id, "sandbox")
    sim.clear_requests()

    for run in (run_a, run_b):
        events = timeline(operator_client, run)
        assert actions(events) == [("ticket_status_changed", None)]  # no run: no "from run" marker
        assert f"Ticket {ticket.ticket_number}: status" in events[0][2] and "→ 8." in events[0][2]
    assert sim.api_call_count() == 0


def test_storm_note_and_link_of_a_later_run_show_on_the_earlier_run(sim, autotask, operator, operator_client):
    earlier = make_run(job_name="Storm job")
    company_id = sandbox_company(sim)["id"]
    ticket = link_ticket([earlier], autotask, *create_sim_ticket(autotask, company_id), company_id)
    later = make_run(job_name="Storm job")
    result = linking.add_run_to_open_ticket(later, ticket, user=operator)
    assert result.note_id and not result.note_error
    sim.clear_requests()

    assert actions(timeline(operator_client, earlier)) == [
        ("ticket_linked_open", later.pk),
        ("ticket_note_added", later.pk),
    ]
    assert actions(timeline(operator_client, later)) == [
        ("ticket_linked_open", None),
        ("ticket_note_added", None),
    ]
    assert sim.api_call_count() == 0


def test_the_same_ticket_id_in_the_other_environment_does_not_show(
    sim, autotask, ticketed_run, operator_client
):
    run, ticket = ticketed_run()
    other = make_run(job_name="Other job")
    # the production tenant's ticket with the same id, and an event about it from another run
    AuditEvent.record(
        "ticket_status_changed", environment="production", ticket_id=ticket.ticket_id, message="production"
    )
    AuditEvent.record(
        "ticket_note_added", environment="production", run=other, ticket_id=ticket.ticket_id, message="prod"
    )
    # … and the same from the sandbox, which is this run's ticket
    AuditEvent.record(
        "ticket_status_changed", environment="sandbox", ticket_id=ticket.ticket_id, message="sb"
    )

    events = timeline(operator_client, run)
    assert [(a, f, "production" in item or "prod" in item) for a, f, item in events] == [
        ("ticket_status_changed", None, False)
    ]


def test_a_run_without_a_ticket_or_with_a_pending_or_unknown_claim_shows_its_own_events_only(
    sim, autotask, ticketed_run, operator_client
):
    _shared, ticket = ticketed_run()
    # events of no ticket (no id) and of tickets, from other runs and from no run
    stranger = make_run(job_name="Stranger")
    AuditEvent.record("create_ticket", environment="sandbox", run=stranger, outcome="refused", message="x")
    AuditEvent.record("sync_ticket_statuses", environment="sandbox", message="no ticket")
    AuditEvent.record("ticket_status_changed", environment="sandbox", ticket_id=ticket.ticket_id)
    # the id Autotask answered to an attempt that then failed (the claim below stays unknown)
    AuditEvent.record("reconcile_claim", environment="sandbox", ticket_id=424242, outcome="failed")

    bare = make_run(job_name="No ticket")
    AuditEvent.record("create_ticket", environment="sandbox", run=bare, outcome="refused", message="own")
    assert actions(timeline(operator_client, bare)) == [("create_ticket", None)]

    for state in (TicketState.PENDING, TicketState.UNKNOWN):
        claimed = make_run(job_name=f"Claimed {state}")
        claim = AutotaskTicket.objects.create(
            environment="sandbox",
            database_id=autotask.database_id,
            correlation_key=f"bc-claim-{state}",
            state=state,
            # an unknown claim may keep the id Autotask answered before the failure: not (yet) its ticket
            ticket_id=424242 if state == TicketState.UNKNOWN else None,
            claimed_at=timezone.now() - timedelta(seconds=5),
        )
        RunTicket.objects.create(run=claimed, ticket=claim)
        AuditEvent.record("create_ticket", environment="sandbox", run=claimed, outcome="started")
        assert actions(timeline(operator_client, claimed)) == [("create_ticket", None)], state
    assert sim.api_call_count() == 0


def _run_page_queries(client, run):
    with CaptureQueriesContext(db_connection) as captured:
        assert client.get(run.get_absolute_url()).status_code == 200
    return len(captured)


def test_the_run_page_costs_the_same_queries_at_3_and_60_shared_events(sim, autotask, operator_client):
    run = make_run(job_name="Big job")
    ticket = link_ticket([run], autotask, 9100, "T20261130.9100", 1)

    def share_with(count):
        for _ in range(count):
            other = make_run(job_name="Big job")
            RunTicket.objects.create(run=other, ticket=ticket)
            AuditEvent.record(
                "ticket_note_added", environment="sandbox", run=other, ticket_id=ticket.ticket_id
            )

    share_with(3)
    small = _run_page_queries(operator_client, run)
    assert len(timeline(operator_client, run)) == 3
    share_with(57)
    large = _run_page_queries(operator_client, run)
    events = timeline(operator_client, run)
    assert len(events) == 60 and all(from_run for _a, from_run, _i in events)
    assert small == large
    assert sim.api_call_count() == 0


def test_every_write_path_files_the_event_under_its_ticket(db):
    created = AuditEvent.objects.create(action="x", environment="sandbox", data={"ticket_id": 7})
    saved = AuditEvent(action="x", environment="sandbox", data={"ticket_id": "8"})
    saved.save()
    bulk = AuditEvent.objects.bulk_create([AuditEvent(action="x", data={"ticket_id": 9})])
    recorded = AuditEvent.record("x", environment="sandbox", ticket_id=10)
    no_ticket = [
        AuditEvent.record("x", **data)
        for data in ({}, {"ticket_id": None}, {"ticket_id": "T2026.1"}, {"ticket_id": True}, {"ticket_id": 0})
    ]
    stored = dict(AuditEvent.objects.values_list("pk", "ticket_id"))
    assert [stored[e.pk] for e in (created, saved, *bulk, recorded)] == [7, 8, 9, 10]
    assert [stored[e.pk] for e in no_ticket] == [None] * 5

    saved.data = {"ticket_id": 11}
    saved.save(update_fields=["data"])
    assert AuditEvent.objects.get(pk=saved.pk).ticket_id == 11


def test_the_migration_backfills_rows_written_before_it(db):
    from importlib import import_module

    backfill = import_module(MIGRATION).backfill_ticket_ids
    for i in range(5):
        AuditEvent.record("x", environment="sandbox", ticket_id=100 + i)
    AuditEvent.record("x", note="no ticket")
    AuditEvent.record("x", ticket_id="not an id")
    AuditEvent.record("x", ticket_id="77")  # a string of digits is an id
    AuditEvent.record("x", ticket_id=0)
    AuditEvent.objects.update(ticket_id=None)  # as before the column existed

    class Editor:
        connection = db_connection

    assert backfill(apps, Editor(), batch_size=2) == 6
    assert list(AuditEvent.objects.order_by("pk").values_list("ticket_id", flat=True)) == [
        100,
        101,
        102,
        103,
        104,
        None,
        None,
        77,
        None,
    ]
    assert backfill(apps, Editor(), batch_size=2) == 0  # idempotent


def test_staff_follow_the_timeline_to_every_event_about_the_ticket_in_the_audit_log(
    sim, autotask, ticketed_run, admin_client
):
    run_a, run_b, ticket = two_runs_sharing_a_ticket(ticketed_run)
    AuditEvent.record(
        "ticket_note_added", environment="sandbox", run=run_a, ticket_id=ticket.ticket_id, message="A1"
    )
    AuditEvent.record(
        "ticket_status_changed", environment="sandbox", ticket_id=ticket.ticket_id, message="S1"
    )
    AuditEvent.record(
        "ticket_status_changed", environment="production", ticket_id=ticket.ticket_id, message="P1"
    )
    AuditEvent.record("ticket_note_added", environment="sandbox", run=run_b, ticket_id=1, message="B-other")

    page = admin_client.get(run_b.get_absolute_url()).content.decode()
    match = re.search(r'<a class="small" href="([^"]+)" id="autotask-ticket-audit">', page)
    assert match, page
    listing = admin_client.get(match.group(1).replace("&amp;", "&")).content.decode()
    shown = {message for message in ("A1", "S1", "P1", "B-other") if f">{message}<" in listing}
    assert shown == {"A1", "S1"}, listing
    assert sim.api_call_count() == 0


def test_a_long_timeline_keeps_the_newest_events_oldest_first(sim, autotask, ticketed_run, operator_client):
    """A ticket shared by many runs gathers many events; the cap drops the oldest, never the resolution."""
    from integrations.autotask.template_content import TicketExtension

    run_a, run_b, ticket = two_runs_sharing_a_ticket(ticketed_run)
    start = timezone.now() - timedelta(days=1)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=start + timedelta(minutes=minute),
            action="ticket_note_added",
            environment="sandbox",
            run=run_a,
            data={"ticket_id": ticket.ticket_id, "minute": minute},
        )
        for minute in range(TicketExtension.TIMELINE_LIMIT + 5)
    )
    operator_client.post(reverse("autotask:resolve_ticket", args=[run_a.pk]), {"remark": "NAS fixed"})
    sim.clear_requests()

    events = timeline(operator_client, run_b)
    assert len(events) == TicketExtension.TIMELINE_LIMIT
    assert events[-1][0] == "resolve_ticket"  # the newest, last: oldest first on the page
    page = operator_client.get(run_b.get_absolute_url()).content.decode()
    assert "Only the latest 100 events are shown; the audit log has the older ones." in page
    assert sim.api_call_count() == 0
