"""The Run Checks query is served by an index on both databases, not by reading the whole run history."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, models

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
RUN_CHECKS_INDEXES = {"run_needs_review_idx", "run_review_by_job_idx"}


@pytest.fixture
def history(db):
    job = BackupJob.objects.create(customer=Customer.objects.create(name="Acme"), name="Image")
    Run.objects.bulk_create(
        Run(
            job=job,
            status=["success", "success", "warning", "error"][k % 4],
            started_at=T0 - timedelta(hours=k),
            reviewed_at=T0 if k > 40 else None,
        )
        for k in range(400)
    )


def _plan(queryset, *, in_order=False):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tiny test tables make a sequential scan the cheapest plan; ask whether an index *can* serve it.
            cursor.execute("SET LOCAL enable_seqscan = off")
            if in_order:
                # ...and whether one can serve it *in page order*. Without these, the choice between the two
                # partial indexes (same rows) follows whatever statistics earlier tests left on runs_run: on
                # a 16-row estimate a bitmap scan of run_review_by_job_idx plus a sort is just as cheap.
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute("SET LOCAL enable_sort = off")
        return queryset.explain()


def test_run_checks_page_uses_a_review_index(history):
    plan = _plan(Run.objects.needing_review().order_by("-started_at", "-id")[:50], in_order=True)

    # The partial index holds the review queue only, in page order, on both databases. SQLite uses it only
    # because needing_review() states its condition with literal values (runs.models.LiteralNotEqual):
    # with bound parameters it read the whole queue through another index and sorted it.
    assert "run_needs_review_idx" in plan, plan
    # read in page order: no sort of the whole queue
    assert "TEMP B-TREE" not in plan if connection.vendor == "sqlite" else "Sort" not in plan, plan


def test_run_checks_count_reads_the_partial_index_only(history):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
    # what runs.pagination.LeanPaginator sends: COUNT(*) over the queue, LIMITed
    sql, params = Run.objects.needing_review().order_by()[:10_001].values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {'QUERY PLAN ' if connection.vendor == 'sqlite' else ''}{sql}", params)
        plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
    assert set(re.findall(r"run_\w+_idx", plan)) & RUN_CHECKS_INDEXES, plan
    assert not re.search(r"SCAN runs_run USING COVERING INDEX run_(status|job)", plan), plan


@pytest.mark.parametrize("by", ["job", "customer"])
def test_grouped_and_per_customer_queue_use_the_per_job_review_index(history, by):
    queue = Run.objects.needing_review()
    if by == "job":
        queryset = queue.order_by().values("job_id").annotate(n=models.Count("pk"))
    else:
        customer = Customer.objects.get(name="Acme")
        queryset = queue.filter(job__customer=customer).order_by("-started_at", "-id")[:50]
    plan = _plan(queryset)
    if connection.vendor == "sqlite":
        # not the job's whole history (run_job_history_idx): only its runs in the queue
        assert "run_review_by_job_idx" in plan, plan
    else:
        assert set(re.findall(r"run_\w+_idx", plan)) & RUN_CHECKS_INDEXES, plan


def test_the_literal_comparison_refuses_anything_but_an_identifier():
    with pytest.raises(ValueError, match="constant identifier"):
        str(Run.objects.filter(status__not_literal="x') OR ('1'='1").query)


def test_run_checks_status_filter_reads_only_that_status(history):
    plan = _plan(Run.objects.needing_review().filter(status="error").order_by("-started_at", "-id")[:50])

    indexes = set(re.findall(r"run_\w+_idx", plan))
    # SQLite reads that status's runs newest first (run_status_started_idx) and stops at a full page
    assert indexes & (RUN_CHECKS_INDEXES | {"run_status_started_idx"}), plan


def test_needing_review_is_exactly_the_unreviewed_attention_runs(history):
    expected = {
        run.pk
        for run in Run.objects.all()
        if run.status in {"warning", "error", "missed"} and not run.reviewed_at
    }
    assert set(Run.objects.needing_review().values_list("pk", flat=True)) == expected
    assert len(expected) == 20
