"""No duplicate tickets under concurrency: 10 threads (SQLite and PostgreSQL — run the suite with
`DATABASE_URL=postgres://…` for the latter) and two separate server processes (PostgreSQL only).

These need a transactional database: every thread and process has its own connection and must see the
others' commits.
"""

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.db.utils import load_backend

from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket, TicketState
from integrations.autotask.services import ActionRefused, tickets
from integrations.autotask.simulator.server import make_server

from .conftest import configure_integration, make_run, map_customer, sim_tickets, ticket_posts

ROOT = Path(__file__).resolve().parents[3]
THREADS = 10


@pytest.fixture
def race_db(transactional_db, tmp_path):
    """A database every thread can write to concurrently, as in production.

    PostgreSQL: the test database. SQLite: the test runner's in-memory database uses a shared cache, whose
    table locks fail at once instead of waiting ("database table is locked"); production runs on a file in
    WAL mode with a busy timeout and IMMEDIATE transactions (settings.py), so for this test we migrate such
    a file and point every connection at it.
    """
    if connection.vendor != "sqlite":
        yield
        return
    # Keep the in-memory database's connection open (closing the last one would drop that database) and
    # give this thread and every new one a connection to the file instead.
    memory_connection = connections["default"]
    settings_dict = connections.settings["default"]  # what per-thread connections are made from
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(tmp_path / "race.sqlite3")
    connections["default"] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections["default"].close()
        settings_dict["NAME"] = original
        connections["default"] = memory_connection


@pytest.fixture
def race_run(sim, race_db, customer, job):
    env_config = configure_integration()
    map_customer(customer, env_config)
    run = make_run(job)
    sim.clear_requests()
    return run


def test_ten_simultaneous_creates_for_one_run_make_one_ticket(sim, race_run):
    barrier = threading.Barrier(THREADS)

    def attempt(_):
        try:
            barrier.wait()
            return tickets.create_ticket_for_run(race_run)
        except ActionRefused as exc:
            return exc
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(attempt, range(THREADS)))

    created = [r for r in results if isinstance(r, AutotaskTicket)]
    refused = [r for r in results if isinstance(r, ActionRefused)]
    assert len(created) == 1, results
    assert len(refused) == THREADS - 1, results
    assert {r.code for r in refused} <= {"being_created", "already_has_ticket"}
    assert len(ticket_posts(sim)) == 1
    assert len(sim_tickets(sim)) == 1
    assert AutotaskTicket.objects.count() == 1 and RunTicket.objects.count() == 1
    assert tickets.ticket_for_run(race_run).state == TicketState.CREATED
    assert AuditEvent.objects.filter(run=race_run, outcome="refused").count() == THREADS - 1


def test_two_server_processes_racing_make_one_ticket(sim, race_run):
    if connection.vendor != "postgresql":
        pytest.skip("two processes racing need PostgreSQL (run with DATABASE_URL=postgres://…)")
    server = make_server(sim, port=0)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TEST_AUTOTASK_ZONE_INFO_URL": f"http://127.0.0.1:{server.server_port}/atservicesrest/v1.0/zoneInformation",
        "PYTHONPATH": str(ROOT),
    }
    workers = [
        subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "tests.integration.autotask_tickets.race_worker", str(race_run.pk)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [
            json.loads(worker.communicate(timeout=120)[0].strip().splitlines()[-1]) for worker in workers
        ]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        server.shutdown()
        server.server_close()

    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes == ["created", "refused"], results
    assert len(ticket_posts(sim)) == 1
    [stored] = sim_tickets(sim)
    record = tickets.ticket_for_run(race_run)
    assert record.state == TicketState.CREATED and record.ticket_number == stored["ticketNumber"]
