"""The bulk task on the django-tasks-db worker, its thread pool, overlapping jobs (exactly once), a worker
that died mid-job, and retryable failures. Transactional database: SQLite file or PostgreSQL (run with
`DATABASE_URL=postgres://…` for the latter)."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from integrations.autotask.models import BulkItemState, BulkJob, BulkJobItem, BulkJobState, RunTicket
from integrations.autotask.services import bulk
from integrations.autotask.services.bulk import retry_job, run_job, start_bulk_action

from .conftest import make_jobs, sim_tickets, tickets_by_external_id

DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _states(job):
    return list(BulkJobItem.objects.filter(job=job).order_by("position").values_list("state", flat=True))


def test_db_worker_runs_a_bulk_job_with_its_thread_pool(sim, race_env, race_operator, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_BACKEND
    settings.AUTOTASK_BULK_CONCURRENCY = 6  # the default: more threads than Autotask's 3 slots per endpoint
    # Requests overlap: without one limiter for the process, a 4th is rejected. Long enough that handing a slot
    # to a waiting thread (a lease-table write) never outlasts a request on a loaded machine: with 0.05 s one
    # run saw only 2 in flight.
    sim.config.latency_seconds = 0.3
    peaks, acquire = [], sim._acquire_slot

    def counting_acquire(bucket):
        ok = acquire(bucket)
        peaks.append(sim._slots.get(bucket, 0) if ok else 99)
        return ok

    sim._acquire_slot = counting_acquire
    runs = make_jobs(race_env, 18)
    job = start_bulk_action(user=race_operator, action="create", run_ids=[r.pk for r in runs])
    job.refresh_from_db()
    task = DBTaskResult.objects.get()
    assert task.status == "READY" and str(task.id) == job.task_id  # enqueued on commit, not run yet
    assert _states(job) == [BulkItemState.QUEUED] * 18

    threads = set()
    original = bulk._run_unit

    def spy(*args):
        threads.add(threading.current_thread().name)
        return original(*args)

    bulk._run_unit = spy
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        bulk._run_unit = original
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == "SUCCESSFUL", task.traceback
    assert task.return_value["done"] == 18
    assert job.state == BulkJobState.FINISHED and _states(job) == [BulkItemState.DONE] * 18
    assert len(threads) == 6 and all(name.startswith(f"bulk-{job.pk}") for name in threads)
    assert len(tickets_by_external_id(sim)) == 18
    assert not [r for r in sim.requests if r.status == 429]  # never a thread-threshold rejection
    assert max(peaks) == 3  # the 3 slots were used fully, never exceeded


def test_overlapping_jobs_for_the_same_runs_make_each_ticket_once(sim, race_env, race_operator, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}  # run them below
    runs = make_jobs(race_env, 20)
    ids = [r.pk for r in runs]
    # Both jobs are planned before either runs: every item of both is queued.
    first = start_bulk_action(user=race_operator, action="create", run_ids=ids)
    second = start_bulk_action(user=race_operator, action="create", run_ids=list(reversed(ids)))
    barrier = threading.Barrier(3)

    def work(job_id):
        try:
            barrier.wait()
            return run_job(job_id)
        finally:
            connections.close_all()

    results = []
    workers = [
        threading.Thread(target=lambda j=j: results.append(work(j))) for j in (first.pk, second.pk, first.pk)
    ]  # the first job twice: a re-enqueued task running next to the original
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    found = tickets_by_external_id(sim)
    assert len(found) == 20 and all(len(t) == 1 for t in found.values())  # exactly once
    assert RunTicket.objects.filter(run_id__in=ids).values("ticket").distinct().count() == 20
    items = BulkJobItem.objects.filter(job__in=[first, second])
    assert items.filter(state=BulkItemState.DONE).count() == 20
    assert set(items.exclude(state=BulkItemState.DONE).values_list("outcome", flat=True)) <= {
        "already_has_ticket",
        "being_created",
    }
    assert not items.filter(state__in=[BulkItemState.QUEUED, BulkItemState.RUNNING]).exists()
    assert BulkJob.objects.filter(state=BulkJobState.FINISHED).count() == 2
    assert all(item.attempts == 1 for item in items)  # no item was worked twice


def test_a_job_whose_worker_died_is_continued(sim, race_env, race_operator, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    runs = make_jobs(race_env, 4)
    job = start_bulk_action(user=race_operator, action="create", run_ids=[r.pk for r in runs])
    items = list(BulkJobItem.objects.filter(job=job).order_by("position"))
    dead = timezone.now() - bulk.ITEM_LEASE - timedelta(seconds=1)
    BulkJobItem.objects.filter(pk=items[0].pk).update(
        state=BulkItemState.RUNNING, started_at=dead, attempts=1
    )
    BulkJobItem.objects.filter(pk=items[1].pk).update(state=BulkItemState.RUNNING, started_at=timezone.now())
    summary = run_job(job.pk)
    # the dead worker's item is taken over; a fresh `running` one belongs to a live worker and is left alone
    assert summary["done"] == 3 and summary["running"] == 1 and summary["state"] == BulkJobState.RUNNING
    BulkJobItem.objects.filter(pk=items[1].pk).update(started_at=dead)
    summary = run_job(job.pk)
    assert summary["done"] == 4 and summary["state"] == BulkJobState.FINISHED
    assert len(sim_tickets(sim)) == 4


def test_rate_limited_items_are_retryable_and_retry_finishes_them(sim, race_env, race_operator, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.AUTOTASK_BULK_CONCURRENCY = 1
    runs = make_jobs(race_env, 3)
    job = start_bulk_action(user=race_operator, action="create", run_ids=[r.pk for r in runs])
    sim.inject_fault(entity="Tickets", method="POST", mode="hourly_threshold", times=1)
    sim.inject_fault(entity="Tickets", method="POST", mode="fail_500", times=1)
    summary = run_job(job.pk)
    assert summary["failed"] == 2 and summary["done"] == 1 and summary["retryable"] == 2
    assert retry_job(job, user=race_operator) == 2
    summary = run_job(job.pk)
    assert summary["done"] == 3 and summary["state"] == BulkJobState.FINISHED
    found = tickets_by_external_id(sim)
    assert len(found) == 3 and all(len(t) == 1 for t in found.values())  # the 500'd POST was reconciled
    with pytest.raises(bulk.ActionRefused):
        retry_job(job, user=race_operator)  # nothing left to retry
