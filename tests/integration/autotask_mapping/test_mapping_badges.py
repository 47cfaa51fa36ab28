"""The read-only mapping badge on the operator's customer list and detail: database only, constant queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, CompanyMapping

from .conftest import PRODUCTION_DB, SANDBOX_DB

LIST = reverse("customers:customer_list")


def _customers(n, offset=0, status="ok", database_id=SANDBOX_DB, environment="sandbox"):
    customers = Customer.objects.bulk_create(Customer(name=f"Cust {offset + i:05d}") for i in range(n))
    CompanyMapping.objects.bulk_create(
        CompanyMapping(
            customer=c,
            environment=environment,
            database_id=database_id,
            company_id=500000 + offset + i,
            company_name=f"Company {offset + i}",
            status=status,
        )
        for i, c in enumerate(customers)
    )
    return customers


def test_list_badges_for_every_status(sandbox, sim, operator_client):
    _customers(1, 0, "ok")
    _customers(1, 10, "renamed")
    _customers(1, 20, "inactive")
    _customers(1, 30, "missing")
    _customers(1, 40, "ok", database_id=1)  # another tenant
    Customer.objects.create(name="Cust 99999")
    CompanyMapping.objects.filter(status="renamed").update(previous_name="Old <Name>")
    sim.clear_requests()
    html = operator_client.get(LIST).content.decode()
    assert sim.api_call_count() == 0
    for status in ("ok", "renamed", "inactive", "missing", "invalid", "unmapped"):
        assert f'data-status="{status}"' in html, status
    assert "previously “Old &lt;Name&gt;”" in html


def test_detail_shows_mapping_and_other_environment_is_not_shown_as_active(sandbox, operator_client):
    (customer,) = _customers(1, environment="production", database_id=PRODUCTION_DB)
    html = operator_client.get(customer.get_absolute_url()).content.decode()
    assert 'data-status="unmapped"' in html and "Autotask company (Sandbox)" in html
    assert '#autotask-mapping">Change</a>' not in html and "Map</a>" not in html  # operators cannot map


def test_nothing_shown_while_disabled(sandbox, operator_client):
    _customers(2)
    settings = AutotaskSettings.load()
    settings.enabled = False
    settings.save()
    html = operator_client.get(LIST).content.decode()
    assert "autotask-mapping-badge" not in html


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_and_detail_query_counts_are_constant(sandbox, operator_client):
    customers = _customers(3)
    small_list, small_detail = (
        _count(operator_client, LIST),
        _count(operator_client, customers[0].get_absolute_url()),
    )
    _customers(120, offset=1000)
    assert _count(operator_client, LIST) == small_list
    assert _count(operator_client, customers[0].get_absolute_url()) == small_detail
