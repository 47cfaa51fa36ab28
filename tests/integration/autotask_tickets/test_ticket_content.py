"""What lands in Autotask: the simulator's stored ticket against the payload rules (docs/autotask.md)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from integrations.autotask.models import AuditEvent, AutotaskSettings, TicketState
from integrations.autotask.services import tickets
from integrations.autotask.simulator import SANDBOX

from .conftest import BASE_URL, COMPANY_ID, COMPANY_NAME, make_run, sim_tickets, ticket_posts


def _parse(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("status", "priority_field"),
    [("error", "error_priority_id"), ("warning", "warning_priority_id"), ("missed", "error_priority_id")],
)
def test_the_stored_ticket_has_the_rules_content(sim, env_config, job, mapping, status, priority_field):
    run = make_run(job, status=status)
    before = datetime.now(UTC).replace(microsecond=0)

    record = tickets.create_ticket_for_run(run)

    after = datetime.now(UTC)
    [stored] = sim_tickets(sim)
    assert record.state == TicketState.CREATED
    assert (record.ticket_id, record.ticket_number) == (stored["id"], stored["ticketNumber"])
    assert stored["companyID"] == COMPANY_ID
    label = {"error": "Error", "warning": "Warning", "missed": "Missed"}[status]
    assert stored["title"] == f"Backup {label}: Van der Berg Accountants – Backup Job - Hyper-V hosts"
    assert stored["priority"] == getattr(env_config, priority_field)
    assert stored["queueID"] == env_config.queue_id
    assert stored["source"] == env_config.source_id
    assert stored["status"] == env_config.new_ticket_status_id
    assert stored["ticketType"] == env_config.ticket_type_id is not None
    assert stored["externalID"] == record.correlation_key
    due = _parse(stored["dueDateTime"])
    assert before + timedelta(hours=24) <= due <= after + timedelta(hours=24)
    description = stored["description"]
    assert f"Job Details: {BASE_URL}/jobs/{job.pk}/\n" in description
    assert f"Run: {BASE_URL}/runs/{run.pk}/\n" in description
    for line in (
        "Customer: Van der Berg Accountants",
        "Job: Backup Job - Hyper-V hosts",
        "Backup software: Veeam Backup & Replication (VM image)",
        f"Status: {label}",
        "Started: 2025-03-10 22:00:05 UTC",
        "Finished: 2025-03-10 23:35:12 UTC",
        "Job failed: the backup target is unreachable",
        "the network path was not found (0x80070035).",
    ):
        assert line in description
    # 2 API calls on the happy path (the zone is cached by the services fixture's set-up)
    assert sim.api_call_count() == 2
    assert len(ticket_posts(sim)) == 1


def test_missed_runs_use_the_missed_priority_when_one_is_chosen(sim, env_config, job, mapping):
    env_config.missed_priority_id = env_config.warning_priority_id
    env_config.save()
    run = make_run(job, status="missed")
    tickets.create_ticket_for_run(run)
    assert sim_tickets(sim)[0]["priority"] == env_config.warning_priority_id


def test_the_preview_is_the_payload_that_is_posted(sim, env_config, run):
    draft = tickets.preview_ticket(run)
    assert sim.api_call_count() == 0
    assert draft.company_id == COMPANY_ID and draft.company_name == COMPANY_NAME
    assert draft.queue.value == env_config.queue_id and draft.queue.label
    assert draft.priority.value == env_config.error_priority_id and draft.priority.label
    assert draft.job_details_url == f"{BASE_URL}/jobs/{run.job_id}/"
    assert None not in draft.payload.values()

    record = tickets.create_ticket_for_run(run)
    stored = sim_tickets(sim)[0]
    for name, value in draft.payload.items():
        if name != "dueDateTime":  # recomputed at creation: now + the configured hours
            assert stored[name] == value, name
    assert record.correlation_key == draft.external_id


def test_due_date_hours_are_configurable(sim, env_config, run):
    settings = AutotaskSettings.load()
    settings.ticket_due_hours = 4
    settings.save()
    before = datetime.now(UTC).replace(microsecond=0)
    tickets.create_ticket_for_run(run)
    due = _parse(sim_tickets(sim)[0]["dueDateTime"])
    assert before + timedelta(hours=4) <= due <= datetime.now(UTC) + timedelta(hours=4)


def test_tenants_that_require_a_due_date_accept_the_ticket(sim, env_config, run):
    sim.configure(ticket_requires_due_date=True)
    record = tickets.create_ticket_for_run(run)
    assert record.state == TicketState.CREATED


def test_long_title_and_details_are_cut_within_autotasks_limits(sim, env_config, customer, mapping):
    from runs.models import BackupJob

    job = BackupJob.objects.create(customer=customer, name="J" * 200, backup_software="Veeam")
    customer.name = "C" * 200
    customer.save()
    details = "".join(f"line {i}: 😀 something went wrong\n" for i in range(2000))  # emoji = 2 UTF-16 units
    run = make_run(job, details=details, summary="S" * 500)

    draft = tickets.preview_ticket(run)
    record = tickets.create_ticket_for_run(run)

    stored = sim_tickets(sim)[0]
    assert record.state == TicketState.CREATED
    assert tickets.utf16_length(stored["title"]) <= 255 and stored["title"].endswith("…")
    assert stored["title"].startswith("Backup Error: CCCC")
    description = stored["description"]
    assert tickets.utf16_length(description) <= 8000
    assert "more characters — the full details are on the Job Details page]" in description
    assert f"Job Details: {BASE_URL}/jobs/{job.pk}/" in description
    assert description == draft.description


def test_control_characters_never_reach_autotask(sim, env_config, job, mapping):
    run = make_run(job, summary="bad\x07bell\x1b[31m", details="a\r\nb\rc")
    tickets.create_ticket_for_run(run)
    description = sim_tickets(sim)[0]["description"]
    assert "\x07" not in description and "\x1b" not in description and "\r" not in description
    assert "a\nb\nc" in description


def test_the_record_and_audit_trail(sim, env_config, run):
    user = User.objects.create_user("alice")
    record = tickets.create_ticket_for_run(run, user=user)
    assert record.created_by == user
    assert record.environment == "sandbox" and record.database_id == SANDBOX.database_id
    assert record.status_id == sim_tickets(sim)[0]["status"]
    assert tickets.ticket_for_run(run) == record
    events = list(AuditEvent.objects.filter(run=run).order_by("id"))
    assert [e.outcome for e in events] == ["started", "ok"]
    assert events[1].user == user
    assert events[1].data["ticket_number"] == record.ticket_number
    assert events[1].data["ticket_id"] == record.ticket_id


def test_deep_link_to_autotask_web_ui(sim, env_config, run):
    record = tickets.create_ticket_for_run(run)
    url = tickets.ticket_web_url(record, tickets.web_urls()["sandbox"])
    assert url == (
        f"https://ww2.autotask.net/Autotask/AutotaskExtend/ExecuteCommand.aspx"
        f"?Code=OpenTicketDetail&TicketID={record.ticket_id}"
    )
