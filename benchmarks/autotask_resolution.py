"""Phase 5 budgets: Autotask API calls and wall time per ticket resolution and per ticket status sync.

    python benchmarks/autotask_resolution.py [--latency 0 0.2]

Runs the real services and client against the in-process simulator on a throwaway SQLite database (a
temporary directory, deleted afterwards). Calls are counted from the simulator's request log with zone
discovery left out (the client caches the zone for 12 h; a cold cache adds 1 unauthenticated call).
`--latency` adds that many seconds to every simulated API request (`latency_seconds`), to see what a slow
link to Autotask costs. Exits 1 when a count exceeds its budget (ARCHITECTURE §8: resolve ≤ 4 calls, 3
with time entries; sync of N open tickets ⌈N/500⌉ = 3 for 1,200).
"""

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNC_TICKETS = 1200


def setup(directory):
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(latencies, repeat=3):
    from datetime import timedelta

    import httpx
    from django.utils import timezone

    from customers.models import Customer
    from integrations.autotask.client import clear_zone_cache
    from integrations.autotask.models import AutotaskSettings, AutotaskTicket, RunTicket, TicketState
    from integrations.autotask.services import configuration, connection, reference
    from integrations.autotask.services.resolution import resolve_ticket_for_run, sync_ticket_statuses
    from integrations.autotask.simulator import SANDBOX, AutotaskSimulator, entities
    from integrations.autotask.simulator.schema import entity_by_name
    from runs.models import BackupJob, Run

    sim = AutotaskSimulator()
    os.environ["AUTOTASK_ZONE_INFO_URL"] = (
        "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
    )
    clear_zone_cache()
    connection.set_transport_factory(lambda: httpx.WSGITransport(app=sim))

    env_config = (
        connection.EnvironmentConfig.for_environment("sandbox")
        if hasattr(connection, "EnvironmentConfig")
        else None
    )
    from integrations.autotask.models import EnvironmentConfig

    env_config = EnvironmentConfig.for_environment("sandbox")
    env_config.username, env_config.secret = SANDBOX.username, SANDBOX.secret
    env_config.integration_code = SANDBOX.integration_code
    env_config.save()
    connection.check_connection(env_config)
    reference.refresh_reference_data(env_config)
    env_config.refresh_from_db()
    for field, value in configuration.suggested_defaults(env_config).items():
        setattr(env_config, field, value)
    env_config.save()
    settings = AutotaskSettings.load()
    settings.base_url, settings.enabled, settings.environment = (
        "https://backupchecks.example.com",
        True,
        "sandbox",
    )
    settings.save()
    assert not configuration.configuration_problems(settings)

    db = SANDBOX.database_id
    data, tenant = sim._data(db), sim.tenant(db)
    company_id = next(c["id"] for c in sim.companies(db) if c["isActive"] and c["id"])
    ctx = entities.WriteContext(sim, tenant, data, None)
    tickets_entity = entity_by_name("Tickets")
    body = {
        "companyID": company_id,
        "title": "Backup failed",
        "status": 1,
        "priority": 2,
        "queueID": env_config.queue_id,
    }
    customer = Customer.objects.create(name="Benchmark customer")
    job = BackupJob.objects.create(customer=customer, name="Nightly VM backup")
    serial = iter(range(1, 10**6))

    def ticketed_run():
        run = Run.objects.create(job=job, started_at=timezone.now() - timedelta(hours=2), status="error")
        ticket_id = entities.create(ctx, tickets_entity, body)
        ticket = AutotaskTicket.objects.create(
            environment="sandbox",
            database_id=db,
            correlation_key=f"bench-{next(serial)}",
            state=TicketState.CREATED,
            ticket_id=ticket_id,
            ticket_number=data["Tickets"][ticket_id]["ticketNumber"],
            company_id=company_id,
            status_id=1,
        )
        RunTicket.objects.create(run=run, ticket=ticket)
        return run, ticket

    bulk_ids = [entities.create(ctx, tickets_entity, body) for _ in range(SYNC_TICKETS)]

    def reset_bulk():
        AutotaskTicket.objects.filter(is_complete=False).update(is_complete=True)  # earlier resolve tickets
        AutotaskTicket.objects.filter(correlation_key__startswith="bulk-").delete()
        AutotaskTicket.objects.bulk_create(
            AutotaskTicket(
                environment="sandbox",
                database_id=db,
                correlation_key=f"bulk-{i}",
                state=TicketState.CREATED,
                ticket_id=i,
                ticket_number=f"T{i}",
                company_id=company_id,
                status_id=1,
            )
            for i in bulk_ids
        )
        for n, i in enumerate(bulk_ids):
            data["Tickets"][i]["status"] = 5 if n % 100 == 0 else 1  # technicians completed 1 in 100

    def timed(operation):
        sim.clear_requests()
        started = time.perf_counter()
        detail = operation()
        elapsed = time.perf_counter() - started
        return sim.api_call_count(exclude_zone=True), sim.api_call_count(), elapsed, detail

    def median_of(repeat, operation):
        runs = [operation() for _ in range(repeat)]
        seconds = sorted(r[2] for r in runs)[len(runs) // 2]
        calls, total, _, detail = runs[-1]
        assert all(r[0] == calls for r in runs), "the call count must not vary between repetitions"
        return calls, total, seconds, detail

    def resolve_without_time():
        run, _ = ticketed_run()
        return timed(lambda: resolve_ticket_for_run(run))

    def resolve_with_time():
        run, ticket = ticketed_run()
        sim.add_time_entry(db, ticket.ticket_id)
        return timed(lambda: resolve_ticket_for_run(run))

    def sync():
        reset_bulk()
        return timed(sync_ticket_statuses)

    rows = []
    for latency in latencies:
        sim.configure(latency_seconds=latency)
        calls, total, seconds, result = median_of(repeat, resolve_without_time)
        rows.append(("resolve, no time entries", latency, calls, total, seconds, 4, result.outcome))
        calls, total, seconds, result = median_of(repeat, resolve_with_time)
        rows.append(("resolve, time entries exist", latency, calls, total, seconds, 3, result.outcome))
        calls, total, seconds, result = median_of(repeat, sync)
        budget = math.ceil(SYNC_TICKETS / 500)
        detail = f"{result.checked} checked, {result.changed} changed"
        rows.append((f"sync {SYNC_TICKETS:,} open tickets", latency, calls, total, seconds, budget, detail))
    connection.set_transport_factory(None)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency", type=float, nargs="+", default=[0.0, 0.2], help="seconds per API request"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per operation (median time)")
    args = parser.parse_args(argv)
    logging.getLogger("integrations.autotask").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as directory:
        setup(directory)
        rows = measure(args.latency, max(1, args.repeat))
    print(
        "| operation | latency per call | API calls | incl. zone discovery | budget | wall time (median) | result |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    over = []
    for label, latency, calls, total, seconds, budget, detail in rows:
        print(
            f"| {label} | {latency * 1000:.0f} ms | {calls} | {total} | {budget} | {seconds * 1000:.0f} ms | {detail} |"
        )
        if calls > budget:
            over.append(label)
    if over:
        print(f"OVER BUDGET: {', '.join(sorted(set(over)))}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
