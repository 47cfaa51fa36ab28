"""Concurrent links on PostgreSQL (several processes in production): two runs linking the same Autotask ticket
at the same moment share ONE ticket row; two operators linking the same run leave exactly one link.

Both lookups are held at a barrier inside the simulator until both arrived, so both writes really race.
"""

import threading

import httpx
import pytest
from django.db import connection, connections

from integrations.autotask.models import AutotaskTicket, RunTicket
from integrations.autotask.services import ActionRefused, linking
from integrations.autotask.services import connection as autotask_connection

from .conftest import make_run, map_customer

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL) for real concurrent transactions",
)


def _race(sim, calls):
    barrier = threading.Barrier(len(calls), timeout=20)

    def app(environ, start_response):
        if "/Tickets" in environ.get("PATH_INFO", ""):
            barrier.wait()
        return sim(environ, start_response)

    autotask_connection.set_transport_factory(lambda: httpx.WSGITransport(app=app))
    results = [None] * len(calls)

    def worker(index, call):
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_link_the_same_ticket_at_once_one_row(active, sim, seeded, job):
    map_customer(job.customer, seeded[7702]["companyID"])
    runs = [make_run(job, 0), make_run(job, 1)]
    results = _race(sim, [lambda r=r: linking.link_ticket_to_run(r, "7702") for r in runs])
    assert all(isinstance(r, AutotaskTicket) for r in results), results
    assert AutotaskTicket.objects.filter(ticket_id=7702).count() == 1
    assert RunTicket.objects.filter(ticket__ticket_id=7702).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_operators_link_the_same_run_at_once_one_link(active, sim, seeded, job):
    map_customer(job.customer, seeded[7702]["companyID"])
    run = make_run(job)
    results = _race(
        sim,
        [
            lambda: linking.link_ticket_to_run(run, "7702"),
            lambda: linking.link_ticket_to_run(run, "7703", allow_company_mismatch=True),
        ],
    )
    refused = [r for r in results if isinstance(r, ActionRefused)]
    linked = [r for r in results if isinstance(r, AutotaskTicket)]
    assert len(linked) == 1 and len(refused) == 1, results
    assert refused[0].code == "already_has_ticket"
    assert RunTicket.objects.filter(run=run).count() == 1
    # the loser's ticket row is not left behind half-written either
    assert AutotaskTicket.objects.count() == 1
