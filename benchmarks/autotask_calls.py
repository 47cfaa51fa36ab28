"""Autotask API calls per operation, counted from the simulator's request log (`make bench` runs it too).

Runs the real client and services against the in-process simulator — no database and no network needed:
    python benchmarks/autotask_calls.py
Cold = empty zone cache (includes the unauthenticated zone discovery); warm = zone already cached.
Exits 1 when a cold count exceeds its budget (ARCHITECTURE §8: reference refresh ≤ 3; listing N companies
⌈N/500⌉ pages + zone discovery; testing the connection = zone discovery + one authenticated call).
"""

import logging
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


def measure():
    import httpx

    from integrations.autotask import client as client_module
    from integrations.autotask.client import AutotaskClient, Credentials
    from integrations.autotask.services import connection, reference
    from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator

    sim = AutotaskSimulator()
    zone_url = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"

    def new_client(tenant):
        creds = Credentials(tenant.username, tenant.secret, tenant.integration_code, None)
        return AutotaskClient(creds, zone_info_url=zone_url, transport=httpx.WSGITransport(app=sim))

    def count(operation, tenant, cold):
        if cold:
            client_module.clear_zone_cache()
        sim.clear_requests()
        with new_client(tenant) as client:
            detail = operation(client, tenant)
        return sim.api_call_count(), sim.api_call_count(exclude_zone=True), detail

    def test_connection(client, tenant):
        # The service itself (what the command and the admin button run); it builds its own client.
        connection.set_transport_factory(lambda: httpx.WSGITransport(app=sim))
        try:
            result = connection.probe(Credentials(tenant.username, tenant.secret, tenant.integration_code))
        finally:
            connection.set_transport_factory(None)
        return f"database {result.database_id}, {result.usage_text}"

    def refresh(client, tenant):
        _, parsed = reference.fetch_reference_data(client)
        return f"{sum(len(v) for v in parsed.values())} picklist values"

    def list_companies(client, tenant):
        ids = [
            c["id"]
            for c in client.query("Companies", [{"op": "exist", "field": "id"}], include_fields=["id"])
        ]
        assert len(ids) == len(set(ids))
        return f"{len(ids)} companies"

    companies = len(sim.companies(PRODUCTION.database_id))
    rows = []
    for label, operation, tenant, budget in (
        ("test connection", test_connection, SANDBOX, 2),  # zone discovery + ThresholdInformation
        ("refresh reference data", refresh, SANDBOX, 3),  # ARCHITECTURE §8
        ("list all production companies", list_companies, PRODUCTION, 1 + math.ceil(companies / 500)),
    ):
        cold_total, _, detail = count(operation, tenant, cold=True)
        warm_total, _, _ = count(operation, tenant, cold=False)
        rows.append((label, cold_total, warm_total, budget, detail))
    return rows


def main():
    setup()
    logging.getLogger("integrations.autotask.client").setLevel(logging.WARNING)
    rows = measure()
    print("| operation | API calls (cold zone cache) | API calls (warm) | budget | result |")
    print("|---|---:|---:|---:|---|")
    over = []
    for label, cold, warm, budget, detail in rows:
        print(f"| {label} | {cold} | {warm} | {budget} | {detail} |")
        if cold > budget:
            over.append(label)
    if over:
        print(f"OVER BUDGET: {', '.join(over)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
