"""Every fault the simulator can inject into the ticket POST ends with exactly one ticket after a retry.

Between the failure and the retry the operator gets a clear message (Autotask's own text where there is
one) and the run's record says what is known: `unknown` ("checking Autotask…") whenever the POST may have
been applied, released when nothing was sent.
"""

import httpx
import pytest
from django.contrib.auth.models import User

from integrations.autotask.exceptions import (
    AutotaskConnectionError,
    AutotaskError,
    AutotaskRateLimitError,
    AutotaskServerError,
    AutotaskValidationError,
)
from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket, TicketState
from integrations.autotask.services import ActionRefused, tickets
from integrations.autotask.simulator import SANDBOX

from .conftest import COMPANY_ID, sim_tickets, ticket_posts


def _reconcile_queries(sim):
    return [r for r in sim.requests if r.operation == "query" and r.entity == "Tickets"]


def _retry_and_expect_one(sim, run, *, created_before_retry):
    """The operator retries: the claim is reconciled first (one query), then adopted or created."""
    sim.clear_requests()
    record = tickets.create_ticket_for_run(run)
    assert record.state == TicketState.CREATED
    assert len(_reconcile_queries(sim)) == 1, "the retry must reconcile by externalID first"
    assert len(ticket_posts(sim)) == (0 if created_before_retry else 1)
    [stored] = sim_tickets(sim)
    assert (record.ticket_id, record.ticket_number) == (stored["id"], stored["ticketNumber"])
    assert stored["externalID"] == record.correlation_key
    # and a third attempt is refused locally
    sim.clear_requests()
    with pytest.raises(ActionRefused, match=f"already has Autotask ticket {record.ticket_number}"):
        tickets.create_ticket_for_run(run)
    assert sim.api_call_count() == 0
    return record


def _assert_unknown(run, exc_info, error_class):
    assert isinstance(exc_info.value, error_class)
    record = tickets.ticket_for_run(run)
    assert record is not None and record.state == TicketState.UNKNOWN
    assert record.get_state_display() == "Checking Autotask…"
    assert record.last_error
    return record


@pytest.mark.parametrize(
    ("mode", "error_class", "committed"),
    [
        ("commit_then_drop", AutotaskConnectionError, True),
        ("commit_then_500", AutotaskServerError, True),
        ("fail_500", AutotaskServerError, False),
        ("thread_threshold", AutotaskRateLimitError, False),
    ],
)
def test_a_failed_post_leaves_the_claim_unknown_and_the_retry_converges(
    sim, env_config, run, mode, error_class, committed
):
    sim.inject_fault(mode=mode, entity="Tickets", method="POST")
    with pytest.raises(AutotaskError) as exc_info:
        tickets.create_ticket_for_run(run)
    _assert_unknown(run, exc_info, error_class)
    assert len(ticket_posts(sim)) == 1, "a POST is never repeated automatically"
    assert len(sim_tickets(sim)) == (1 if committed else 0)
    failed = AuditEvent.objects.filter(run=run, outcome="unknown").get()
    assert failed.data["error"] == error_class.__name__

    _retry_and_expect_one(sim, run, created_before_retry=committed)


def test_timeout_after_commit(sim, env_config, run):
    def time_out(seconds):
        raise httpx.ReadTimeout("timed out")

    sim.sleep = time_out  # the "delay" fault commits, then the client gives up waiting
    sim.inject_fault(mode="delay", entity="Tickets", method="POST")
    with pytest.raises(AutotaskConnectionError) as exc_info:
        tickets.create_ticket_for_run(run)
    _assert_unknown(run, exc_info, AutotaskConnectionError)
    assert "Timed out" in str(exc_info.value)
    assert len(sim_tickets(sim)) == 1

    _retry_and_expect_one(sim, run, created_before_retry=True)


def test_validation_error_shows_autotasks_text_and_the_retry_reconciles_first(sim, env_config, run):
    sim.deactivate_company(SANDBOX.database_id, COMPANY_ID)  # Autotask refuses inactive companies (500)
    with pytest.raises(AutotaskValidationError) as exc_info:
        tickets.create_ticket_for_run(run)
    record = _assert_unknown(run, exc_info, AutotaskValidationError)
    assert f"The company {COMPANY_ID} is inactive and cannot be used on a ticket." in str(exc_info.value)
    assert f"The company {COMPANY_ID} is inactive" in record.last_error
    assert sim_tickets(sim) == []

    sim.state[SANDBOX.database_id]["Companies"][COMPANY_ID]["isActive"] = True  # fixed in Autotask
    _retry_and_expect_one(sim, run, created_before_retry=False)


def test_crash_between_the_post_and_saving_the_result(sim, env_config, run, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("worker killed after the POST returned")

    first = User.objects.create_user("first-operator")
    monkeypatch.setattr(tickets, "_record_created", crash)
    with pytest.raises(RuntimeError):
        tickets.create_ticket_for_run(run, user=first)
    assert tickets.ticket_for_run(run).state == TicketState.UNKNOWN
    assert len(sim_tickets(sim)) == 1
    monkeypatch.undo()

    record = _retry_and_expect_one(sim, run, created_before_retry=True)
    assert record.created_by == first, "the adopted ticket keeps the creator of the attempt that made it"


def test_a_process_that_dies_after_the_post_leaves_a_pending_claim_that_expires(
    sim, env_config, run, monkeypatch
):
    """Nothing could be recorded at all (the process died): the claim stays `pending` until its lease ends."""

    def die(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(tickets, "_record_created", die)
    monkeypatch.setattr(tickets, "_settle_failure", lambda *a, **k: None)  # nothing runs after a kill
    with pytest.raises(SystemExit):
        tickets.create_ticket_for_run(run)
    monkeypatch.undo()
    record = tickets.ticket_for_run(run)
    assert record.state == TicketState.PENDING and len(sim_tickets(sim)) == 1

    sim.clear_requests()
    with pytest.raises(ActionRefused, match="being created right now") as refused:
        tickets.create_ticket_for_run(run)
    assert refused.value.code == "being_created"
    assert sim.api_call_count() == 0

    AutotaskTicket.objects.filter(pk=record.pk).update(claimed_at=record.claimed_at - tickets.CLAIM_LEASE)
    _retry_and_expect_one(sim, run, created_before_retry=True)


def test_read_back_failure_keeps_the_id_and_the_retry_adopts_it(sim, env_config, run):
    sim.inject_fault(mode="fail_500", entity="Tickets", method="GET", times=3)  # every read attempt fails
    with pytest.raises(AutotaskServerError):
        tickets.create_ticket_for_run(run)
    record = tickets.ticket_for_run(run)
    [stored] = sim_tickets(sim)
    assert record.state == TicketState.UNKNOWN and record.ticket_id == stored["id"]

    _retry_and_expect_one(sim, run, created_before_retry=True)


def test_a_failure_before_anything_was_sent_releases_the_claim(sim, env_config, run, monkeypatch):
    def refuse_to_connect(self, *args, **kwargs):
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(httpx.WSGITransport, "handle_request", refuse_to_connect)
    from integrations.autotask.client import clear_zone_cache

    clear_zone_cache()
    with pytest.raises(AutotaskConnectionError):
        tickets.create_ticket_for_run(run)
    assert tickets.ticket_for_run(run) is None, "nothing was sent: the claim is released at once"
    assert not RunTicket.objects.exists() and not AutotaskTicket.objects.exists()
    assert AuditEvent.objects.filter(run=run, outcome="failed").exists()
    monkeypatch.undo()

    sim.clear_requests()
    record = tickets.create_ticket_for_run(run)
    assert record.state == TicketState.CREATED
    assert _reconcile_queries(sim) == [], "a released claim needs no reconcile"
    assert len(sim_tickets(sim)) == 1


def test_a_reconcile_that_fails_keeps_the_claim_unknown(sim, env_config, run):
    sim.inject_fault(mode="commit_then_drop", entity="Tickets", method="POST")
    with pytest.raises(AutotaskConnectionError):
        tickets.create_ticket_for_run(run)
    sim.inject_fault(mode="fail_500", entity="Tickets", method="POST", times=None)  # queries are POSTs too
    with pytest.raises(AutotaskServerError):
        tickets.create_ticket_for_run(run)
    assert tickets.ticket_for_run(run).state == TicketState.UNKNOWN
    assert len(ticket_posts(sim)) == 1
    sim.clear_faults()

    _retry_and_expect_one(sim, run, created_before_retry=True)
