"""/autotask/health/: database only, constant queries, and "Reconcile now" for claims left unknown."""

from datetime import timedelta

import httpx
import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import (
    ApiCall,
    AuditEvent,
    AutotaskSettings,
    AutotaskTicket,
    EndpointLease,
    PacingState,
    RunTicket,
    TicketState,
    UsageSample,
)
from integrations.autotask.services import budget, connection, tickets
from integrations.autotask.simulator import SANDBOX
from tests.integration.autotask_tickets.conftest import make_run, map_customer, sim_tickets

HEALTH = "/autotask/health/"


def api_requests(sim):
    return [r for r in sim.requests if r.operation not in ("zoneInformation", "versionInformation")]


def fill(size, run_factory):
    """`size` rows of everything the page lists: calls, samples, leases, stale claims, task results."""
    now = timezone.now()
    scope = budget.scope_for(SANDBOX.integration_code)
    ApiCall.objects.bulk_create(
        ApiCall(
            at=now - timedelta(seconds=i),
            method="GET",
            path=f"/ATServicesRest/V1.0/Tickets/{i}",
            endpoint="Tickets",
            status_code=200,
            duration_ms=12,
            outcome="ok",
            label="interactive",
        )
        for i in range(size)
    )
    UsageSample.objects.bulk_create(
        UsageSample(scope=scope, measured_at=now - timedelta(minutes=i), used=5000 + i, threshold=10000)
        for i in range(size)
    )
    EndpointLease.objects.bulk_create(
        EndpointLease(
            scope=scope,
            endpoint=f"entity{size}-{i}",
            slot=0,
            holder="x",
            holder_label="bulk job 1",
            expires_at=now + timedelta(minutes=1),
        )
        for i in range(size)
    )
    for i in range(size):
        run = run_factory()
        ticket = AutotaskTicket.objects.create(
            environment="sandbox",
            database_id=SANDBOX.database_id,
            correlation_key=f"BC-health-{size}-{i}",
            state=TicketState.UNKNOWN if i % 2 else TicketState.PENDING,
            claimed_at=now - timedelta(hours=1),
            last_error="Autotask did not answer",
        )
        RunTicket.objects.create(run=run, ticket=ticket)
    for i in range(size):
        for task_path, _name in (
            ("integrations.autotask.tasks.check_mappings_task", ""),
            ("integrations.autotask.tasks.sync_ticket_statuses_task", ""),
        ):
            DBTaskResult.objects.create(
                args_kwargs={"args": [], "kwargs": {}},
                task_path=task_path,
                backend_name="default",
                run_after=now,
                status="FAILED" if i % 2 else "SUCCESSFUL",
                finished_at=now - timedelta(minutes=i),
                exception_class_path="integrations.autotask.exceptions.AutotaskConnectionError",
                traceback="Traceback (most recent call last):\n  ...\nAutotaskConnectionError: Autotask did not answer "
                f"within 30 s ({i})"
                if i % 2
                else "",
            )


@pytest.fixture
def no_autotask(env_config):
    """Any Autotask request fails the test (the page must render from the database only)."""
    sent = []

    def refuse(request):
        sent.append(str(request.url))
        raise AssertionError(f"the health page called Autotask: {request.url}")

    connection.set_transport_factory(lambda: httpx.MockTransport(refuse))
    yield sent


def test_the_page_is_database_only_with_constant_queries(admin_client, no_autotask, job):
    counts = []
    for size in (3, 60):
        fill(size, lambda: make_run(job))
        admin_client.get(HEALTH)  # warm-up (session, permissions cache)
        with CaptureQueriesContext(db_connection) as queries:
            response = admin_client.get(HEALTH)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert no_autotask == []
    page = response.content.decode()
    assert page.count(">Reconcile now</button>") == 50  # the list is capped; the heading has the exact count
    assert "Ticket claims to check (63)" in page
    from integrations.autotask.models import ApiCall

    # the API-call list shows the last 100 calls (or all, when fewer were logged)
    assert page.count('<td class="text-nowrap" data-label="Time (UTC)">') == min(100, ApiCall.objects.count())


def test_the_page_shows_pacing_limiter_calls_claims_and_scheduled_work(admin_client, no_autotask, job):
    fill(3, lambda: make_run(job))
    scope = budget.scope_for(SANDBOX.integration_code)
    now = timezone.now()
    PacingState.objects.update_or_create(
        scope=scope,
        defaults={
            "threshold": 10000,
            "read_used": 8000,
            "read_at": now,
            "reserved_total": 0,
            "reserved_at_read": 0,
            "state": "paused",
            "reason": "Paused: Autotask counts about 8,000 of 10,000 API requests",
            "resume_at": now + timedelta(minutes=1),
        },
    )
    page = admin_client.get(HEALTH).content.decode()
    assert 'data-state="paused"' in page and "Paused: Autotask counts about 8,000" in page
    assert "Pacing: paused" not in page  # hbreak: was "Pacing: paused — Paused: Autotask counts …"
    assert "<strong>80.0 %</strong>" in page
    assert "entity3-0" in page and "1 of 3" in page and "bulk job 1" in page  # limiter state
    assert "5,000 of 10,000" in page  # usage readings written as everywhere else (hbreak2: "5000 of 10000")
    assert "/ATServicesRest/V1.0/Tickets/0" in page  # the call log
    assert "Company mapping check" in page and "Ticket status sync" in page
    assert "AutotaskConnectionError: Autotask did not answer within 30 s (1)" in page
    assert 'href="/autotask/health/"' in admin_client.get("/admin/").content.decode()


def test_a_fresh_pending_claim_is_not_listed(db, job):
    run = make_run(job)
    ticket = AutotaskTicket.objects.create(
        environment="sandbox", database_id=SANDBOX.database_id, correlation_key="BC-fresh"
    )
    RunTicket.objects.create(run=run, ticket=ticket)
    assert list(tickets.unresolved_claims()) == []
    AutotaskTicket.objects.filter(pk=ticket.pk).update(claimed_at=timezone.now() - tickets.CLAIM_LEASE)
    assert list(tickets.unresolved_claims()) == [ticket]


# --- Reconcile now -------------------------------------------------------------------------------------


@pytest.fixture
def unknown_claim(sim, env_config, customer, job):
    """Create a ticket whose POST outcome is unknown: `commit` decides whether Autotask made it."""

    def make(commit):
        map_customer(customer, env_config)
        run = make_run(job)
        sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_drop" if commit else "fail_500")
        with pytest.raises(AutotaskError):
            tickets.create_ticket_for_run(run)
        claim = tickets.ticket_for_run(run)
        assert claim.state == TicketState.UNKNOWN
        sim.clear_requests()
        return run, claim

    return make


def test_reconcile_adopts_the_ticket_autotask_has(admin_client, sim, unknown_claim):
    run, claim = unknown_claim(commit=True)
    page = admin_client.get(HEALTH).content.decode()
    assert claim.correlation_key in page and "Reconcile now" in page
    response = admin_client.post(reverse("autotask:reconcile_claim", args=[claim.pk]), follow=True)
    assert response.status_code == 200
    claim.refresh_from_db()
    [created] = sim_tickets(sim, claim.correlation_key)
    assert claim.state == TicketState.CREATED and claim.ticket_number == created["ticketNumber"]
    assert tickets.ticket_for_run(run) == claim
    assert len(api_requests(sim)) == 1  # one query by externalID, no write
    assert "is now linked" in response.content.decode()
    event = AuditEvent.objects.filter(action="reconcile_claim").latest("id")
    assert event.outcome == "adopted" and event.data["run_ids"] == [run.pk]
    assert len(sim_tickets(sim)) == 1  # still exactly one


def test_reconcile_releases_an_unknown_claim_autotask_does_not_have(admin_client, sim, unknown_claim):
    run, claim = unknown_claim(commit=False)
    response = admin_client.post(reverse("autotask:reconcile_claim", args=[claim.pk]), follow=True)
    assert "the claim is released" in response.content.decode()
    assert not AutotaskTicket.objects.filter(pk=claim.pk).exists()
    assert tickets.ticket_for_run(run) is None
    assert len(api_requests(sim)) == 1
    assert AuditEvent.objects.filter(action="reconcile_claim").latest("id").outcome == "released"
    # Create can be retried now, and makes exactly one ticket
    created = tickets.create_ticket_for_run(run)
    assert created.state == TicketState.CREATED
    assert len(sim_tickets(sim)) == 1


def test_reconcile_is_refused_while_disabled_with_zero_calls(admin_client, sim, unknown_claim):
    run, claim = unknown_claim(commit=True)
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    response = admin_client.post(reverse("autotask:reconcile_claim", args=[claim.pk]), follow=True)
    assert "integration is disabled" in response.content.decode()
    assert sim.requests == []
    claim.refresh_from_db()
    assert claim.state == TicketState.UNKNOWN
    assert AuditEvent.objects.filter(action="reconcile_claim").latest("id").outcome == "refused"


def test_reconcile_twice_refuses_the_second_time(admin_client, sim, unknown_claim):
    run, claim = unknown_claim(commit=True)
    tickets.reconcile_claim(claim)
    sim.clear_requests()
    with pytest.raises(tickets.ActionRefused) as caught:
        tickets.reconcile_claim(claim)
    assert caught.value.code == "already_has_ticket"
    assert sim.requests == []


def test_reconcile_failure_leaves_the_claim_unknown(admin_client, sim, unknown_claim):
    run, claim = unknown_claim(commit=True)
    sim.inject_fault(entity="Tickets", mode="fail_500", times=5)
    response = admin_client.post(reverse("autotask:reconcile_claim", args=[claim.pk]), follow=True)
    assert response.status_code == 200
    claim.refresh_from_db()
    assert claim.state == TicketState.UNKNOWN
    assert AuditEvent.objects.filter(action="reconcile_claim").latest("id").outcome == "failed"


def test_a_viewer_or_operator_cannot_open_the_page(client, django_user_model, db):
    user = django_user_model.objects.create_user("op", password="pw", is_staff=False)
    client.force_login(user)
    assert client.get(HEALTH).status_code == 403
