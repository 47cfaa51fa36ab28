"""Ticket creation (phase 4) against the simulator, through the real client and services.

`configure_integration()` sets the integration up the way an admin does (test connection, refresh
reference data, choose defaults, enable) against the simulator's Sandbox tenant; the browser test and the
benchmark reuse it.
"""

from datetime import UTC, datetime

import httpx
import pytest

from customers.models import Customer
from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import AutotaskSettings, CompanyMapping, Environment, EnvironmentConfig
from integrations.autotask.services import configuration, connection, reference
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from runs.models import BackupJob, Run

OFFICIAL_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
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
    env_config = EnvironmentConfig.for_environment(Environment.SANDBOX)
    env_config.username = SANDBOX.username
    env_config.secret = SANDBOX.secret
    env_config.integration_code = SANDBOX.integration_code
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


def install_simulator(simulator, settings):
    clear_zone_cache()
    settings.AUTOTASK_ZONE_INFO_URL = OFFICIAL_ZONE_URL
    simulator.backoff_sleeps = []
    connection.set_transport_factory(
        lambda: httpx.WSGITransport(app=simulator), sleep=simulator.backoff_sleeps.append
    )


@pytest.fixture
def sim(settings):
    """A fresh simulator; every client built by the services talks to it in-process."""
    simulator = AutotaskSimulator()
    install_simulator(simulator, settings)
    yield simulator
    connection.set_transport_factory(None)
    clear_zone_cache()


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
