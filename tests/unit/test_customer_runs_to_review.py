"""Customer list and page: runs to review next to the latest run, linking to Run Checks for that customer
(issue 13, item 11) — with a constant number of queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

from .test_query_counts import add_data, count_queries

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


@pytest.fixture
def acme(db):
    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Files")
    for hours, status in enumerate(["success", "error", "warning", "missed"]):
        Run.objects.create(job=job, status=status, started_at=T0 - timedelta(hours=hours))
    Customer.objects.create(name="Quiet Ltd")
    return customer


def row_of(content, name):
    return re.search(rf"<tr>\s*<td[^>]*>\s*<a[^>]*>{name}</a>.*?</tr>", content, re.S).group(0)


def test_the_list_shows_runs_to_review_next_to_a_successful_latest_run(viewer_client, acme):
    content = viewer_client.get(reverse("customers:customer_list")).content.decode()
    row = row_of(content, "Acme")
    latest_cell = re.search(r'<td[^>]*data-label="Latest run">(.*?)</td>', row, re.S).group(1)
    assert "status-success" in latest_cell
    assert f'href="/?customer={acme.pk}"' in latest_cell and "3 to review" in latest_cell
    assert "to review" not in row_of(content, "Quiet Ltd")


def test_the_link_opens_run_checks_for_that_customer(viewer_client, acme):
    other = BackupJob.objects.create(customer=Customer.objects.get(name="Quiet Ltd"), name="Mail")
    Run.objects.create(job=other, status="error", started_at=T0)
    response = viewer_client.get(f"/?customer={acme.pk}")
    assert {run.job.customer_id for run in response.context["runs"]} == {acme.pk}
    assert len(response.context["runs"]) == 3


def test_the_customer_page_links_its_counts(viewer_client, acme):
    content = viewer_client.get(acme.get_absolute_url()).content.decode()
    assert f'href="/?customer={acme.pk}">3 runs to review</a>' in content
    assert f'href="/?customer={acme.pk}&amp;group=job"' in content


def test_customer_list_queries_stay_constant(viewer_client):
    add_data(n_customers=3, jobs_per_customer=2, runs_per_job=5)
    small, _ = count_queries(viewer_client, reverse("customers:customer_list"))
    add_data(n_customers=60, jobs_per_customer=2, runs_per_job=10, offset=1000)
    large, response = count_queries(viewer_client, reverse("customers:customer_list"))
    assert large == small
    assert "to review" in response.content.decode()
