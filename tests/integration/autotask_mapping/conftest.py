"""Phase 3 mapping tests: the in-process simulator through the real client, an enabled, tested tenant."""

import httpx
import pytest
from django.db import connection as db_connection

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings
from integrations.autotask.services import connection
from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator
from runs.roles import ADMIN, OPERATOR
from tests.autotask_sim import in_process_simulator, store_credentials
from tests.users import make_user

SANDBOX_DB = SANDBOX.database_id
PRODUCTION_DB = PRODUCTION.database_id


class RecordingTransport(httpx.WSGITransport):
    """The simulator in-process; remembers whether each request was sent inside a database transaction."""

    def __init__(self, app, log):
        super().__init__(app=app)
        self.log = log

    def handle_request(self, request):
        self.log.append(db_connection.in_atomic_block)
        return super().handle_request(request)


@pytest.fixture
def sim(settings):
    simulator = AutotaskSimulator()
    simulator.in_transaction = []  # one bool per request the client sent
    yield from in_process_simulator(
        settings, simulator, transport=lambda app: RecordingTransport(app, simulator.in_transaction)
    )


def configure(environment, tenant, *, test=True):
    env_config = store_credentials(environment, tenant)
    if test:
        connection.check_connection(env_config)
        env_config.refresh_from_db()
    return env_config


def enable(environment="sandbox"):
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.environment = environment
    settings.save()
    return settings


@pytest.fixture
def sandbox(sim, db):
    """Sandbox credentials stored, the connection tested (database id known), the integration enabled.

    The simulator's request log is cleared afterwards, so tests count only their own calls.
    """
    env_config = configure("sandbox", SANDBOX)
    enable("sandbox")
    sim.clear_requests()
    sim.in_transaction.clear()
    return env_config


@pytest.fixture
def production(sim, db):
    env_config = configure("production", PRODUCTION)
    enable("production")
    sim.clear_requests()
    sim.in_transaction.clear()
    return env_config


@pytest.fixture
def customer(db):
    return Customer.objects.create(name="Northwind Dental Group")


@pytest.fixture
def other_customer(db):
    return Customer.objects.create(name="Harbor Logistics B.V.")


def sandbox_company(sim, index=0, active=True):
    """A sandbox company of the simulator (customers type, active by default), by position."""
    rows = [c for c in sim.companies(SANDBOX_DB) if c["id"] and c["isActive"] == active]
    return rows[index]


@pytest.fixture
def mapping_admin(db):
    return make_user("map-admin", ADMIN, is_staff=True)


@pytest.fixture
def mapping_admin_client(client, mapping_admin):
    client.force_login(mapping_admin)
    return client


@pytest.fixture
def staff_operator(db):
    """Staff, but an Operator: no autotask.map_company permission."""
    return make_user("staff-op", OPERATOR, is_staff=True)
