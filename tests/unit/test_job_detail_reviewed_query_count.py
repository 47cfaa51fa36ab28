"""Issue 7 item 10: Job Details' query count stays constant when its runs are reviewed (each row shows
who reviewed it), measured at two sizes."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def count_queries(client, url):
    client.get(url)  # warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def add_reviewed_runs(job, reviewers, count, offset):
    Run.objects.bulk_create(
        Run(
            job=job,
            status="error",
            started_at=T0 - timedelta(hours=offset + k),
            summary="reviewed",
            reviewed_by=reviewers[k % len(reviewers)],
            reviewed_at=T0,
        )
        for k in range(count)
    )


def test_job_detail_query_count_with_reviewed_runs_does_not_grow(viewer_client):
    users = get_user_model()
    reviewers = [users.objects.create_user(f"reviewer{i}", password="x") for i in range(60)]
    job = BackupJob.objects.create(customer=Customer.objects.create(name="Acme"), name="Nightly")
    url = reverse("runs:job_detail", args=[job.pk])

    add_reviewed_runs(job, reviewers, 5, offset=0)
    small, response = count_queries(viewer_client, url)
    assert "reviewer0" in response.content.decode()

    add_reviewed_runs(job, reviewers, 55, offset=5)
    large, response = count_queries(viewer_client, url)
    assert len(response.context["runs"]) == 50
    assert "reviewer44" in response.content.decode()  # 50 rows, each with its reviewer
    assert large == small
