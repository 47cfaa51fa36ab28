"""Phase 6 fixtures: an active Sandbox integration over the in-process simulator, a mapped customer with
runs, and the seeded Sandbox tickets (7700/7701 Complete, 7702–7705 open)."""

from datetime import UTC, datetime, timedelta

import pytest

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.simulator import SANDBOX
from runs.models import BackupJob, Run
from tests.autotask_sim import SANDBOX_TICKET_DEFAULTS, connect_tenant, in_process_simulator

T0 = datetime(2026, 11, 1, 22, 0, tzinfo=UTC)

#: valid Sandbox ticket defaults (simulator tenants.py), with a ticket type
SANDBOX_DEFAULTS = {**SANDBOX_TICKET_DEFAULTS, "ticket_type_id": 5}


@pytest.fixture
def sim(settings):
    yield from in_process_simulator(settings)


def api_calls(sim):
    """Authenticated API requests (zone discovery is unauthenticated and cached by the client)."""
    return sim.api_call_count(exclude_zone=True)


@pytest.fixture
def active(sim, db):
    """Sandbox configured, tested, reference data cached, enabled, compatibility mode on; request log empty."""
    connect_tenant("sandbox", SANDBOX, SANDBOX_DEFAULTS)
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.compatibility_mode = True
    settings.base_url = "https://backupchecks.example.com"
    settings.save()
    sim.clear_requests()
    return settings


def set_switches(*, enabled=None, compatibility_mode=None):
    settings = AutotaskSettings.load()
    if enabled is not None:
        settings.enabled = enabled
    if compatibility_mode is not None:
        settings.compatibility_mode = compatibility_mode
    settings.save()
    return settings


@pytest.fixture
def seeded(sim):
    """{ticket id: the simulator's ticket dict} of the Sandbox tenant."""
    return {t["id"]: t for t in sim.tickets(SANDBOX.database_id)}


def make_run(job, days=0, status="error", **extra):
    return Run.objects.create(
        job=job, status=status, summary="Disk full", started_at=T0 + timedelta(days=days), **extra
    )


@pytest.fixture
def customer(db):
    return Customer.objects.create(name="Acme Dental")


@pytest.fixture
def job(customer):
    return BackupJob.objects.create(customer=customer, name="Nightly image")


def map_customer(customer, company_id, name="Mapped company"):
    return CompanyMapping.objects.create(
        customer=customer,
        environment="sandbox",
        database_id=SANDBOX.database_id,
        company_id=company_id,
        company_name=name,
    )
