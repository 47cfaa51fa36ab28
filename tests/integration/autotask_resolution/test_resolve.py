"""resolve_ticket_for_run against the simulator through the real client: both branches, the edge cases,
every fault the issue names, and the API-call budget from the simulator's request log."""

import pytest
from django.db import connection as db_connection

from integrations.autotask.exceptions import (
    AutotaskConnectionError,
    AutotaskNotFoundError,
    AutotaskServerError,
)
from integrations.autotask.models import AuditEvent, AutotaskTicket, EnvironmentConfig, ResolutionStep
from integrations.autotask.services import ActionRefused, connection
from integrations.autotask.services.resolution import note_marker, resolve_ticket_for_run
from integrations.autotask.simulator import SANDBOX
from runs.models import Run

from .conftest import add_time_entry, api_log, make_run, writes

DB = SANDBOX.database_id
READ = ("GET", "item", "Tickets")
COUNT = ("POST", "count", "TimeEntries")
NOTE = ("POST", "children", "TicketNotes")
PATCH = ("PATCH", "write", "Tickets")
FIND_NOTE = ("POST", "query", "TicketNotes")


def sim_ticket(sim, ticket_id):
    return next(t for t in sim.tickets(DB) if t["id"] == ticket_id)


def our_notes(sim, ticket):
    return [n for n in sim.ticket_notes(DB, ticket.ticket_id) if note_marker(ticket) in (n["title"] or "")]


def test_no_time_entries_adds_an_internal_note_and_closes(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()

    result = resolve_ticket_for_run(run, user=operator, remark="Disk replaced, rerun OK")

    assert result.outcome == "closed"
    assert api_log(sim) == [READ, COUNT, NOTE, PATCH]  # the whole budget: 4 calls
    assert sim_ticket(sim, ticket.ticket_id)["status"] == autotask.resolved_status_id == 5
    (note,) = our_notes(sim, ticket)
    assert result.note_id == note["id"]
    assert note["ticketID"] == ticket.ticket_id  # the parent
    assert note["noteType"] == autotask.note_type_id == 18  # "Backup Alert Note"
    assert note["publish"] == autotask.note_publish_id == 2  # "Internal Only"
    text = note["description"]
    assert "resolved in Backupchecks by op on " in text and " UTC." in text
    assert "Customer: Acme Dental" in text and "Job: Nightly VM backup" in text
    assert f"Run in Backupchecks: https://backupchecks.example.com/runs/{run.pk}/" in text
    assert f"Job Details: https://backupchecks.example.com{run.job.get_absolute_url()}" in text
    assert "Remark: Disk replaced, rerun OK" in text
    assert "No time was logged on this ticket, so Backupchecks closes it." in text
    ticket.refresh_from_db()
    assert (ticket.resolution_outcome, ticket.resolution_note_id, ticket.resolved_by) == (
        "closed",
        note["id"],
        operator,
    )
    assert ticket.is_complete and ticket.status_id == 5 and ticket.status_checked_at
    assert ticket.resolution_remark == "Disk replaced, rerun OK" and ticket.resolution_step == ""
    event = AuditEvent.objects.get(action="resolve_ticket")
    assert (event.outcome, event.run, event.data["resolution"], event.data["note_id"]) == (
        "ok",
        run,
        "closed",
        note["id"],
    )


def test_time_entries_add_a_note_only_and_leave_the_ticket_open(
    sim, autotask, ticketed_run, operator, control
):
    run, ticket = ticketed_run()
    add_time_entry(control, ticket.ticket_id)  # a technician logged time in Autotask
    status_before = sim_ticket(sim, ticket.ticket_id)["status"]

    result = resolve_ticket_for_run(run, user=operator)

    assert result.outcome == "note_only"
    assert api_log(sim) == [READ, COUNT, NOTE]  # 3 calls, no status change
    assert sim_ticket(sim, ticket.ticket_id)["status"] == status_before == 1
    (note,) = our_notes(sim, ticket)
    assert (note["ticketID"], note["noteType"], note["publish"]) == (ticket.ticket_id, 18, 2)
    assert "stays open because time was logged on it (1 time entry)" in note["description"]
    assert "Remark" not in note["description"]
    assert "stays open" in note["title"]
    ticket.refresh_from_db()
    assert ticket.resolution_outcome == "note_only" and not ticket.is_complete and ticket.status_id == 1
    assert "stays open" in result.message

    sim.clear_requests()
    again = resolve_ticket_for_run(run, user=operator)  # a second click: told what happened, nothing sent
    assert again.repeated and sim.api_call_count() == 0
    assert again.message.endswith(
        ": note added; left open (time entries exist). Nothing was sent to Autotask."
    )  # one pair of brackets, not "(note added; left open (time entries exist))"


def test_already_complete_in_autotask_writes_nothing(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()
    with connection.build_client(connection.credentials_for(autotask)) as client:
        client.update("Tickets", {"id": ticket.ticket_id, "status": 5})  # a technician completed it
    sim.clear_requests()

    result = resolve_ticket_for_run(run, user=operator)

    assert (result.outcome, result.note_id) == ("already_complete", None)
    assert api_log(sim) == [READ]
    assert writes(sim) == [] and our_notes(sim, ticket) == []
    ticket.refresh_from_db()
    assert ticket.resolution_outcome == "already_complete" and ticket.is_complete


def test_deleted_ticket_is_a_clear_error_and_changes_nothing_locally(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()
    sim.delete_ticket(DB, ticket.ticket_id)
    before = AutotaskTicket.objects.filter(pk=ticket.pk).values().get()

    with pytest.raises(AutotaskNotFoundError, match=rf"{ticket.ticket_number} .*not found in Autotask"):
        resolve_ticket_for_run(run, user=operator)

    assert writes(sim) == []
    assert AutotaskTicket.objects.filter(pk=ticket.pk).values().get() == before
    assert AuditEvent.objects.get(action="resolve_ticket").outcome == "failed"


def test_dropped_connection_after_the_note_was_committed_is_retried_with_exactly_one_note(
    sim, autotask, ticketed_run, operator
):
    run, ticket = ticketed_run()
    sim.inject_fault(entity="TicketNotes", method="POST", mode="commit_then_drop")

    with pytest.raises(AutotaskConnectionError):
        resolve_ticket_for_run(run, user=operator)
    ticket.refresh_from_db()
    assert ticket.resolution_step == ResolutionStep.NOTE_UNKNOWN and ticket.resolution_error
    assert len(our_notes(sim, ticket)) == 1  # Autotask stored it although the answer was lost
    sim.clear_requests()

    result = resolve_ticket_for_run(run, user=operator)

    assert result.outcome == "closed"
    assert api_log(sim) == [READ, FIND_NOTE, COUNT, PATCH]  # found our note: no second POST
    (note,) = our_notes(sim, ticket)
    assert result.note_id == note["id"]
    assert sim_ticket(sim, ticket.ticket_id)["status"] == 5


def test_failed_note_post_that_stored_nothing_is_retried_with_one_note(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()
    sim.inject_fault(entity="TicketNotes", method="POST", mode="fail_500")

    with pytest.raises(AutotaskServerError):
        resolve_ticket_for_run(run, user=operator)
    assert our_notes(sim, ticket) == []
    sim.clear_requests()

    result = resolve_ticket_for_run(run, user=operator)

    assert result.outcome == "closed"
    assert api_log(sim) == [READ, FIND_NOTE, COUNT, NOTE, PATCH]
    assert len(our_notes(sim, ticket)) == 1


def test_500_on_the_status_change_is_retried_by_setting_only_the_status(
    sim, autotask, ticketed_run, operator
):
    run, ticket = ticketed_run()
    sim.inject_fault(entity="Tickets", method="PATCH", mode="fail_500")

    with pytest.raises(AutotaskServerError):
        resolve_ticket_for_run(run, user=operator)
    ticket.refresh_from_db()
    assert ticket.resolution_step == ResolutionStep.NOTE_WRITTEN and ticket.resolution_note_id
    assert ticket.resolution_outcome == ""
    assert sim_ticket(sim, ticket.ticket_id)["status"] == 1
    sim.clear_requests()

    result = resolve_ticket_for_run(run, user=operator)

    assert result.outcome == "closed"
    assert api_log(sim) == [READ, COUNT, PATCH]  # no note written, none looked for
    assert len(our_notes(sim, ticket)) == 1
    assert result.note_id == ticket.resolution_note_id
    assert sim_ticket(sim, ticket.ticket_id)["status"] == 5


def test_status_change_applied_but_answer_lost_is_not_repeated(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()
    sim.inject_fault(entity="Tickets", method="PATCH", mode="commit_then_500")
    with pytest.raises(AutotaskServerError):
        resolve_ticket_for_run(run, user=operator)
    sim.clear_requests()

    result = resolve_ticket_for_run(run, user=operator)

    assert result.outcome == "closed"
    assert api_log(sim) == [READ]  # complete now: nothing to write
    assert len(our_notes(sim, ticket)) == 1


def test_time_logged_between_note_and_status_keeps_the_ticket_open(
    sim, autotask, ticketed_run, operator, control
):
    run, ticket = ticketed_run()
    sim.inject_fault(entity="Tickets", method="PATCH", mode="fail_500")
    with pytest.raises(AutotaskServerError):
        resolve_ticket_for_run(run, user=operator)
    add_time_entry(control, ticket.ticket_id)
    sim.clear_requests()

    result = resolve_ticket_for_run(run, user=operator)

    assert result.outcome == "note_only"
    assert api_log(sim) == [READ, COUNT]
    assert sim_ticket(sim, ticket.ticket_id)["status"] == 1
    assert len(our_notes(sim, ticket)) == 1


def test_a_second_resolve_sends_nothing_and_returns_the_stored_outcome(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()
    first = resolve_ticket_for_run(run, user=operator)
    sim.clear_requests()

    again = resolve_ticket_for_run(run, user=operator, remark="twice")

    assert sim.api_call_count() == 0
    assert (again.outcome, again.note_id, again.repeated) == ("closed", first.note_id, True)
    assert len(our_notes(sim, ticket)) == 1


def test_ticket_shared_by_several_runs_is_resolved_once(sim, autotask, ticketed_run, operator):
    runs = [make_run(), make_run(job_name="File server backup")]
    run, ticket = ticketed_run(runs=runs)

    first = resolve_ticket_for_run(runs[0], user=operator)
    sim.clear_requests()
    second = resolve_ticket_for_run(runs[1], user=operator)

    assert sim.api_call_count() == 0
    assert second.repeated and second.outcome == first.outcome == "closed"
    assert len(our_notes(sim, ticket)) == 1
    for shared in Run.objects.filter(pk__in=[r.pk for r in runs]).select_related("autotask_link__ticket"):
        assert shared.autotask_link.ticket.resolution_outcome == "closed"
    assert AuditEvent.objects.get(action="resolve_ticket").data["runs"] == sorted(r.pk for r in runs)


def test_customer_visible_note_visibility_is_refused_with_zero_calls(sim, autotask, ticketed_run, operator):
    run, ticket = ticketed_run()
    # Saved around the settings form (e.g. in the database directly): "All Autotask Users" = customers see it.
    EnvironmentConfig.objects.filter(pk=autotask.pk).update(note_publish_id=1)

    with pytest.raises(ActionRefused, match="visible to customers") as excinfo:
        resolve_ticket_for_run(run, user=operator)

    assert excinfo.value.code == "customer_visible"
    assert sim.api_call_count() == 0
    assert AuditEvent.objects.get(action="resolve_ticket").outcome == "refused"
    ticket.refresh_from_db()
    assert ticket.resolution_step == "" and ticket.resolution_outcome == ""


def test_visibility_is_checked_again_right_before_the_note_is_written(sim, autotask, ticketed_run, operator):
    """The settings change between the preconditions and the POST: the write is refused, nothing written."""
    run, ticket = ticketed_run()

    def switch_to_customer_visible(environ):
        if "TimeEntries" in environ["PATH_INFO"]:
            EnvironmentConfig.objects.filter(pk=autotask.pk).update(note_publish_id=1)

    def app(environ, start_response):
        switch_to_customer_visible(environ)
        return sim(environ, start_response)

    connection.set_transport_factory(lambda: __import__("httpx").WSGITransport(app=app))
    with pytest.raises(ActionRefused, match="visible to customers"):
        resolve_ticket_for_run(run, user=operator)

    assert api_log(sim) == [READ, COUNT] and writes(sim) == []
    ticket.refresh_from_db()
    assert ticket.resolution_step == "" and ticket.resolution_outcome == ""


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda env, settings: settings.__setattr__("enabled", False), "disabled"),
        (lambda env, settings: settings.__setattr__("base_url", ""), "not_configured"),
        (lambda env, settings: env.__setattr__("resolved_status_id", None), "not_configured"),
        (lambda env, settings: env.__setattr__("note_type_id", None), "not_configured"),
    ],
    ids=["disabled", "no-base-url", "no-resolved-status", "no-note-type"],
)
def test_integration_off_or_incomplete_is_refused_with_zero_calls(sim, autotask, ticketed_run, change, code):
    from integrations.autotask.models import AutotaskSettings

    run, _ticket = ticketed_run()
    settings = AutotaskSettings.load()
    change(autotask, settings)
    autotask.save()
    settings.save()

    with pytest.raises(ActionRefused) as excinfo:
        resolve_ticket_for_run(run)

    assert excinfo.value.code == code
    assert sim.api_call_count() == 0


def test_run_without_a_created_ticket_is_refused_with_zero_calls(sim, autotask, ticketed_run):
    with pytest.raises(ActionRefused, match="no Autotask ticket") as excinfo:
        resolve_ticket_for_run(make_run())
    assert excinfo.value.code == "no_ticket"

    run, ticket = ticketed_run()
    AutotaskTicket.objects.filter(pk=ticket.pk).update(state="unknown")
    with pytest.raises(ActionRefused, match="not created yet"):
        resolve_ticket_for_run(run)
    assert sim.api_call_count() == 0


def test_an_attempt_in_progress_blocks_a_second_one_until_its_lease_expires(
    sim, autotask, ticketed_run, operator
):
    from datetime import timedelta

    from django.utils import timezone

    run, ticket = ticketed_run()
    AutotaskTicket.objects.filter(pk=ticket.pk).update(
        resolution_step=ResolutionStep.CLAIMED,
        resolution_claimed_at=timezone.now(),
        resolution_claimed_by=operator,
    )
    with pytest.raises(ActionRefused, match="being resolved right now by op") as excinfo:
        resolve_ticket_for_run(run, user=operator)
    assert excinfo.value.code == "being_resolved" and sim.api_call_count() == 0

    # The claimer died (lease expired): the next attempt takes over and first looks for its note.
    AutotaskTicket.objects.filter(pk=ticket.pk).update(
        resolution_claimed_at=timezone.now() - timedelta(hours=1)
    )
    result = resolve_ticket_for_run(run, user=operator)
    assert result.outcome == "closed"
    assert api_log(sim) == [READ, FIND_NOTE, COUNT, NOTE, PATCH]
    assert len(our_notes(sim, ticket)) == 1


@pytest.mark.django_db(transaction=True)
def test_no_autotask_call_runs_inside_a_database_transaction(sim, roles, ticketed_run, operator):
    run, ticket = ticketed_run()
    in_transaction = []

    def app(environ, start_response):
        in_transaction.append(db_connection.in_atomic_block)
        return sim(environ, start_response)

    connection.set_transport_factory(lambda: __import__("httpx").WSGITransport(app=app))
    sim.inject_fault(entity="Tickets", method="PATCH", mode="fail_500")
    with pytest.raises(AutotaskServerError):
        resolve_ticket_for_run(run, user=operator)
    resolve_ticket_for_run(run, user=operator)

    assert len(in_transaction) >= 7 and not any(in_transaction)


@pytest.mark.django_db(transaction=True)
def test_two_operators_resolving_at_once_write_one_note(sim, roles, ticketed_run, operator, staff_admin):
    import threading

    from django.db import connections

    if db_connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database locks whole tables across threads; run on PostgreSQL")
    run, ticket = ticketed_run()
    barrier = threading.Barrier(2)
    outcomes = []

    def resolve(user):
        barrier.wait()
        try:
            outcomes.append(resolve_ticket_for_run(run, user=user).outcome)
        except ActionRefused as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=resolve, args=(user,)) for user in (operator, staff_admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) in (["being_resolved", "closed"], ["closed", "closed"])
    assert len(our_notes(sim, ticket)) == 1
    assert sum(1 for r in sim.requests if r.operation == "children") == 1
