"""Background work of the Autotask integration (Django's tasks framework; `manage.py db_worker` runs it).

Tasks take primary keys, never model instances, and return JSON-serialisable summaries. A task started
while the integration is disabled (or not configured) does nothing and says why — in its return value
and in the log — instead of failing.
"""

import logging

from django.contrib.auth import get_user_model
from django.tasks import task

from integrations.autotask.services import ActionRefused

logger = logging.getLogger(__name__)


@task
def sync_ticket_statuses_task(user_id=None):
    """Run `services.resolution.sync_ticket_statuses` (⌈N/500⌉ API calls for N open tickets).

    Returns {"checked", "changed", "missing", "completed", "moved"} or {"skipped": reason}. An AutotaskError
    is raised (the task fails, recorded by the backend and the audit log); the next run starts over.
    """
    from integrations.autotask.services.resolution import sync_ticket_statuses

    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    try:
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
