"""Benchmark 1 of issue 14: bulk create of N tickets by a real task worker, against the ideal bound.

    python benchmarks/autotask_bulk.py [--runs 300] [--latency-ms 150] [--concurrency 5]

Setup, as deployed: a throwaway SQLite file (WAL, IMMEDIATE transactions — the production settings), N
error runs of N distinct backup jobs of one mapped customer, the `django-tasks-db` backend, and
`manage.py db_worker --batch` as a SEPARATE PROCESS working the job off with its thread pool
(AUTOTASK_BULK_CONCURRENCY). The simulator is served over a real socket on 127.0.0.1 by this process
(a threaded stdlib server, like `manage.py autotask_simulator`), with a fixed simulated latency on every
authenticated API request (`latency_seconds`, slept while the request holds its thread-limit slot) and
Autotask's thread limit enforced (a 4th concurrent request per endpoint is rejected with Itgenatr005).

Wall time = the job's own run (BulkJob.started_at → finished_at, written by the worker). Bound = total API
calls × latency ÷ 3 (the fastest any client can be with 3 requests in flight). Also reported: the peak of
requests in flight per endpoint as the simulator's thread limiter counted them (must be ≤ 3), the
thread-threshold rejections in the simulator's request log (must be 0) and the tickets created (= N).

Prints one row per case with its ratio to the target; exits 1 when a target is missed.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.85
THREAD_LIMIT = 3


def start_simulator(latency_seconds):
    """The simulator on a free loopback port, counting the peak of requests in flight per endpoint."""
    sys.path.insert(0, str(ROOT))
    from integrations.autotask.simulator import AutotaskSimulator
    from integrations.autotask.simulator.server import make_server

    sim = AutotaskSimulator()
    peaks, lock, acquire = {}, threading.Lock(), sim._acquire_slot

    def counting_acquire(bucket):
        ok = acquire(bucket)
        if ok:
            with lock:
                peaks[bucket[1]] = max(peaks.get(bucket[1], 0), sim._slots.get(bucket, 0))
        return ok

    sim._acquire_slot = counting_acquire
    sim.peaks = peaks
    server = make_server(sim, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim.latency_for_job = latency_seconds
    return sim, server


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", type=int, default=300, help="runs (= tickets) in the bulk job; 300 in make bench"
    )
    parser.add_argument("--latency-ms", type=int, default=150, help="simulated latency per API request")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="AUTOTASK_BULK_CONCURRENCY (default: settings)"
    )
    args = parser.parse_args()
    sim, server = start_simulator(args.latency_ms / 1000)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DJANGO_SETTINGS_MODULE": "backupchecks.settings",
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789abcdef",
            "FERNET_KEYS": "bench-only-fernet-key",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "AUTOTASK_ZONE_INFO_URL": f"http://127.0.0.1:{server.server_port}/atservicesrest/v1.0/zoneInformation",
        }
        if args.concurrency:
            env["AUTOTASK_BULK_CONCURRENCY"] = str(args.concurrency)
        os.environ.update(env)
        try:
            return measure(args, sim, env)
        finally:
            server.shutdown()


def measure(args, sim, env):
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from customers.models import Customer
    from integrations.autotask.models import BulkItemState, BulkJob, BulkJobItem
    from integrations.autotask.services.bulk import concurrency, start_bulk_action
    from integrations.autotask.simulator import SANDBOX
    from runs.models import BackupJob
    from runs.roles import OPERATOR
    from tests.integration.autotask_tickets.conftest import configure_integration, make_run, map_customer

    logging.getLogger("integrations.autotask").setLevel(logging.ERROR)
    env_config = configure_integration()
    customer = Customer.objects.create(name="Benchmark Dental")
    map_customer(customer, env_config)
    runs = [
        make_run(BackupJob.objects.create(customer=customer, name=f"Nightly {i:04d}"))
        for i in range(args.runs)
    ]
    user = User.objects.create_user("bench-op", password="pw")
    user.groups.add(Group.objects.get(name=OPERATOR))
    threads = concurrency()

    sim.config.latency_seconds = sim.latency_for_job
    sim.peaks.clear()
    sim.clear_requests()
    planned = time.perf_counter()
    job = start_bulk_action(user=user, action="create", run_ids=[r.pk for r in runs])
    plan_seconds = time.perf_counter() - planned
    assert not sim.requests, "planning must not call Autotask"
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - fixed argv: the real worker, in its own process
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    process_seconds = time.perf_counter() - started
    job = BulkJob.objects.get(pk=job.pk)
    wall = (job.finished_at - job.started_at).total_seconds()

    done = BulkJobItem.objects.filter(job=job, state=BulkItemState.DONE).count()
    calls = len(sim.requests)
    rejected = sum(1 for r in sim.requests if any("Itgenatr005" in e for e in r.errors))
    tickets = len([t for t in sim.tickets(SANDBOX.database_id) if (t["externalID"] or "").startswith("BC-")])
    bound = calls * sim.config.latency_seconds / THREAD_LIMIT
    ratio = bound / wall if wall else 0.0
    peak = max(sim.peaks.values() or [0])

    print(
        f"Bulk create: {args.runs} runs, {args.latency_ms} ms latency per request (simulator over a real socket), "
        f"db_worker process with {threads} pool threads"
    )
    print(
        f"  planning (start_bulk_action, 0 API calls): {plan_seconds * 1000:.0f} ms; worker process incl. "
        f"start-up: {process_seconds:.2f} s"
    )
    header = f"{'case':<34}{'value':>12}{'target':>12}{'ratio':>9}  ok"
    print(header)
    print("-" * len(header))
    rows = [
        (
            "wall time of the job (s)",
            f"{wall:.2f}",
            f"≤{bound / TARGET_RATIO:.2f}",
            ratio / TARGET_RATIO,
            ratio >= TARGET_RATIO,
        ),
        ("bound ÷ wall", f"{ratio:.3f}", f"≥{TARGET_RATIO}", ratio / TARGET_RATIO, ratio >= TARGET_RATIO),
        (
            "max in flight per endpoint",
            str(peak),
            f"≤{THREAD_LIMIT}",
            THREAD_LIMIT / max(peak, 1),
            peak <= THREAD_LIMIT,
        ),
        ("thread-threshold rejections", str(rejected), "0", 1.0 if not rejected else 0.0, rejected == 0),
        ("tickets created", str(tickets), str(args.runs), tickets / args.runs, tickets == args.runs == done),
    ]
    for name, value, target, case_ratio, ok in rows:
        print(f"{name:<34}{value:>12}{target:>12}{case_ratio:>9.2f}  {'yes' if ok else 'NO'}")
    print(
        f"  API calls: {calls} ({calls / max(args.runs, 1):.2f} per ticket: POST + read-back, + zone discovery "
        f"once); bound = {calls} × {args.latency_ms} ms ÷ {THREAD_LIMIT} = {bound:.2f} s; peaks {dict(sim.peaks)}"
    )
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
