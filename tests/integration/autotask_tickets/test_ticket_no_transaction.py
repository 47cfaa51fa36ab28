"""No Autotask call runs inside a database transaction — on the happy path, the failure path and the
reconcile (a slow Autotask must never hold locks that block ingestion or other operators)."""

import httpx
import pytest
from django.db import connection

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.services import connection as autotask_connection
from integrations.autotask.services import tickets

from .conftest import configure_integration, make_run, map_customer, sim_tickets


class RecordingTransport(httpx.WSGITransport):
    """The simulator in-process, noting for every request whether a transaction was open."""

    def __init__(self, app, seen):
        super().__init__(app=app)
        self.seen = seen

    def handle_request(self, request):
        self.seen.append((request.method, request.url.path, connection.in_atomic_block))
        return super().handle_request(request)


@pytest.fixture
def seen(sim, transactional_db):
    calls = []
    autotask_connection.set_transport_factory(lambda: RecordingTransport(sim, calls))
    return calls


def test_no_autotask_call_inside_a_transaction(sim, seen, customer, job):
    env_config = configure_integration()
    map_customer(customer, env_config)
    run = make_run(job)
    seen.clear()
    sim.inject_fault(mode="commit_then_500", entity="Tickets", method="POST")
    with pytest.raises(AutotaskError):
        tickets.create_ticket_for_run(run)
    tickets.create_ticket_for_run(run)  # reconciles and adopts
    other = make_run(job, status="warning")
    tickets.create_ticket_for_run(other)  # the happy path

    assert len(sim_tickets(sim)) == 2
    assert [path.rsplit("/", 1)[-1] for _, path, _ in seen] == [
        "Tickets",
        "query",
        "Tickets",
        str(tickets.ticket_for_run(other).ticket_id),
    ]
    assert [in_transaction for *_, in_transaction in seen] == [False] * len(seen)
