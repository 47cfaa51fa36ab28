"""Scheduled work of the Autotask integration: the mapping check and the ticket status sync on cron schedules.

The scheduler is django-crontask (`manage.py crontask`, one process — docs/deployment.md). It imports
`integrations.autotask.tasks`, whose last line calls `register_schedules()`: every job of `SCHEDULED_JOBS`
whose setting holds cron text is added to crontask's scheduler with crontask's own `@cron` decorator. At each
tick the scheduler only *enqueues* the task on the tasks backend (`django-tasks-db`); a `manage.py db_worker`
runs it. The tasks themselves check that the integration is enabled and mark their Autotask calls as
background work (`services.budget.background_work("scheduled …")`), so they pace themselves.

Schedules come from settings (environment variables, see backupchecks/settings.py): five-field cron text in
TIME_ZONE, the day of week as a name (Mon..Sun) or `*` (crontask refuses numbers there because their meaning
depends on the locale); empty text = off. Invalid text is a system-check error (`autotask.E101`), so
`manage.py crontask` (and runserver, migrate, db_worker) refuses to start with a message naming the setting.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ScheduledJob:
    label: str  # operator text, also the background-work label: "scheduled <label>"
    setting: str  # the settings name holding its cron text
    task_name: str  # the task's name in integrations.autotask.tasks

    @property
    def schedule(self):
        """The configured cron text, whitespace-normalised ("" = off)."""
        return " ".join(str(getattr(settings, self.setting, "") or "").split())

    @property
    def background_label(self):
        return f"scheduled {self.label}"


SCHEDULED_JOBS = (
    ScheduledJob("mapping check", "AUTOTASK_MAPPING_CHECK_SCHEDULE", "check_mappings_task"),
    ScheduledJob("ticket status sync", "AUTOTASK_TICKET_SYNC_SCHEDULE", "sync_ticket_statuses_task"),
)


def parse_schedule(setting, text):
    """Validate cron text the way crontask reads it; returns the APScheduler CronTrigger or None when off.

    Raises ImproperlyConfigured with an operator-readable message naming `setting`.
    """
    from apscheduler.triggers.cron import CronTrigger
    from django.utils import timezone

    text = " ".join(str(text or "").split())
    if not text:
        return None
    fields = text.split(" ")
    if len(fields) != 5:
        raise ImproperlyConfigured(
            f"{setting}={text!r} is not a cron schedule: expected 5 fields (minute hour day month day-of-week), "
            f"got {len(fields)}. Leave it empty to switch the schedule off."
        )
    if any(character.isdigit() for character in fields[4]):
        raise ImproperlyConfigured(
            f"{setting}={text!r}: write the day of week as a name (Mon, Tue, Wed, Thu, Fri, Sat, Sun) or *, "
            "not a number (django-crontask refuses numbers there)."
        )
    try:
        return CronTrigger.from_crontab(text, timezone=timezone.get_default_timezone())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting}={text!r} is not a valid cron schedule: {exc}.") from None


def check_schedule_settings(app_configs=None, **kwargs):
    """System check: every schedule setting is empty or valid cron text (autotask.E101)."""
    errors = []
    for job in SCHEDULED_JOBS:
        try:
            parse_schedule(job.setting, job.schedule)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint="Fix the environment variable (or .env) and restart; see docs/deployment.md.",
                    id="autotask.E101",
                )
            )
    return errors


def register_schedules():
    """Add each configured job to crontask's scheduler (with `crontask.cron`); returns [(job, trigger)].

    Idempotent: a job registered before under the same task name is replaced, so calling it again after a
    settings change re-reads the settings. Off (empty) and invalid schedules are left out — invalid ones are
    reported by the system check, which stops `manage.py crontask` before it gets here. Makes no SQL query
    and no API call; enqueues nothing itself.
    """
    import crontask

    from integrations.autotask import tasks

    scheduler = crontask.scheduler
    registered = []
    for job in SCHEDULED_JOBS:
        task = getattr(tasks, job.task_name)
        for existing in scheduler.get_jobs():
            if existing.name == task.name:
                scheduler.remove_job(existing.id)
        try:
            trigger = parse_schedule(job.setting, job.schedule)
        except ImproperlyConfigured:
            continue
        if trigger is None:
            continue
        # crontask's decorator builds the same trigger from the text and adds `task.enqueue` as the job.
        crontask.cron(job.schedule, sentry_monitor_config=None)(task)
        registered.append((job, trigger))
    return registered


def scheduled_jobs():
    """What is scheduled, for pages: [{"label", "setting", "schedule", "task_name"}] (no SQL, no API call)."""
    return [
        {"label": job.label, "setting": job.setting, "schedule": job.schedule, "task_name": job.task_name}
        for job in SCHEDULED_JOBS
    ]
