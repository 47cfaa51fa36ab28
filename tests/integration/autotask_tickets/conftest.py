"""Ticket creation (phase 4) against the simulator, through the real client and services.

`configure_integration()` sets the integration up the way an admin does (test connection, refresh
reference data, choose defaults, enable) against the simulator's Sandbox tenant; the browser test and the
benchmark reuse it.
"""

from datetime import UTC, datetime

import pytest

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, CompanyMapping, Environment
from integrations.autotask.services import configuration, connection, reference
from integrations.autotask.simulator import SANDBOX
from runs.models import BackupJob, Run
from tests.autotask_sim import in_process_simulator, store_credentials

BASE_URL = "https://backupchecks.example.com"
#: an active customer company of the simulator's Sandbox tenant
COMPANY_ID = 1174
COMPANY_NAME = "Redfern Printing & Partners"
STARTED = datetime(2025, 3, 10, 22, 0, 5, tzinfo=UTC)
FINISHED = datetime(2025, 3, 10, 23, 35, 12, tzinfo=UTC)


def configure_integration(base_url=BASE_URL):
    """Sandbox credentials → test connection → refresh reference data → suggested defaults → enabled.

    Uses the Autotask API (whatever transport `connection` is set to). Returns the EnvironmentConfig.
    """
    env_config = store_credentials(Environment.SANDBOX, SANDBOX)
    connection.check_connection(env_config)
    reference.refresh_reference_data(env_config)
    env_config.refresh_from_db()
    for name, value in configuration.suggested_defaults(env_config).items():
        setattr(env_config, name, value)
    env_config.save()
    settings = AutotaskSettings.load()
    settings.environment = Environment.SANDBOX
    settings.base_url = base_url
    settings.enabled = True
    settings.save()
    assert configuration.configuration_problems(settings) == []
    return env_config


def map_customer(customer, env_config, company_id=COMPANY_ID, name=COMPANY_NAME, status="ok"):
    return CompanyMapping.objects.create(
        customer=customer,
        environment=env_config.environment,
        database_id=env_config.database_id,
        company_id=company_id,
        company_name=name,
        status=status,
    )


def make_run(job, status="error", **extra):
    values = {
        "started_at": STARTED,
        "finished_at": FINISHED,
        "status": status,
        "summary": "Job failed: the backup target is unreachable",
        "details": "Failed to connect to \\\\nas01\\backup: the network path was not found (0x80070035).",
    }
    values.update(extra)
    return Run.objects.create(job=job, **values)


def sim_tickets(sim, key=None):
    """Tickets Backupchecks created in the simulator's Sandbox (optionally only those with externalID `key`);
    the seeded ones are left out."""
    tickets = [t for t in sim.tickets(SANDBOX.database_id) if (t["externalID"] or "").startswith("BC-")]
    if key is not None:
        tickets = [t for t in tickets if t["externalID"] == key]
    return tickets


def ticket_posts(sim):
    return [
        r for r in sim.requests if r.method == "POST" and r.operation == "write" and r.entity == "Tickets"
    ]


@pytest.fixture
def sim(settings):
    """A fresh simulator; every client built by the services talks to it in-process."""
    yield from in_process_simulator(settings)


@pytest.fixture
def env_config(sim, db):
    env_config = configure_integration()
    sim.clear_requests()
    return env_config


@pytest.fixture
def customer(db):
    return Customer.objects.create(name="Van der Berg Accountants")


@pytest.fixture
def job(customer):
    return BackupJob.objects.create(
        customer=customer,
        name="Backup Job - Hyper-V hosts",
        backup_software="Veeam Backup & Replication",
        job_type="VM image",
    )


@pytest.fixture
def mapping(customer, env_config):
    return map_customer(customer, env_config)


@pytest.fixture
def run(job, mapping):
    return make_run(job)
