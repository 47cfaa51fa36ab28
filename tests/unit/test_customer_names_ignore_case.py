"""Customer names are unique ignoring case (a database constraint), and ingestion matches them that way."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from customers.models import Customer
from runs.ingest import IngestValidationError, validate_runs
from runs.models import IngestToken, Run


def item(customer, n=1):
    return {
        "customer": customer,
        "job": "Nightly image",
        "started_at": "2025-01-31T22:00:00Z",
        "status": "error",
        "external_id": f"veeam-{n}",
    }


@pytest.mark.django_db
def test_the_database_refuses_a_name_differing_only_in_case():
    Customer.objects.create(name="Acme")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="ACME")
    assert list(Customer.objects.values_list("name", flat=True)) == ["Acme"]


@pytest.mark.django_db
def test_the_admin_form_says_the_name_exists(client, staff_admin):
    Customer.objects.create(name="Acme")
    client.force_login(staff_admin)
    response = client.post(reverse("admin:customers_customer_add"), {"name": "acme", "is_active": "on"})
    assert response.status_code == 200
    assert "already exists (names ignore case)" in response.content.decode()
    assert Customer.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("sent", ["Acme", "ACME", "acme", "aCmE"])
def test_ingest_finds_the_customer_ignoring_case(client, sent):
    acme = Customer.objects.create(name="Acme")
    Customer.objects.create(name="Acme Two")
    _, raw = IngestToken.issue("tests")
    response = client.post(
        reverse("api:runs_ingest"),
        data=json.dumps(item(sent)),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.content
    assert Run.objects.get().job.customer == acme


@pytest.mark.django_db
def test_two_spellings_of_one_customer_in_one_batch_are_one_run():
    Customer.objects.create(name="Acme")
    with pytest.raises(IngestValidationError) as caught:
        validate_runs([item("Acme"), item("ACME")])
    assert [(e.index, e.field) for e in caught.value.errors] == [(1, "external_id")]


@pytest.mark.django_db
def test_an_unknown_customer_is_still_refused():
    Customer.objects.create(name="Acme")
    with pytest.raises(IngestValidationError) as caught:
        validate_runs([item("Acme Corp")])
    assert caught.value.errors[0].message == "Unknown customer 'Acme Corp'."


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_existing_clashes_instead_of_failing_obscurely():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    leaf = executor.loader.graph.leaf_nodes("customers")
    before = [("customers", "0001_initial")]
    try:
        executor.migrate(before)
        old_apps = executor.loader.project_state(before).apps
        OldCustomer = old_apps.get_model("customers", "Customer")
        OldCustomer.objects.create(name="Acme")
        OldCustomer.objects.create(name="ACME")
        executor = MigrationExecutor(connection)
        with pytest.raises(RuntimeError, match=r"differ only in case: 'ACME', 'Acme'\. Rename or merge"):
            executor.migrate(leaf)
        OldCustomer.objects.filter(name="ACME").delete()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(leaf)
    assert Customer.objects.get().name == "Acme"
