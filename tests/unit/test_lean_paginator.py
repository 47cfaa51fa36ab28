"""runs.pagination.LeanPaginator: a lean, capped COUNT; the run admin and Run Checks say "N+" past the cap."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from runs import pagination
from runs.models import BackupJob, Run
from runs.pagination import LeanPaginator

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def make_runs(n, status="error"):
    job = BackupJob.objects.create(customer=Customer.objects.create(name=f"C{n}{status}"), name="Job")
    Run.objects.bulk_create(Run(job=job, status=status, started_at=T0 - timedelta(hours=k)) for k in range(n))


def test_counts_the_lean_queryset_up_to_the_limit(db):
    make_runs(30)
    annotated = Run.objects.select_related("job__customer").order_by("-started_at")
    paginator = LeanPaginator(annotated, 10, count_queryset=Run.objects.all(), count_limit=25)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 26 and paginator.capped and paginator.count_text == "25+"
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert "LIMIT 26" in sql and "JOIN" not in sql  # the lean queryset, capped
    assert paginator.num_pages == 3

    exact = LeanPaginator(annotated, 10, count_queryset=Run.objects.all(), count_limit=100)
    assert exact.count == 30 and not exact.capped and exact.count_text == "30"


def test_run_checks_and_the_run_admin_say_more_than_the_limit(client, db, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 60)
    monkeypatch.setattr(LeanPaginator.__init__, "__kwdefaults__", {"count_queryset": None, "count_limit": 60})
    make_runs(70)
    client.force_login(User.objects.create_superuser("root", password="pw"))

    content = client.get("/").content.decode()
    assert "60+ runs need review" in content and "of 60+ runs" in content

    content = client.get("/admin/runs/run/").content.decode()
    assert '<span class="capped-count">60+ runs</span>' in content
