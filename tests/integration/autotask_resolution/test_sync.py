"""sync_ticket_statuses, its management command and its task, against the simulator."""

import io

import pytest
from django.core.management import call_command

from integrations.autotask.models import AuditEvent, AutotaskSettings, AutotaskTicket, TicketState
from integrations.autotask.services import ActionRefused, connection
from integrations.autotask.services.resolution import sync_ticket_statuses
from integrations.autotask.simulator import SANDBOX, entities
from integrations.autotask.simulator.schema import entity_by_name
from integrations.autotask.tasks import sync_ticket_statuses_task

from .conftest import api_log, make_run, sandbox_company

DB = SANDBOX.database_id
QUERY_TICKETS = ("POST", "query", "Tickets")


def patch_ticket(env_config, **fields):
    with connection.build_client(connection.credentials_for(env_config)) as client:
        client.update("Tickets", fields)


@pytest.fixture
def four_tickets(sim, autotask, ticketed_run):
    tickets = [ticketed_run(job_name=f"Job {i}")[1] for i in range(4)]
    completed, deleted, moved, untouched = tickets
    patch_ticket(autotask, id=completed.ticket_id, status=5)  # a technician completed it
    sim.delete_ticket(DB, deleted.ticket_id)
    patch_ticket(autotask, id=moved.ticket_id, companyID=sandbox_company(sim, 5)["id"])
    sim.clear_requests()
    return completed, deleted, moved, untouched


def test_sync_marks_completed_missing_and_moved_tickets_in_one_call(sim, autotask, four_tickets):
    completed, deleted, moved, untouched = four_tickets

    result = sync_ticket_statuses()

    assert (result.checked, result.changed, result.missing, result.completed, result.moved) == (4, 3, 1, 1, 1)
    assert api_log(sim) == [QUERY_TICKETS]
    rows = {t.pk: t for t in AutotaskTicket.objects.all()}
    assert rows[completed.pk].is_complete and rows[completed.pk].status_id == 5
    assert rows[completed.pk].status_checked_at is not None and rows[completed.pk].sync_problem == ""
    assert rows[deleted.pk].sync_problem == "missing" and not rows[deleted.pk].is_complete
    assert rows[moved.pk].sync_problem == "company_moved"
    assert rows[untouched.pk].sync_problem == "" and not rows[untouched.pk].is_complete
    assert all(t.status_checked_at for t in rows.values())
    changes = AuditEvent.objects.filter(action="ticket_status_changed")
    assert sorted(e.data["ticket_id"] for e in changes) == sorted(
        [completed.ticket_id, deleted.ticket_id, moved.ticket_id]
    )
    assert AuditEvent.objects.get(action="sync_ticket_statuses").data["changed"] == 3


def test_a_second_sync_changes_nothing_and_skips_completed_tickets(sim, autotask, four_tickets):
    sync_ticket_statuses()
    sim.clear_requests()

    again = sync_ticket_statuses()

    assert (again.checked, again.changed, again.missing) == (3, 0, 1)
    assert api_log(sim) == [QUERY_TICKETS]


def test_sync_of_1200_open_tickets_costs_three_calls(sim, autotask):
    run = make_run()
    tenant, data = sim.tenant(DB), sim._data(DB)
    company_id = sandbox_company(sim)["id"]
    ctx = entities.WriteContext(sim, tenant, data, None)
    body = {"companyID": company_id, "title": "t", "status": 1, "priority": 2, "queueID": autotask.queue_id}
    ids = [entities.create(ctx, entity_by_name("Tickets"), body) for _ in range(1200)]
    AutotaskTicket.objects.bulk_create(
        AutotaskTicket(
            environment="sandbox",
            database_id=DB,
            correlation_key=f"bulk-{i}",
            state=TicketState.CREATED,
            ticket_id=i,
            ticket_number=f"T{i}",
            company_id=company_id,
            status_id=1,
        )
        for i in ids
    )
    assert run  # tickets need no run to be synced
    for ticket_id in ids[::100]:
        data["Tickets"][ticket_id]["status"] = 5
    sim.clear_requests()

    result = sync_ticket_statuses()

    assert api_log(sim) == [QUERY_TICKETS] * 3
    assert (result.checked, result.changed, result.completed, result.missing) == (1200, 12, 12, 0)


def test_sync_while_disabled_is_refused_with_zero_calls(sim, autotask, four_tickets):
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)

    with pytest.raises(ActionRefused, match="disabled") as excinfo:
        sync_ticket_statuses()

    assert excinfo.value.code == "disabled"
    assert sim.api_call_count() == 0
    assert not AutotaskTicket.objects.filter(status_checked_at__isnull=False).exists()


def test_command_prints_a_summary_and_exits_0(sim, autotask, four_tickets):
    out, err = io.StringIO(), io.StringIO()
    call_command("autotask_sync_tickets", stdout=out, stderr=err)
    assert out.getvalue().strip() == (
        "Checked 4 open tickets: 3 changed (1 completed), 1 missing, 1 moved to another company."
    )


def test_command_exit_codes(sim, autotask, four_tickets):
    sim.configure(permission_denied_entities=["Tickets"])
    err = io.StringIO()
    with pytest.raises(SystemExit) as excinfo:
        call_command("autotask_sync_tickets", stdout=io.StringIO(), stderr=err)
    assert excinfo.value.code == 1  # Autotask answered but refused
    assert "adequate permissions" in err.getvalue()

    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    err = io.StringIO()
    with pytest.raises(SystemExit) as excinfo:
        call_command("autotask_sync_tickets", stdout=io.StringIO(), stderr=err)
    assert excinfo.value.code == 2
    assert "The Autotask integration is disabled." in err.getvalue()


def test_task_syncs_and_returns_a_summary(sim, autotask, four_tickets, operator):
    result = sync_ticket_statuses_task.enqueue(user_id=operator.pk)
    assert result.return_value == {"checked": 4, "changed": 3, "missing": 1, "completed": 1, "moved": 1}
    assert AuditEvent.objects.get(action="sync_ticket_statuses").user == operator


def test_task_started_while_disabled_does_nothing_and_says_why(sim, autotask, four_tickets):
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)

    result = sync_ticket_statuses_task.enqueue()

    assert result.return_value == {
        "skipped": "Autotask ticket status sync skipped: The Autotask integration is disabled."
    }
    assert sim.api_call_count() == 0
