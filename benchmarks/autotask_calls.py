"""Benchmark 2 of issue 14: every Autotask operation's API-call count against the budget table.

    python benchmarks/autotask_calls.py [--quick]

Runs the real services and client against the in-process simulator (`httpx.WSGITransport`) on a throwaway
SQLite file (tests.settings); counts are read from the simulator's request log, zone discovery included
(a "cold" case empties the zone cache first; the others run with the zone cached). Budgets: docs/ARCHITECTURE
§8 (copied with its source into docs/performance.md §2) plus the phase 3–6 docs: docs/autotask-mapping.md,
docs/autotask.md, docs/autotask-resolution.md, docs/autotask-phase6.md.

Prints one row per case: calls, budget, ratio (calls ÷ budget; a 0 budget is met only by 0 calls) and
exits 1 when any case is over its budget. `--quick` checks 1/500/501 mappings instead of up to 1,200.
"""

import argparse
import logging
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"


def setup(db_path):
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Meter:
    """Runs operations and records (case, calls, budget, detail) rows from the simulator's request log."""

    def __init__(self, sim):
        self.sim = sim
        self.rows = []

    def measure(self, case, budget, operation, *, cold=False):
        from integrations.autotask.client import clear_zone_cache

        if cold:
            clear_zone_cache()
        self.sim.clear_requests()
        detail = operation()
        calls = self.sim.api_call_count()
        self.rows.append((case, calls, budget, detail or ""))
        return calls


def measure(args):
    import httpx
    from django.utils import timezone

    from customers.models import Customer
    from integrations.autotask.client import clear_zone_cache
    from integrations.autotask.models import (
        AutotaskSettings,
        AutotaskTicket,
        CompanyMapping,
        EnvironmentConfig,
        TicketState,
    )
    from integrations.autotask.services import (
        ActionRefused,
        connection,
        linking,
        reference,
        resolution,
        tickets,
    )
    from integrations.autotask.services import mapping as mapping_service
    from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator
    from runs.models import BackupJob
    from tests.integration.autotask_tickets.conftest import configure_integration, make_run, map_customer

    sim = AutotaskSimulator()
    clear_zone_cache()
    from django.conf import settings as django_settings

    django_settings.AUTOTASK_ZONE_INFO_URL = ZONE_URL
    connection.set_transport_factory(lambda: httpx.WSGITransport(app=sim), sleep=lambda seconds: None)
    meter = Meter(sim)
    m = meter.measure

    # --- phase 2: connection and reference data (Sandbox) ------------------------------------------------
    sandbox = EnvironmentConfig.for_environment("sandbox")
    sandbox.username, sandbox.secret = SANDBOX.username, SANDBOX.secret
    sandbox.integration_code = SANDBOX.integration_code
    sandbox.save()

    def test_connection():
        result = connection.check_connection(EnvironmentConfig.for_environment("sandbox"))
        return f"database {result.database_id}"

    m("test connection (cold zone cache)", 2, test_connection, cold=True)
    m("test connection (zone cached)", 1, test_connection)

    def refresh():
        result = reference.refresh_reference_data(EnvironmentConfig.for_environment("sandbox"))
        return result.counts_text

    m("refresh reference data", 3, refresh)

    # --- phase 3: company mappings (Production: 1,261 companies) ---------------------------------------
    production = EnvironmentConfig.for_environment("production")
    production.username, production.secret = PRODUCTION.username, PRODUCTION.secret
    production.integration_code = PRODUCTION.integration_code
    production.save()
    connection.check_connection(production)
    settings = AutotaskSettings.load()
    settings.enabled, settings.environment = True, "production"
    settings.save()
    companies = [c for c in sim.companies(PRODUCTION.database_id) if c["id"]]

    def search():
        return f"{len(mapping_service.search_companies('an'))} matches for 'an'"

    m("search companies", 1, search)
    mapped = Customer.objects.create(name="Bench mapped customer")

    def map_one():
        mapping = mapping_service.map_customer(mapped, companies[0]["id"])
        return f"status {mapping.status}"

    m("map a customer to a company", 1, map_one)
    sizes = [1, 500, 501] + ([] if args.quick else [1200])
    customers = Customer.objects.bulk_create(
        Customer(name=f"Bench customer {i:05d}") for i in range(max(sizes) - 1)
    )
    CompanyMapping.objects.bulk_create(
        CompanyMapping(
            customer=customer,
            environment="production",
            database_id=PRODUCTION.database_id,
            company_id=companies[(i + 1) % len(companies)]["id"],
            company_name=companies[(i + 1) % len(companies)]["companyName"],
        )
        for i, customer in enumerate(customers)
    )
    all_mapped = [mapped.pk] + [c.pk for c in customers]
    for size in sizes:

        def check(size=size):
            result = mapping_service.check_mappings(Customer.objects.filter(pk__in=all_mapped[:size]))
            assert result.checked == size, result.checked
            return result.summary_line()

        m(f"check {size:,} company mappings", math.ceil(size / 500), check)

    # --- phase 4: tickets (Sandbox, configured and enabled as an admin does it) ------------------------
    env_config = configure_integration()
    customer = Customer.objects.create(name="Bench ticket customer")
    map_customer(customer, env_config)
    unmapped = Customer.objects.create(name="Bench unmapped customer")
    jobs = iter(BackupJob.objects.create(customer=customer, name=f"Bench job {i}") for i in range(100))

    run = make_run(next(jobs))
    m("preview a ticket", 0, lambda: f"title {tickets.preview_ticket(run).payload['title'][:30]!r}…")

    def create(run):
        ticket = tickets.create_ticket_for_run(run)
        return f"ticket {ticket.ticket_number}"

    m("create a ticket (happy path)", 2, lambda: create(run))
    cold_run = make_run(next(jobs))
    m("create a ticket (cold zone cache)", 3, lambda: create(cold_run), cold=True)

    def refused(run):
        try:
            tickets.create_ticket_for_run(run)
        except ActionRefused as exc:
            return f"refused: {str(exc)[:50]}…"
        raise AssertionError("not refused")

    m("create refused (already has a ticket)", 0, lambda: refused(run))
    unmapped_run = make_run(BackupJob.objects.create(customer=unmapped, name="Unmapped job"))
    m("create refused (customer not mapped)", 0, lambda: refused(unmapped_run))

    # --- phase 5: resolve and sync ----------------------------------------------------------------------
    def resolve(run):
        result = resolution.resolve_ticket_for_run(run, remark="fixed")
        return f"outcome {result.outcome}"

    m("resolve (no time entries)", 4, lambda: resolve(run))
    timed_run = make_run(next(jobs))
    ticket = tickets.create_ticket_for_run(timed_run)
    sim_ticket = next(t for t in sim.tickets(SANDBOX.database_id) if t["id"] == ticket.ticket_id)
    sim.add_time_entry(SANDBOX.database_id, sim_ticket["id"], hours=1.5)
    m("resolve (time entries exist)", 3, lambda: resolve(timed_run))
    m("resolve again (stored result returned)", 0, lambda: resolve(timed_run))

    open_runs = [make_run(next(jobs)) for _ in range(3)]
    for open_run in open_runs:
        tickets.create_ticket_for_run(open_run)

    checked = []

    def sync():
        result = resolution.sync_ticket_statuses()
        checked.append(result.checked)
        return f"{result.checked} checked, {result.missing} missing"

    m("sync the open tickets (a few)", 1, sync)
    # 501 open tickets: the ids of tickets Autotask does not have (reported missing) cost the same query
    AutotaskTicket.objects.bulk_create(
        AutotaskTicket(
            environment="sandbox",
            database_id=SANDBOX.database_id,
            correlation_key=f"bench-sync-{i}",
            state=TicketState.CREATED,
            ticket_id=90_000_000 + i,
            ticket_number=f"T20261130.{i:04d}",
            company_id=1174,
            status_id=1,
            created_at=timezone.now(),
        )
        for i in range(501 - checked[-1])
    )
    m("sync 501 open tickets", 2, sync)
    assert checked[-1] == 501, checked

    # --- phase 6: link an existing ticket, storm avoidance ----------------------------------------------
    settings = AutotaskSettings.load()
    settings.compatibility_mode = True
    settings.save()
    link_run = make_run(next(jobs))
    existing = open_runs[0].autotask_link.ticket

    def link():
        linked = linking.link_ticket_to_run(link_run, existing.ticket_number, allow_company_mismatch=True)
        return f"linked {linked.ticket_number}"

    m("link an existing ticket", 1, link)
    storm_job = open_runs[1].job
    storm_run = make_run(storm_job)
    open_ticket = linking.open_ticket_for_job(storm_job)

    def storm():
        result = linking.add_run_to_open_ticket(storm_run, open_ticket)
        return f"added to {open_ticket.ticket_number} (+ internal note)" + (
            f", note error {result.note_error}" if getattr(result, "note_error", None) else ""
        )

    m("storm: add a run to the job's open ticket", 1, storm)
    connection.set_transport_factory(None)
    return meter.rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="mappings 1/500/501 only (not 1,200)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp) / "calls.sqlite3")
        logging.getLogger("integrations.autotask").setLevel(logging.ERROR)
        rows = measure(args)
    print("| operation | API calls | budget | ratio | result |")
    print("|---|---:|---:|---:|---|")
    over = []
    for case, calls, budget, detail in rows:
        ratio = (calls / budget) if budget else (0.0 if calls == 0 else math.inf)
        mark = "" if calls <= budget else " **OVER**"
        print(f"| {case} | {calls} | {budget} | {ratio:.2f}{mark} | {detail} |")
        if calls > budget:
            over.append(case)
    if over:
        print(f"OVER BUDGET: {', '.join(over)}", file=sys.stderr)
        return 1
    print(f"All {len(rows)} operations within their API-call budgets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
