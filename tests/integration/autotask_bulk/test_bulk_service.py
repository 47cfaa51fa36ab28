"""start_bulk_action + run_bulk_job: each action end to end through the task and the simulator."""

import pytest

from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    BulkItemState,
    BulkJob,
    BulkJobState,
    RunTicket,
)
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.bulk import MAX_BULK_RUNS, job_counts, start_bulk_action
from runs.roles import VIEWER
from tests.users import make_user

from .conftest import make_jobs, make_run, sim_tickets, tickets_by_external_id

pytestmark = pytest.mark.django_db


def start(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_bulk_action(**kwargs)
    job.refresh_from_db()
    return job


def items(job):
    return list(job.items.order_by("position"))


def test_create_makes_one_ticket_per_run(sim, env_config, operator, django_capture_on_commit_callbacks):
    runs = make_jobs(env_config, 4)
    sim.clear_requests()
    job = start(
        django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[r.pk for r in runs]
    )
    assert job.state == BulkJobState.FINISHED
    assert [i.state for i in items(job)] == [BulkItemState.DONE] * 4
    assert all(i.ticket.ticket_number and i.outcome == "created" for i in items(job))
    found = tickets_by_external_id(sim)
    assert len(found) == 4 and all(len(t) == 1 for t in found.values())
    assert job_counts(job)["done"] == 4
    assert job.task_id  # enqueued through django.tasks
    assert AuditEvent.objects.filter(action="bulk_job_started").count() == 1


def test_refused_runs_are_recorded_and_the_others_still_run(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    good = make_jobs(env_config, 2)
    unmapped = make_jobs(env_config, 1, mapped=False)
    success = make_run(good[0].job, status="success")
    sim.clear_requests()
    first = start(django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[good[0].pk])
    assert first.items.get().state == BulkItemState.DONE
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="create",
        run_ids=[r.pk for r in good + unmapped] + [success.pk],
    )
    by_run = {i.run_id: i for i in items(job)}
    assert by_run[good[0].pk].state == BulkItemState.REFUSED
    assert "already has Autotask ticket" in by_run[good[0].pk].message
    assert by_run[good[1].pk].state == BulkItemState.DONE
    assert by_run[unmapped[0].pk].outcome == "unmapped"
    assert by_run[success.pk].outcome == "status"
    assert len(sim_tickets(sim)) == 2  # exactly once: the first job's ticket was not made again


def test_share_per_job_makes_one_ticket_per_backup_job(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    runs = make_jobs(env_config, 2, runs_per_job=3)
    sim.clear_requests()
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="create",
        run_ids=[r.pk for r in runs],
        share_per_job=True,
    )
    assert [i.state for i in items(job)] == [BulkItemState.DONE] * 6
    assert [i.outcome for i in items(job)] == ["created", "added", "added"] * 2
    assert len(sim_tickets(sim)) == 2
    for backup_job in {r.job for r in runs}:
        assert RunTicket.objects.filter(run__job=backup_job).values("ticket").distinct().count() == 1
    notes = [r for r in sim.requests if r.method == "POST" and r.path.lower().endswith("/notes")]
    assert len(notes) == 4  # one internal note per added run


def test_share_per_job_adds_to_the_jobs_open_ticket(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    runs = make_jobs(env_config, 1, runs_per_job=3)
    start(django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[runs[0].pk])
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="create",
        run_ids=[r.pk for r in runs[1:]],
        share_per_job=True,
    )
    assert [i.outcome for i in items(job)] == ["added", "added"]
    assert len(sim_tickets(sim)) == 1


def test_resolve_resolves_a_shared_ticket_once(sim, env_config, operator, django_capture_on_commit_callbacks):
    runs = make_jobs(env_config, 2, runs_per_job=2)
    start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="create",
        run_ids=[r.pk for r in runs],
        share_per_job=True,
    )
    sim.clear_requests()
    job = start(
        django_capture_on_commit_callbacks, user=operator, action="resolve", run_ids=[r.pk for r in runs]
    )
    assert [i.state for i in items(job)] == [BulkItemState.DONE] * 4
    assert [i.outcome for i in items(job)] == ["closed"] * 4
    note_posts = [r for r in sim.requests if r.method == "POST" and r.path.lower().endswith("/notes")]
    assert len(note_posts) == 2  # one note per ticket, not per run
    patches = [r for r in sim.requests if r.method == "PATCH"]
    assert len(patches) == 2


def test_resolve_refuses_runs_without_ticket(sim, env_config, operator, django_capture_on_commit_callbacks):
    runs = make_jobs(env_config, 1)
    sim.clear_requests()
    job = start(django_capture_on_commit_callbacks, user=operator, action="resolve", run_ids=[runs[0].pk])
    assert job.state == BulkJobState.FINISHED
    assert items(job)[0].outcome == "no_ticket"
    assert sim.requests == []


def test_link_looks_the_ticket_up_once(sim, env_config, operator, django_capture_on_commit_callbacks):
    AutotaskSettings.objects.filter(pk=1).update(compatibility_mode=True)
    runs = make_jobs(env_config, 1, runs_per_job=5)
    number = _an_existing_ticket_of(sim, company_id=1174)
    sim.clear_requests()
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="link",
        run_ids=[r.pk for r in runs],
        ticket_reference=f"  {number.lower()} ",
    )
    assert [i.state for i in items(job)] == [BulkItemState.DONE] * 5
    assert {i.ticket_id for i in items(job)} == {job.link_ticket_id}
    api = [r for r in sim.requests if r.entity == "Tickets"]
    assert len(api) == 1  # one lookup for the whole job
    assert [r for r in sim.requests if r.method in ("POST", "PATCH") and r.operation == "write"] == []


def test_link_to_an_unknown_ticket_refuses_every_run(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    AutotaskSettings.objects.filter(pk=1).update(compatibility_mode=True)
    runs = make_jobs(env_config, 1, runs_per_job=3)
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="link",
        run_ids=[r.pk for r in runs],
        ticket_reference="T20000101.9999",
    )
    assert job.state == BulkJobState.FINISHED
    assert {(i.state, i.outcome) for i in items(job)} == {(BulkItemState.REFUSED, "not_found")}


def _an_existing_ticket_of(sim, company_id):
    from integrations.autotask.simulator import SANDBOX

    for ticket in sim.tickets(SANDBOX.database_id):
        if ticket["companyID"] == company_id:
            return ticket["ticketNumber"]
    raise AssertionError("the simulator's sandbox has no ticket for that company")


# --- refusals of the whole action: zero requests ------------------------------------------------------------


def test_disabled_integration_refuses_with_zero_requests(sim, env_config, operator):
    runs = make_jobs(env_config, 2)
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    sim.clear_requests()
    with pytest.raises(ActionRefused) as refused:
        start_bulk_action(user=operator, action="create", run_ids=[r.pk for r in runs])
    assert refused.value.code == "integration_disabled"
    assert sim.requests == [] and BulkJob.objects.count() == 0


def test_user_without_permission_is_refused_with_zero_requests(sim, env_config):
    runs = make_jobs(env_config, 1)
    viewer = make_user("v", VIEWER)
    sim.clear_requests()
    for action in ("create", "resolve", "link"):
        with pytest.raises(ActionRefused) as refused:
            start_bulk_action(
                user=viewer, action=action, run_ids=[runs[0].pk], ticket_reference="T20260101.0001"
            )
        assert refused.value.code == "permission"
    assert sim.requests == [] and BulkJob.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"action": "delete", "run_ids": [1]}, "bad_action"),
        ({"action": "create", "run_ids": []}, "no_runs"),
        ({"action": "create", "run_ids": [999999]}, "no_runs"),
        ({"action": "create", "run_ids": list(range(1, MAX_BULK_RUNS + 2))}, "too_many"),
        ({"action": "link", "run_ids": [1], "ticket_reference": "T2026"}, "compatibility_off"),
    ],
)
def test_bad_requests_are_refused(sim, env_config, operator, kwargs, code):
    sim.clear_requests()
    with pytest.raises(ActionRefused) as refused:
        start_bulk_action(user=operator, **kwargs)
    assert refused.value.code == code
    assert sim.requests == []


def test_link_needs_a_well_formed_reference(sim, env_config, operator):
    AutotaskSettings.objects.filter(pk=1).update(compatibility_mode=True)
    runs = make_jobs(env_config, 1)
    with pytest.raises(ActionRefused) as refused:
        start_bulk_action(user=operator, action="link", run_ids=[runs[0].pk], ticket_reference="not a ticket")
    assert refused.value.code == "bad_reference"


def test_integration_disabled_after_queueing_refuses_every_item_without_requests(sim, env_config, operator):
    from integrations.autotask.tasks import run_bulk_job

    runs = make_jobs(env_config, 3)
    job = start_bulk_action(user=operator, action="create", run_ids=[r.pk for r in runs])  # not enqueued yet
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    sim.clear_requests()
    result = run_bulk_job.call(job.pk)
    assert result["refused"] == 3 and result["state"] == BulkJobState.FINISHED
    assert {i.outcome for i in items(job)} == {"integration_disabled"}
    assert sim.requests == []


def test_every_item_runs_as_background_work_of_its_job(
    sim, env_config, operator, django_capture_on_commit_callbacks, monkeypatch
):
    from integrations.autotask.services import budget, tickets

    labels = []
    real = tickets.create_ticket_for_run

    def spy(run, **kwargs):  # the real service, recording how the budget sees the call
        labels.append(budget.background_label())
        return real(run, **kwargs)

    monkeypatch.setattr(tickets, "create_ticket_for_run", spy)
    runs = make_jobs(env_config, 3)
    job = start(
        django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[r.pk for r in runs]
    )
    assert labels == [f"bulk job {job.pk}"] * 3
    assert budget.background_label() is None  # only inside the items


def test_one_failing_item_does_not_stop_the_others(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    runs = make_jobs(env_config, 3)
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_500", times=1)
    job = start(
        django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[r.pk for r in runs]
    )
    states = [i.state for i in items(job)]
    assert states == [BulkItemState.FAILED, BulkItemState.DONE, BulkItemState.DONE]
    failed = items(job)[0]
    assert failed.retryable and failed.ticket.state == "unknown"  # the next attempt reconciles
    assert job.state == BulkJobState.FINISHED


def test_share_per_job_retry_after_an_unknown_outcome_keeps_one_ticket(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    from integrations.autotask.services.bulk import retry_job

    runs = make_jobs(env_config, 1, runs_per_job=3)
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_500", times=1)
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="create",
        run_ids=[r.pk for r in runs],
        share_per_job=True,
    )
    assert [(i.state, i.retryable) for i in items(job)] == [(BulkItemState.FAILED, True)] * 3
    assert len(sim_tickets(sim)) == 1  # Autotask did create it; we just do not know yet
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_job(job, user=operator) == 3
    assert [i.state for i in items(job)] == [BulkItemState.DONE] * 3
    assert [i.outcome for i in items(job)] == ["created", "added", "added"]
    assert len(sim_tickets(sim)) == 1  # reconciled by externalID, not created again
    assert len({i.ticket_id for i in items(job)}) == 1


def test_retry_after_reconcile_now_reports_the_adopted_ticket_as_done(
    sim, env_config, operator, staff_admin, django_capture_on_commit_callbacks
):
    """hbreak: a ticket POST whose answer was lost leaves the item failed (retryable, claim unknown); staff
    press "Reconcile now" on the health page, which adopts the ticket Autotask has. Retrying the job then
    said "Refused: This run already has Autotask ticket T…" although this very item created it."""
    from integrations.autotask.services.bulk import retry_job
    from integrations.autotask.services.tickets import reconcile_claim

    runs = make_jobs(env_config, 2)
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_drop", times=1)
    job = start(
        django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[r.pk for r in runs]
    )
    failed = items(job)[0]
    assert (failed.state, failed.retryable, failed.ticket.state) == (BulkItemState.FAILED, True, "unknown")
    reconcile_claim(failed.ticket, user=staff_admin)
    failed.ticket.refresh_from_db()
    assert failed.ticket.state == "created"
    sim.clear_requests()

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_job(job, user=operator) == 1
    retried = items(job)[0]
    assert (retried.state, retried.outcome, retried.ticket_id) == (
        BulkItemState.DONE,
        "created",
        failed.ticket.pk,
    )
    assert failed.ticket.ticket_number in retried.message
    assert job_counts(job)["done"] == 2 and job_counts(job)["refused"] == 0
    assert sim.requests == []  # settled already: no Autotask call
    assert len(sim_tickets(sim)) == 2
