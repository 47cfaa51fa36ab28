"""Every page renders with a constant number of SQL queries, however many rows the database holds."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
STATUSES = ["success", "warning", "error", "missed"]


def add_data(n_customers, jobs_per_customer, runs_per_job, offset=0):
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {offset + i:05d}") for i in range(n_customers)
    )
    jobs = BackupJob.objects.bulk_create(
        BackupJob(customer=c, name=f"Job {j}", backup_software="Veeam")
        for c in customers
        for j in range(jobs_per_customer)
    )
    Run.objects.bulk_create(
        (
            Run(
                job=job,
                status=STATUSES[(k + job.pk) % 4],
                started_at=T0 - timedelta(hours=k),
                summary=f"run {k}",
            )
            for job in jobs
            for k in range(runs_per_job)
        ),
        batch_size=2000,
    )
    return customers, jobs


def count_queries(client, url):
    client.get(url)  # warm-up (first-request caches such as content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_run_checks_query_count_does_not_grow_with_the_database(operator_client):
    url = reverse("runs:run_checks")
    add_data(n_customers=2, jobs_per_customer=2, runs_per_job=25)  # 100 runs
    assert Run.objects.count() == 100
    small, response = count_queries(operator_client, url)
    assert len(response.context["runs"]) == 50

    add_data(n_customers=33, jobs_per_customer=3, runs_per_job=100, offset=1000)  # + 9,900 runs
    assert Run.objects.count() == 10_000
    large, response = count_queries(operator_client, url)
    assert len(response.context["runs"]) == 50

    assert large == small
    # 7 core queries + 2 of the Autotask ticket slots, shared by every row and slot (settings with the web
    # URLs; the rows' tickets). With the integration enabled: see tests/integration/autotask_tickets.
    assert small <= 9, f"Run Checks uses {small} queries"


def test_run_checks_query_count_with_filters_is_constant(operator_client):
    customers, _ = add_data(n_customers=2, jobs_per_customer=2, runs_per_job=30)
    url = reverse("runs:run_checks") + f"?customer={customers[0].pk}&status=error&q=run&date_from=2024-01-01"
    small, _ = count_queries(operator_client, url)
    add_data(n_customers=20, jobs_per_customer=5, runs_per_job=60, offset=1000)
    large, _ = count_queries(operator_client, url)
    assert large == small


def test_job_detail_query_count_does_not_grow_with_history(viewer_client):
    _, jobs = add_data(n_customers=1, jobs_per_customer=1, runs_per_job=100)
    url = reverse("runs:job_detail", args=[jobs[0].pk])
    small, response = count_queries(viewer_client, url)
    assert len(response.context["runs"]) == 50 and len(response.context["strip"]) == 30
    Run.objects.bulk_create(
        Run(job=jobs[0], status="error", started_at=T0 - timedelta(days=10 + k), summary="old")
        for k in range(9_900)
    )
    large, _ = count_queries(viewer_client, url)
    assert large == small


@pytest.mark.parametrize("page", ["customer_list", "customer_detail"])
def test_customer_pages_query_count_does_not_grow(viewer_client, page):
    customers, _ = add_data(n_customers=3, jobs_per_customer=2, runs_per_job=5)
    url = (
        reverse("customers:customer_list")
        if page == "customer_list"
        else reverse("customers:customer_detail", args=[customers[0].pk])
    )
    small, _ = count_queries(viewer_client, url)
    add_data(n_customers=120, jobs_per_customer=3, runs_per_job=10, offset=1000)
    BackupJob.objects.bulk_create(BackupJob(customer=customers[0], name=f"Extra {i}") for i in range(40))
    large, response = count_queries(viewer_client, url)
    assert large == small
    if page == "customer_list":
        assert len(response.context["customers"]) == 50
    else:
        assert len(response.context["jobs"]) == 42
