"""Bulk actions (issue 14) against the in-process simulator, through the real client and services.

The phase 4 fixtures (`sim`, `env_config`, `customer`, `job`, `mapping`) come from the ticket tests.
Bulk tests run the task with `AUTOTASK_BULK_CONCURRENCY = 1` on the test's own connection unless they
use a transactional database (the pool threads need to see committed rows).
"""

import pytest

from customers.models import Customer
from integrations.autotask.client import clear_zone_cache
from integrations.autotask.services import connection
from integrations.autotask.simulator import AutotaskSimulator
from runs.models import BackupJob
from tests.integration.autotask_tickets.conftest import (
    configure_integration,
    install_simulator,
    make_run,
    map_customer,
    sim_tickets,
)

__all__ = ["configure_integration", "make_run", "map_customer", "sim_tickets"]


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


@pytest.fixture(autouse=True)
def _sequential(settings):
    settings.AUTOTASK_BULK_CONCURRENCY = 1


def make_jobs(env_config, count, runs_per_job=1, status="error", mapped=True):
    """`count` backup jobs of one new customer (mapped to the Sandbox company 1174 unless told — at most
    one mapped customer per test) with `runs_per_job` runs each; returns the runs in creation order."""
    runs = []
    owner = Customer.objects.create(name=f"Bulk customer {Customer.objects.count():04d}")
    if mapped:
        map_customer(owner, env_config)
    for i in range(count):
        backup_job = BackupJob.objects.create(customer=owner, name=f"Nightly {i:04d}")
        runs.extend(make_run(backup_job, status=status, summary=f"run {i}/{n}") for n in range(runs_per_job))
    return runs


def tickets_by_external_id(simulator):
    """{externalID: [tickets]} of what Backupchecks created in the simulator."""
    found = {}
    for ticket in sim_tickets(simulator):
        found.setdefault(ticket["externalID"], []).append(ticket)
    return found


@pytest.fixture
def race_db(transactional_db, tmp_path):
    """A database every thread (and the worker's pool threads) can write to concurrently, as in production.

    PostgreSQL: the test database. SQLite: a migrated file in WAL mode instead of the shared-cache in-memory
    database, whose table locks fail at once instead of waiting (see autotask_tickets/test_ticket_concurrency).
    """
    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.utils import load_backend

    if connection.vendor != "sqlite":
        yield
        return
    memory_connection = connections["default"]
    settings_dict = connections.settings["default"]
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(tmp_path / "bulk.sqlite3")
    connections["default"] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections["default"].close()
        settings_dict["NAME"] = original
        connections["default"] = memory_connection


@pytest.fixture
def race_env(sim, race_db, settings):
    """The integration configured on the race database; three pool threads per bulk job."""
    settings.AUTOTASK_BULK_CONCURRENCY = 3
    env_config = configure_integration()
    sim.clear_requests()
    return env_config


@pytest.fixture
def race_operator(race_db):
    from django.contrib.auth.models import Group, Permission, User

    from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
    from runs.roles import OPERATOR, ROLE_PERMISSIONS, sync_role_permissions

    # a flushed transactional database (PostgreSQL) has lost the groups the migrations made
    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    sync_role_permissions(Group, Permission, ROLE_AUTOTASK_PERMISSIONS)
    user = User.objects.create_user("bulk-op", password="pw")
    user.groups.add(Group.objects.get(name=OPERATOR))
    return user
