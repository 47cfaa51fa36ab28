"""Customer list and detail: job counts and latest statuses."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


@pytest.fixture
def acme(db):
    customer = Customer.objects.create(name="Acme", notes="Main site in Utrecht")
    image = BackupJob.objects.create(customer=customer, name="Image", backup_software="Veeam")
    files = BackupJob.objects.create(customer=customer, name="Files", backup_software="Synology")
    BackupJob.objects.create(customer=customer, name="New job")  # no runs yet
    Run.objects.create(job=image, status="error", started_at=T0 - timedelta(days=1))
    Run.objects.create(job=image, status="success", started_at=T0)  # latest of Image and of Acme
    Run.objects.create(job=files, status="warning", started_at=T0 - timedelta(hours=2))
    Run.objects.create(job=files, status="missed", started_at=T0 - timedelta(days=2))
    return customer


def test_customer_list_shows_job_count_latest_status_and_open_runs(viewer_client, acme):
    Customer.objects.create(name="Empty Co")
    response = viewer_client.get(reverse("customers:customer_list"))
    assert response.status_code == 200
    rows = {c.name: c for c in response.context["customers"]}
    assert rows["Acme"].job_count == 3
    assert rows["Acme"].latest_status == "success"
    assert rows["Acme"].open_runs == 3  # error, warning, missed — all unreviewed
    assert rows["Empty Co"].job_count == 0 and rows["Empty Co"].latest_status is None
    content = response.content.decode()
    assert '<span class="badge status-badge status-success">success</span>' in content
    assert "No runs yet" in content


def test_customer_list_search(viewer_client, acme):
    Customer.objects.create(name="Beta Legal")
    response = viewer_client.get(reverse("customers:customer_list"), {"q": "beta"})
    assert [c.name for c in response.context["customers"]] == ["Beta Legal"]


def test_customer_detail_lists_jobs_with_their_latest_status(viewer_client, acme):
    response = viewer_client.get(reverse("customers:customer_detail", args=[acme.pk]))
    assert response.status_code == 200
    jobs = {job.name: job for job in response.context["jobs"]}
    assert jobs["Image"].latest_status == "success"
    assert jobs["Files"].latest_status == "warning"
    assert jobs["New job"].latest_status is None
    assert jobs["Files"].open_runs == 2 and jobs["Image"].open_runs == 1
    assert response.context["open_runs"] == 3
    content = response.content.decode()
    assert "Main site in Utrecht" in content
    assert reverse("runs:job_detail", args=[jobs["Files"].pk]) in content
    assert reverse("runs:run_detail", args=[jobs["Image"].latest_run_id]) in content


def test_customer_detail_404(viewer_client, db):
    assert viewer_client.get(reverse("customers:customer_detail", args=[424242])).status_code == 404
