"""Bulk actions (issue 14) against the in-process simulator, through the real client and services.

The phase 4 fixtures `sim` and `env_config` come from the ticket tests.
Bulk tests run the task with `AUTOTASK_BULK_CONCURRENCY = 1` on the test's own connection unless they
use a transactional database (the pool threads need to see committed rows).
"""

import pytest

from customers.models import Customer
from runs.models import BackupJob
from tests.integration.autotask_tickets.conftest import (  # noqa: F401 - env_config, sim: fixtures
    configure_integration,
    env_config,
    make_run,
    map_customer,
    sim,
    sim_tickets,
)
from tests.users import make_user, restore_role_groups

__all__ = ["configure_integration", "make_run", "map_customer", "sim_tickets"]


@pytest.fixture(autouse=True)
def _sequential(settings):
    settings.AUTOTASK_BULK_CONCURRENCY = 1


def make_jobs(env_config, count, runs_per_job=1, status="error", mapped=True):  # noqa: F811
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
def race_env(sim, race_db, settings):  # noqa: F811
    """The integration configured on the race database; three pool threads per bulk job."""
    settings.AUTOTASK_BULK_CONCURRENCY = 3
    race_config = configure_integration()
    sim.clear_requests()
    return race_config


@pytest.fixture
def race_operator(race_db):
    from runs.roles import OPERATOR

    restore_role_groups()  # a flushed transactional database (PostgreSQL) has lost the groups
    return make_user("bulk-op", OPERATOR)
