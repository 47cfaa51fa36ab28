"""Phase 5 fixtures: a configured, enabled integration against the in-process simulator's Sandbox tenant,
and runs whose Autotask ticket exists in the simulator (created through the real client; the local
AutotaskTicket + RunTicket rows are written directly, as phase 4 would)."""

import itertools
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, AutotaskTicket, RunTicket, TicketState
from integrations.autotask.services import configuration, connection, reference
from integrations.autotask.simulator import SANDBOX
from runs.models import BackupJob, Run
from tests.integration.autotask_services.conftest import configure, sim  # noqa: F401 - fixture
from tests.users import restore_role_groups

_keys = itertools.count(1)


def enable_sandbox():
    """Test the connection, refresh reference data, choose the suggested defaults and enable (real calls)."""
    env_config = configure("sandbox", SANDBOX)
    connection.check_connection(env_config)
    reference.refresh_reference_data(env_config)
    env_config.refresh_from_db()
    for field, value in configuration.suggested_defaults(env_config).items():
        setattr(env_config, field, value)
    env_config.save()
    settings = AutotaskSettings.load()
    settings.environment = "sandbox"
    settings.base_url = "https://backupchecks.example.com"
    settings.enabled = True
    settings.save()
    assert configuration.configuration_problems(settings) == []
    return env_config


@pytest.fixture
def autotask(sim, db):  # noqa: F811
    env_config = enable_sandbox()
    sim.clear_requests()
    return env_config


def sandbox_company(simulator, index=0):
    companies = [c for c in simulator.companies(SANDBOX.database_id) if c["isActive"] and c["id"]]
    return companies[index]


def make_run(customer_name="Acme Dental", job_name="Nightly VM backup", status="error"):
    customer, _ = Customer.objects.get_or_create(name=customer_name)
    job, _ = BackupJob.objects.get_or_create(customer=customer, name=job_name, backup_software="Veeam")
    started = timezone.now() - timedelta(hours=3)
    return Run.objects.create(
        job=job,
        started_at=started,
        finished_at=started + timedelta(minutes=40),
        status=status,
        summary="2 of 14 VMs failed",
    )


def create_sim_ticket(env_config, company_id, title="Backup failed: Nightly VM backup"):
    """A ticket created in the simulator through the real client (as phase 4 does). Returns (id, number)."""
    with connection.build_client(connection.credentials_for(env_config)) as client:
        ticket_id = client.create(
            "Tickets",
            {
                "companyID": company_id,
                "title": title,
                "status": env_config.new_ticket_status_id,
                "priority": env_config.error_priority_id,
                "queueID": env_config.queue_id,
                "source": env_config.source_id,
            },
        )
        number = client.get("Tickets", ticket_id)["ticketNumber"]
    return ticket_id, number


def link_ticket(runs, env_config, ticket_id, number, company_id):
    """The local rows phase 4 writes: one created AutotaskTicket shared by `runs`."""
    ticket = AutotaskTicket.objects.create(
        environment=env_config.environment,
        database_id=env_config.database_id,
        correlation_key=f"bc-test-{next(_keys)}-{ticket_id}",
        state=TicketState.CREATED,
        ticket_id=ticket_id,
        ticket_number=number,
        title="Backup failed",
        company_id=company_id,
        status_id=env_config.new_ticket_status_id,
    )
    for run in runs:
        RunTicket.objects.create(run=run, ticket=ticket)
    return ticket


@pytest.fixture
def ticketed_run(sim, autotask):  # noqa: F811
    """Factory: `ticketed_run(**run_fields)` → (run, AutotaskTicket) with a real simulator ticket."""

    def _make(runs=None, company_index=0, **run_fields):
        runs = runs or [make_run(**run_fields)]
        company_id = sandbox_company(sim, company_index)["id"]
        ticket_id, number = create_sim_ticket(autotask, company_id)
        ticket = link_ticket(runs, autotask, ticket_id, number, company_id)
        sim.clear_requests()
        return runs[0], ticket

    return _make


@pytest.fixture
def control(sim):  # noqa: F811
    """An httpx client for the simulator's control API (/_simulator/…)."""
    with httpx.Client(transport=httpx.WSGITransport(app=sim), base_url="http://simulator.test") as client:
        yield client


def add_time_entry(control, ticket_id, hours=1.5):
    response = control.post(
        f"/_simulator/tenants/{SANDBOX.database_id}/tickets/{ticket_id}/time-entries", json={"hours": hours}
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def api_log(simulator):
    """(method, operation, entity) of every authenticated API request, zone discovery left out."""
    return [
        (r.method, r.operation, r.entity)
        for r in simulator.requests
        if r.operation not in ("zoneInformation", "versionInformation")
    ]


def writes(simulator):
    return [
        r
        for r in simulator.requests
        if r.method in ("POST", "PATCH", "PUT", "DELETE") and r.operation in ("write", "children")
    ]


@pytest.fixture
def roles(db):
    """The role groups again: a transactional test's flush empties what the data migrations created."""
    restore_role_groups()
