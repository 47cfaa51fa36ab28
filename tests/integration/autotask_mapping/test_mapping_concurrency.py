"""Two people map two customers to the same Autotask company at the same moment (PostgreSQL, threads)."""

import threading

import pytest
from django.db import connection, connections

from customers.models import Customer
from integrations.autotask.models import CompanyMapping
from integrations.autotask.services import ActionRefused
from integrations.autotask.services import mapping as svc

from .conftest import sandbox_company

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent transactions"
)


def test_one_company_one_customer_under_concurrency(sandbox, sim, transactional_db):
    company = sandbox_company(sim)
    customers = [Customer.objects.create(name=f"Racer {i}") for i in range(4)]
    barrier = threading.Barrier(len(customers))
    outcomes = {}

    def attempt(customer):
        try:
            barrier.wait(timeout=10)
            svc.map_customer(customer, company["id"])
            outcomes[customer.pk] = "mapped"
        except ActionRefused as exc:
            outcomes[customer.pk] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["already_mapped"] * 3 + ["mapped"]
    (winner,) = [pk for pk, outcome in outcomes.items() if outcome == "mapped"]
    assert list(CompanyMapping.objects.values_list("customer_id", flat=True)) == [winner]
    assert not any(sim.in_transaction)
