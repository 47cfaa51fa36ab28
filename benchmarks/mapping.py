"""Phase 3 benchmark: checking company mappings and the customer lists with many mapped customers.

    python benchmarks/mapping.py [--mappings 1200] [--latency-ms 0,200] [--customers 200,2000] [--postgres URL]

1. `check_mappings()` over N mappings of the simulator's production tenant (1,261 companies), through the
   real client and the in-process simulator (`httpx.WSGITransport`): Autotask API calls (from the
   simulator's request log; zone discovery excluded — it is cached) and wall time, at each simulated
   latency (the simulator's `latency_seconds` switch sleeps that long in every authenticated call).
   Fails (exit 1) when the calls exceed ⌈N/500⌉.
2. The admin customer list (`/admin/customers/customer/`, 100 per page, logged in as a staff Admin) and the
   operator customer list (`/customers/`, 50 per page, as an Operator) at each customer count, every
   customer mapped: SQL queries (must not grow) and render time (median / p95 of `--requests` GETs).

Uses a throwaway SQLite file (or a fresh `test_…` PostgreSQL database with `--postgres`), like run.py.
Prints Markdown and writes benchmarks/results/mapping.md.
"""

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import RESULTS, configure_django, git_revision  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mappings", type=int, default=1200, help="mappings to check (default: %(default)s)")
    parser.add_argument("--latency-ms", default="0,200", help="simulated latencies (default: %(default)s)")
    parser.add_argument("--customers", default="1200,2000", help="mapped customers for the list pages")
    parser.add_argument(
        "--requests", type=int, default=20, help="timed requests per page (default: %(default)s)"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="benchmark on PostgreSQL (a test_ database is created)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "mapping.md")
    return parser.parse_args(argv)


def setup_tenant(sim):
    import httpx

    from integrations.autotask.client import clear_zone_cache
    from integrations.autotask.models import AutotaskSettings, EnvironmentConfig
    from integrations.autotask.services import connection
    from integrations.autotask.simulator import PRODUCTION

    clear_zone_cache()
    connection.set_transport_factory(lambda: httpx.WSGITransport(app=sim))
    env_config = EnvironmentConfig.for_environment("production")
    env_config.username = PRODUCTION.username
    env_config.secret = PRODUCTION.secret
    env_config.integration_code = PRODUCTION.integration_code
    env_config.save()
    connection.check_connection(env_config)
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.environment = "production"
    settings.save()
    return PRODUCTION.database_id


def add_mapped_customers(count, database_id, companies, offset):
    """`count` customers, each mapped (status ok) — to a real simulator company while there are any."""
    from customers.models import Customer
    from integrations.autotask.models import CompanyMapping

    customers = Customer.objects.bulk_create(
        Customer(name=f"Bench customer {offset + i:06d}") for i in range(count)
    )
    mappings = []
    for i, customer in enumerate(customers):
        index = offset + i
        company = companies[index] if index < len(companies) else None
        mappings.append(
            CompanyMapping(
                customer=customer,
                environment="production",
                database_id=database_id,
                company_id=company["id"] if company else 10_000_000 + index,
                company_name=company["companyName"] if company else f"Company {index}",
            )
        )
    CompanyMapping.objects.bulk_create(mappings, batch_size=500)


def bench_check(sim, args, database_id, companies):
    from integrations.autotask.services import mapping as mapping_service

    add_mapped_customers(args.mappings, database_id, companies, 0)
    rows = []
    for latency_ms in [int(x) for x in args.latency_ms.split(",") if x.strip()]:
        sim.configure(latency_seconds=latency_ms / 1000)
        mapping_service.check_mappings()  # warm-up (zone cached, SQLite pages in memory)
        sim.clear_requests()
        started = time.perf_counter()
        result = mapping_service.check_mappings()
        wall = time.perf_counter() - started
        calls = sim.api_call_count(exclude_zone=True)
        rows.append((latency_ms, result.checked, calls, wall, result.summary_line()))
        print(
            f"  check {result.checked} mappings at {latency_ms} ms: {calls} calls, {wall:.2f} s", flush=True
        )
    sim.configure(latency_seconds=0)
    return rows


def bench_pages(args, database_id, companies):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from benchmarks import pages
    from customers.models import Customer
    from runs import demo

    demo.create_demo_users()
    users = get_user_model()
    admin_client, operator_client = Client(), Client()
    admin_client.force_login(users.objects.get(username="admin"))
    operator_client.force_login(users.objects.get(username="operator"))
    rows = []
    for size in [int(x) for x in args.customers.split(",") if x.strip()]:
        have = Customer.objects.count()
        if size > have:
            add_mapped_customers(size - have, database_id, companies, have)
        for label, client, url in (
            ("admin customer list", admin_client, "/admin/customers/customer/"),
            ("operator customer list", operator_client, reverse("customers:customer_list")),
        ):
            timing = pages.measure(client, label, url, args.requests)
            rows.append((Customer.objects.count(), timing))
            print(
                f"  {label} at {Customer.objects.count()} customers: {timing.median_ms:.1f} ms, {timing.queries} queries"
            )
    return rows


def render(check_rows, page_rows, args, vendor):
    import platform

    lines = [
        "# Autotask company mapping benchmark",
        "",
        f"commit {git_revision()} · {vendor} · Python {platform.python_version()} · in-process simulator "
        "through the real client (httpx.WSGITransport).",
        "",
        f"## check_mappings over {args.mappings:,} mappings (production tenant)",
        "",
        "| simulated latency per call | mappings checked | API calls | budget ⌈N/500⌉ | wall time | result |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for latency_ms, checked, calls, wall, summary in check_rows:
        lines.append(
            f"| {latency_ms} ms | {checked:,} | {calls} | {math.ceil(checked / 500)} | {wall:.2f} s | {summary} |"
        )
    lines += [
        "",
        "## Customer lists, every customer mapped",
        "",
        f"{args.requests} timed GETs after 2 warm-ups; queries counted on one extra GET.",
        "",
        "| page | customers | median / p95 (ms) | SQL queries | response bytes |",
        "|---|---:|---:|---:|---:|",
    ]
    for customers, t in page_rows:
        lines.append(
            f"| {t.page} | {customers:,} | {t.median_ms:.1f} / {t.p95_ms:.1f} | {t.queries} | {t.response_bytes:,} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="backupchecks-bench-") as tmp:
        configure_django(args.postgres or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        import logging

        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import setup_test_environment

        from integrations.autotask.simulator import PRODUCTION, AutotaskSimulator

        logging.getLogger("integrations.autotask.client").setLevel(logging.WARNING)
        setup_test_environment()
        if args.postgres:
            old_name = connection.settings_dict["NAME"]
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        else:
            call_command("migrate", verbosity=0)
        try:
            sim = AutotaskSimulator()
            database_id = setup_tenant(sim)
            companies = [c for c in sim.companies(PRODUCTION.database_id) if c["id"]]
            check_rows = bench_check(sim, args, database_id, companies)
            page_rows = bench_pages(args, database_id, companies)
        finally:
            if args.postgres:
                connection.creation.destroy_test_db(old_name, verbosity=0)
            connection.close()
        report = render(check_rows, page_rows, args, connection.vendor)
    print()
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"Written to {args.output}")
    over = [row for row in check_rows if row[2] > math.ceil(row[1] / 500)]
    if over:
        print("OVER BUDGET: the mapping check made more than ⌈N/500⌉ API calls", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
