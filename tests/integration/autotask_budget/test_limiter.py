"""The database-backed per-endpoint limiter: ≤ 3 requests in flight per endpoint across every process.

Single-process behaviour runs on SQLite and PostgreSQL; the two-process and killed-holder tests need a
database other processes can see (PostgreSQL: run with DATABASE_URL=postgres://…).
"""

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from integrations.autotask.exceptions import AutotaskRateLimitError
from integrations.autotask.models import ApiCall, EndpointLease
from integrations.autotask.services import budget
from integrations.autotask.simulator import SANDBOX
from integrations.autotask.simulator.server import make_server

from .conftest import SCOPE, budget_client, thread_rejections

ROOT = Path(__file__).resolve().parents[3]
EVERY_COMPANY = [{"op": "exist", "field": "id"}]


def hold(limiter, endpoint, count):
    return [limiter.try_take(endpoint, 30) for _ in range(count)]


def test_three_slots_per_endpoint_then_none(db):
    limiter = budget.DatabaseLimiter(SCOPE)
    leases = hold(limiter, "Tickets", 3)
    assert all(leases)
    assert limiter.try_take("Tickets", 30) is None
    assert limiter.try_take("tickets", 30) is None  # one bucket, whatever the case
    assert limiter.try_take("Companies", 30) is not None  # another endpoint has its own three
    limiter.release(leases[0])
    assert limiter.try_take("Tickets", 30) is not None
    other = budget.DatabaseLimiter(budget.scope_for("another tracking identifier"))
    assert other.try_take("Tickets", 30) is not None  # another integration has its own budget


def test_an_expired_lease_is_taken_over_without_sleeping(db):
    """A holder that died leaves its lease; it expires after the request's deadline + grace."""
    t0 = timezone.now()
    clock = {"now": t0}
    limiter = budget.DatabaseLimiter(SCOPE, clock=lambda: clock["now"])
    assert all(hold(limiter, "Tickets", 3))
    clock["now"] = t0 + timedelta(seconds=30) + budget.LEASE_GRACE - timedelta(seconds=1)
    assert limiter.try_take("Tickets", 30) is None  # still within the lease
    clock["now"] = t0 + timedelta(seconds=30) + budget.LEASE_GRACE + timedelta(seconds=1)
    assert limiter.try_take("Tickets", 30) is not None


def test_no_free_slot_within_the_deadline_is_not_sent(db, sim):
    """The 4th request waits at most the call's deadline, then fails as "not sent" — zero requests."""
    limiter = budget.DatabaseLimiter(SCOPE)
    assert all(hold(limiter, "Companies", 3))
    client = budget_client(sim, pacer=False)
    client.deadline = 0.3  # the wait is bounded by the deadline (no sleeping in the test beyond it)
    client.zone_information()
    sim.clear_requests()
    with pytest.raises(AutotaskRateLimitError) as caught:
        client.count("Companies", EVERY_COMPANY)
    assert caught.value.kind == "thread"
    assert "was not sent" in str(caught.value)
    assert sim.api_call_count(exclude_zone=True) == 0
    assert ApiCall.objects.filter(outcome="not_sent").count() == 1


@pytest.mark.parametrize("background", [False, True])
def test_interactive_and_background_calls_wait_for_a_slot(db, sim, background):
    """A request waits (polling) until another frees a slot — interactive calls as well as background."""
    holder = budget.DatabaseLimiter(SCOPE)
    leases = hold(holder, "Companies", 3)
    polls = []

    def sleep(seconds):  # the waiting request's poll: the first one frees a slot (another process finishing)
        polls.append(seconds)
        if len(polls) == 1:
            holder.release(leases[0])

    client = budget_client(sim, pacer=False, limiter=budget.DatabaseLimiter(SCOPE, sleep=sleep))
    if background:
        with budget.background_work("test job"):
            assert client.count("Companies", EVERY_COMPANY) > 0
    else:
        assert client.count("Companies", EVERY_COMPANY) > 0
    assert len(polls) == 1
    # the slot was given back after the request: two free again (the test still holds two)
    assert holder.try_take("Companies", 30) is not None
    assert holder.try_take("Companies", 30) is None


def test_the_lease_table_holds_no_credential(db, sim):
    client = budget_client(sim, pacer=False)
    client.count("Companies", EVERY_COMPANY)
    dump = json.dumps(list(EndpointLease.objects.values()), default=str)
    for secret in (SANDBOX.secret, SANDBOX.integration_code, SANDBOX.username):
        assert secret not in dump


def test_limiter_status_reports_in_flight_per_endpoint(db):
    limiter = budget.DatabaseLimiter(SCOPE)
    with budget.background_work("bulk job 7"):
        hold(limiter, "Tickets", 2)
    statuses = {s.endpoint: s for s in budget.limiter_status()}
    assert statuses["tickets"].in_flight == 2
    assert statuses["tickets"].limit == 3
    assert statuses["tickets"].holders == ("bulk job 7", "bulk job 7")


# --- several processes (PostgreSQL) ---------------------------------------------------------------------


def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("other processes must see the test database: run with DATABASE_URL=postgres://…")


def _worker_env(server=None):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(ROOT),
    }
    if server is not None:
        env["TEST_AUTOTASK_ZONE_INFO_URL"] = (
            f"http://127.0.0.1:{server.server_port}/atservicesrest/v1.0/zoneInformation"
        )
    return env


def _worker(args, env):
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "tests.integration.autotask_budget.budget_worker", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_holder_killed_mid_request_frees_its_slots_when_the_lease_expires(transactional_db):
    """A real process takes all three slots and is killed with SIGKILL (no cleanup runs)."""
    _needs_postgres()
    holder = _worker(["hold", "Tickets", "3", "30"], _worker_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert holder.returncode == -signal.SIGKILL
    assert EndpointLease.objects.filter(endpoint="tickets").exclude(holder="").count() == 3
    now = timezone.now()
    assert budget.DatabaseLimiter(SCOPE).try_take("Tickets", 30) is None  # the dead leases still count
    later = now + timedelta(seconds=30) + budget.LEASE_GRACE + timedelta(seconds=1)
    assert budget.DatabaseLimiter(SCOPE, clock=lambda: later).try_take("Tickets", 30) is not None


@pytest.mark.parametrize("limiter", ["database", "process"])
def test_two_processes_never_have_more_than_three_in_flight(transactional_db, sim, limiter):
    """Two processes × 6 threads read Tickets through a served simulator that rejects the 4th concurrent
    request (Itgenatr005). With the database limiter it never fires; the per-process limiter (the control)
    lets 6 through at once and is rejected — so the check can see a broken limiter."""
    _needs_postgres()
    sim.configure(latency_seconds=0.05)
    server = make_server(sim, port=0)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    env = _worker_env(server)
    workers = [_worker(["burst", limiter, "6", "5"], env) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [json.loads(w.communicate(timeout=180)[0].strip().splitlines()[-1]) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        server.shutdown()
        server.server_close()
    if limiter == "database":
        assert thread_rejections(sim) == []
        assert [r["ok"] for r in results] == [30, 30], results
        assert sum(r["errors"] for r in results) == 0
    else:
        assert thread_rejections(sim), "the control run should have exceeded the thread limit"
