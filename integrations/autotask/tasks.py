"""Background work of the Autotask integration (django.tasks; `manage.py db_worker` runs the queue).

Tasks take primary keys, never model instances, and check their preconditions when they run: a task that
starts while the integration is disabled (or not configured) makes no Autotask call and returns why.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.tasks import task

from integrations.autotask.messages import operator_message

logger = logging.getLogger(__name__)


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
    from integrations.autotask.services import ActionRefused
    from integrations.autotask.services import mapping as mapping_service

    problems = mapping_service.mapping_problems()
    if problems:
        logger.info("Autotask mapping check not run: %s", problems[0])
        return {"status": "refused", "message": problems[0]}
    customers = None if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    try:
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
