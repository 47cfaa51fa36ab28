"""Ticket creation (phase 4): API calls, wall time per ticket, and page query counts with tickets.

    python benchmarks/autotask_tickets.py [--tickets 20] [--latency-ms 0 200]

Uses a throwaway SQLite file (tests.settings) and the in-process simulator through the real client.
Reports:
1. API calls of one create (simulator request log): cold (zone discovery not cached yet) and warm — the
   budget is 2 (POST + read back the number); a refused create must cost 0.
2. Wall time per ticket (median, p95) at each simulated latency (`latency_seconds` per API request).
3. SQL queries of Run Checks and Job Details: without the ticket extension, with it and no tickets, and
   with a ticket on every row — the last two must be equal and independent of the row count.
Exits 1 when a budget is broken.
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(db_path):
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.test.utils import setup_test_environment

    setup_test_environment()  # allows the "testserver" host of the test client


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered), max(1, round(fraction * len(ordered)))) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=20, help="tickets per latency setting")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 200])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp) / "bench.sqlite3")
        return measure(args)


def measure(args):
    import logging

    import httpx
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from backupchecks import extensions
    from customers.models import Customer
    from integrations.autotask.client import clear_zone_cache
    from integrations.autotask.services import ActionRefused, tickets
    from integrations.autotask.services import connection as at_connection
    from integrations.autotask.simulator import AutotaskSimulator
    from integrations.autotask.template_content import TicketExtension
    from runs.models import BackupJob
    from runs.roles import OPERATOR
    from tests.integration.autotask_tickets.conftest import configure_integration, make_run, map_customer

    logging.getLogger("integrations.autotask").setLevel(logging.ERROR)
    from django.conf import settings

    settings.AUTOTASK_ZONE_INFO_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
    sim = AutotaskSimulator()
    at_connection.set_transport_factory(lambda: httpx.WSGITransport(app=sim))
    clear_zone_cache()
    env_config = configure_integration()
    customer = Customer.objects.create(name="Benchmark Customer")
    map_customer(customer, env_config)
    job = BackupJob.objects.create(customer=customer, name="Benchmark job", backup_software="Veeam")
    failures = []
    lines = ["# Ticket creation benchmark", ""]

    # 1. API calls per create
    clear_zone_cache()
    sim.clear_requests()
    tickets.create_ticket_for_run(make_run(job))
    cold = [f"{r.method} {r.operation}" for r in sim.requests]
    sim.clear_requests()
    tickets.create_ticket_for_run(make_run(job))
    warm = [f"{r.method} {r.operation} {r.entity}" for r in sim.requests]
    sim.clear_requests()
    refused_run = make_run(job, status="success")
    with contextlib.suppress(ActionRefused):
        tickets.create_ticket_for_run(refused_run)
    refused = sim.api_call_count()
    lines += [
        "## API calls per ticket (simulator request log)",
        "",
        "| case | calls | requests |",
        "|---|---|---|",
        f"| cold (zone not cached) | {len(cold)} | {', '.join(cold)} |",
        f"| warm (happy path) | {len(warm)} | {', '.join(warm)} |",
        f"| refused (precondition) | {refused} | — |",
        "",
    ]
    if len(warm) != 2 or refused != 0:
        failures.append(f"happy path {len(warm)} calls (budget 2), refused {refused} (budget 0)")

    # 2. wall time per ticket
    lines += [
        "## Wall time per ticket",
        "",
        "| latency per API request | tickets | median | p95 |",
        "|---|---|---|---|",
    ]
    for latency_ms in args.latency_ms:
        sim.configure(latency_seconds=latency_ms / 1000)
        runs = [make_run(job) for _ in range(args.tickets)]
        samples = []
        for run in runs:
            started = time.perf_counter()
            tickets.create_ticket_for_run(run)
            samples.append((time.perf_counter() - started) * 1000)
        lines.append(
            f"| {latency_ms} ms | {len(samples)} | {statistics.median(samples):.1f} ms | "
            f"{percentile(samples, 0.95):.1f} ms |"
        )
    sim.configure(latency_seconds=0)
    lines.append("")

    # 3. page query counts
    user = User.objects.create_user("bench-operator")
    user.groups.add(Group.objects.get(name=OPERATOR))
    client = Client()
    client.force_login(user)

    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        return len(queries)

    page_job = BackupJob.objects.create(customer=customer, name="Pages job", backup_software="Veeam")
    for _ in range(50):
        make_run(page_job, status="warning")
    urls = {
        "Run Checks": reverse("runs:run_checks"),
        "Job Details": reverse("runs:job_detail", args=[page_job.pk]),
    }
    from runs.models import Run

    Run.objects.exclude(job=page_job).update(reviewed_at=time_now())
    extensions.unregister(TicketExtension)
    without = {name: count(url) for name, url in urls.items()}
    extensions.register(TicketExtension)
    no_tickets = {name: count(url) for name, url in urls.items()}
    for run in Run.objects.filter(job=page_job, autotask_link__isnull=True):
        tickets.create_ticket_for_run(run)
    sim.clear_requests()
    all_tickets = {name: count(url) for name, url in urls.items()}
    for _ in range(50):  # twice the history: the counts must not move
        tickets.create_ticket_for_run(make_run(page_job, status="error"))
    sim.clear_requests()
    more_rows = {name: count(url) for name, url in urls.items()}
    lines += [
        "## SQL queries per page (50 rows shown)",
        "",
        "| page | without the ticket extension | extension, no tickets | a ticket on every row | ×2 history, all with tickets |",
        "|---|---|---|---|---|",
    ]
    for name in urls:
        lines.append(
            f"| {name} | {without[name]} | {no_tickets[name]} | {all_tickets[name]} | {more_rows[name]} |"
        )
        if not (no_tickets[name] == all_tickets[name] == more_rows[name]):
            failures.append(f"{name}: query count changes with tickets")
    if sim.api_call_count():
        failures.append("pages called Autotask")
    lines.append("")
    print("\n".join(lines))
    if failures:
        print("BUDGET BROKEN: " + "; ".join(failures))
        return 1
    return 0


def time_now():
    from django.utils import timezone

    return timezone.now()


if __name__ == "__main__":
    sys.exit(main())
