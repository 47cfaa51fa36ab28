"""Scheduled work (issue 14 item 3): django-crontask schedules from settings, a tick enqueues onto the
database task backend, `manage.py db_worker` runs it as background work, and a disabled integration makes no
Autotask call. The simulator is reached in-process through the real client."""

import io

import crontask
import httpx
import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.schedules import check_schedule_settings, register_schedules
from integrations.autotask.services import budget
from integrations.autotask.services import mapping as mapping_service
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from tests.autotask_sim import in_process_simulator
from tests.integration.autotask_tickets.conftest import configure_integration, make_run, map_customer

DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class LabelRecordingTransport(httpx.WSGITransport):
    """The simulator in-process; remembers the background-work label each request was sent under."""

    def __init__(self, app, labels):
        super().__init__(app=app)
        self.labels = labels

    def handle_request(self, request):
        self.labels.append(budget.background_label())
        return super().handle_request(request)


@pytest.fixture
def sim(settings):
    simulator = AutotaskSimulator()
    simulator.labels = []
    yield from in_process_simulator(
        settings, simulator, transport=lambda app: LabelRecordingTransport(app, simulator.labels)
    )


@pytest.fixture
def enabled_sandbox(sim, db):
    """Tested, reference data refreshed, defaults chosen, enabled (as an admin does it)."""
    env_config = configure_integration()
    sim.clear_requests()
    sim.labels.clear()
    return env_config


@pytest.fixture
def schedules(settings):
    """Register the schedules from (test-overridden) settings; restore the default registration after."""

    def register(mapping_check="0 6 * * *", ticket_sync="*/15 * * * *"):
        settings.AUTOTASK_MAPPING_CHECK_SCHEDULE = mapping_check
        settings.AUTOTASK_TICKET_SYNC_SCHEDULE = ticket_sync
        register_schedules()
        return {job.name: job for job in crontask.scheduler.get_jobs()}

    yield register
    settings.AUTOTASK_MAPPING_CHECK_SCHEDULE = "0 6 * * *"
    settings.AUTOTASK_TICKET_SYNC_SCHEDULE = "*/15 * * * *"
    register_schedules()


def tick(jobs, name):
    """What the running scheduler does when the job's time comes: call the job (crontask: task.enqueue)."""
    job = jobs[name]
    return job.func(*job.args, **job.kwargs)


def run_worker():
    """`manage.py db_worker --batch` in this process (it closes its database connections at the end, so the
    tests that use it commit for real: transactional_db — on PostgreSQL too)."""
    out = io.StringIO()
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- registration from settings ----------------------------------------------------------------------


def test_schedules_are_registered_from_settings(schedules):
    jobs = schedules(mapping_check="30 5 * * Mon-Fri", ticket_sync="*/10 * * * *")
    mapping, sync = jobs["check_mappings_task"], jobs["sync_ticket_statuses_task"]
    fields = {f.name: str(f) for f in mapping.trigger.fields}
    assert (fields["minute"], fields["hour"], fields["day_of_week"]) == ("30", "5", "mon-fri")
    assert {f.name: str(f) for f in sync.trigger.fields}["minute"] == "*/10"
    assert mapping.func.__self__.name == "check_mappings_task"  # crontask schedules Task.enqueue


def test_registering_again_replaces_and_empty_switches_off(schedules):
    schedules()
    jobs = schedules(mapping_check="", ticket_sync="0 * * * *")
    assert "check_mappings_task" not in jobs
    assert [j.name for j in crontask.scheduler.get_jobs()].count("sync_ticket_statuses_task") == 1
    assert {f.name: str(f) for f in jobs["sync_ticket_statuses_task"].trigger.fields}["minute"] == "0"


@pytest.mark.parametrize(
    "text, words",
    [
        ("every morning", "expected 5 fields"),
        ("61 * * * *", "not a valid cron schedule"),
        ("0 6 * * 1", "day of week as a name"),
        ("0 6 * *", "expected 5 fields"),
    ],
)
def test_invalid_cron_text_is_a_system_check_error(db, settings, text, words):
    settings.AUTOTASK_TICKET_SYNC_SCHEDULE = text
    errors = check_schedule_settings()
    assert len(errors) == 1 and isinstance(errors[0], Error) and errors[0].id == "autotask.E101"
    assert "AUTOTASK_TICKET_SYNC_SCHEDULE" in errors[0].msg and words in errors[0].msg
    with pytest.raises(SystemCheckError, match="AUTOTASK_TICKET_SYNC_SCHEDULE"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_valid_and_empty_schedules_pass_the_checks(settings):
    settings.AUTOTASK_MAPPING_CHECK_SCHEDULE = ""
    settings.AUTOTASK_TICKET_SYNC_SCHEDULE = "  */5   * * * Sat,Sun "
    assert check_schedule_settings() == []


def test_the_crontask_command_refuses_to_start_on_invalid_text(db, settings):
    settings.AUTOTASK_MAPPING_CHECK_SCHEDULE = "0 25 * * *"
    with pytest.raises(SystemCheckError, match="AUTOTASK_MAPPING_CHECK_SCHEDULE"):
        call_command(
            "crontask", "--no-heartbeat", skip_checks=False, stdout=io.StringIO(), stderr=io.StringIO()
        )


# --- a tick enqueues on the database backend; db_worker runs it --------------------------------------------


def test_scheduled_mapping_check_is_enqueued_on_the_db_backend_and_run_by_db_worker(
    transactional_db, enabled_sandbox, sim, schedules, settings
):
    from django_tasks_db.models import DBTaskResult

    from customers.models import Customer

    settings.TASKS = DB_BACKEND
    customer = Customer.objects.create(name="Scheduled Dental")
    company = next(c for c in sim.companies(SANDBOX.database_id) if c["id"] and c["isActive"])
    mapping_service.map_customer(customer, company["id"])
    sim.clear_requests()
    sim.labels.clear()
    jobs = schedules()

    result = tick(jobs, "check_mappings_task")
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "READY" and row.task_path.endswith("check_mappings_task")
    assert sim.api_call_count() == 0  # the scheduler only enqueues

    run_worker()
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL", row.traceback
    assert row.return_value["status"] == "ok" and row.return_value["checked"] == 1
    assert sim.api_call_count() >= 1
    assert set(sim.labels) == {"scheduled mapping check"}  # paced as background work


def test_scheduled_ticket_sync_runs_as_background_work(
    transactional_db, enabled_sandbox, sim, schedules, settings
):
    from django_tasks_db.models import DBTaskResult

    from customers.models import Customer
    from integrations.autotask.services.tickets import create_ticket_for_run
    from runs.models import BackupJob

    customer = Customer.objects.create(name="Synced Dental")
    map_customer(customer, enabled_sandbox)
    create_ticket_for_run(make_run(BackupJob.objects.create(customer=customer, name="Nightly")))
    settings.TASKS = DB_BACKEND
    sim.clear_requests()
    sim.labels.clear()

    result = tick(schedules(), "sync_ticket_statuses_task")
    run_worker()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL", row.traceback
    assert row.return_value["checked"] == 1
    assert sim.api_call_count() >= 1
    assert set(sim.labels) == {"scheduled ticket status sync"}


@pytest.mark.parametrize("name", ["check_mappings_task", "sync_ticket_statuses_task"])
def test_scheduled_work_while_disabled_makes_no_autotask_request(
    transactional_db, enabled_sandbox, sim, schedules, settings, name
):
    from django_tasks_db.models import DBTaskResult

    from customers.models import Customer

    settings.TASKS = DB_BACKEND
    customer = Customer.objects.create(name="Disabled Dental")
    company = next(c for c in sim.companies(SANDBOX.database_id) if c["id"] and c["isActive"])
    mapping_service.map_customer(customer, company["id"])
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    sim.clear_requests()

    result = tick(schedules(), name)
    run_worker()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL", row.traceback
    assert "disabled" in (row.return_value.get("message") or row.return_value.get("skipped") or "")
    assert sim.api_call_count() == 0
