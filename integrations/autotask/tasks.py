"""Background work of the Autotask integration (Django's tasks framework; `manage.py db_worker` runs it).

Tasks take primary keys, never model instances, check their preconditions when they run and return
JSON-serialisable summaries. A task that starts while the integration is disabled (or not configured)
makes no Autotask call and says why — in its return value and in the log — instead of failing.

Every task here is background work: its Autotask calls run inside `services.budget.background_work(label)`
and so pace themselves by the tenant's hourly usage. The scheduler (`manage.py crontask`, see
`schedules.py`) enqueues the mapping check and the ticket status sync without a user; those runs are
labelled "scheduled mapping check" / "scheduled ticket status sync".
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.tasks import task

from integrations.autotask.messages import operator_message
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.budget import background_work

logger = logging.getLogger(__name__)


def _user(user_id):
    return get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None


def _label(what, user):
    """The background-work label: "scheduled <what>" when the scheduler enqueued it (no user)."""
    return f"scheduled {what}" if user is None else f"{what} queued by {user.get_username()}"


# --- Phase 3: company mappings ---------------------------------------------------------------------------


@task
def check_mappings_task(customer_ids=None, user_id=None):
    """Check the mappings of `customer_ids` (None = every mapping of the active environment).

    Returns a JSON-able dict: {"status": "ok", "counts", "checked", "changed", "api_calls"} or
    {"status": "refused", "message"} (disabled / not configured: nothing was sent to Autotask). An
    AutotaskError is logged with its operator text and re-raised, so the task is marked failed.
    """
    from customers.models import Customer
    from integrations.autotask.exceptions import AutotaskError
    from integrations.autotask.services import mapping as mapping_service

    problems = mapping_service.mapping_problems()
    if problems:
        logger.info("Autotask mapping check not run: %s", problems[0])
        return {"status": "refused", "message": problems[0]}
    customers = None if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    user = _user(user_id)
    try:
        with background_work(_label("mapping check", user)):
            result = mapping_service.check_mappings(customers, user=user)
    except ActionRefused as exc:  # the settings changed since the look above
        logger.info("Autotask mapping check not run: %s", exc)
        return {"status": "refused", "message": str(exc)}
    except AutotaskError as exc:
        logger.warning("Autotask mapping check failed: %s", operator_message(exc))
        raise
    logger.info("Autotask mapping check: %s (%d checked)", result.summary_line(), result.checked)
    return {
        "status": "ok",
        "counts": result.counts,
        "checked": result.checked,
        "changed": result.changed,
        "api_calls": result.api_calls,
    }


def enqueue_check_mappings(customer_ids=None, *, user=None):
    """Queue a mapping check once the current transaction commits (primary keys only)."""
    ids = None if customer_ids is None else sorted({int(pk) for pk in customer_ids})
    user_id = getattr(user, "pk", None)
    transaction.on_commit(lambda: check_mappings_task.enqueue(customer_ids=ids, user_id=user_id))


# --- Phase 5: ticket status sync --------------------------------------------------------------------------


@task
def sync_ticket_statuses_task(user_id=None):
    """Run `services.resolution.sync_ticket_statuses` (⌈N/500⌉ API calls for N open tickets).

    Returns {"checked", "changed", "missing", "completed", "moved"} or {"skipped": reason}. An AutotaskError
    is raised (the task fails, recorded by the backend and the audit log); the next run starts over.
    """
    from integrations.autotask.services.resolution import sync_ticket_statuses

    user = _user(user_id)
    try:
        with background_work(_label("ticket status sync", user)):
            result = sync_ticket_statuses(user=user)
    except ActionRefused as exc:
        logger.info("Autotask ticket status sync skipped: %s", exc)
        return {"skipped": str(exc)}
    logger.info("Autotask ticket status sync: %s", result.summary)
    return {
        "checked": result.checked,
        "changed": result.changed,
        "missing": result.missing,
        "completed": result.completed,
        "moved": result.moved,
    }


# --- Issue 14: bulk ticket work ---------------------------------------------------------------------------


@task
def run_bulk_job(job_id):
    """Work off bulk job `job_id` (services.bulk.run_job): its queued items in a small thread pool.

    Safe to run twice or concurrently (items are taken with a compare-and-set; the ticket claims keep each
    run's work exactly-once). While the integration is not active, every unfinished item is refused with
    the reason and nothing is sent to Autotask. Returns the job's counts: {"job", "state", "queued",
    "running", "done", "refused", "failed", "total", "retryable"}.
    """
    from integrations.autotask.services.bulk import run_job

    summary = run_job(job_id)
    logger.info("Autotask bulk job %s: %s", job_id, summary)
    return summary


# --- Scheduled work: crontask's scheduler imports this module; the schedules come from settings -----------

from integrations.autotask.schedules import register_schedules  # noqa: E402

register_schedules()
