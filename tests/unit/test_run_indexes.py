"""The Run Checks query is served by an index on both databases, not by reading the whole run history."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
RUN_CHECKS_INDEXES = {"run_needs_review_idx", "run_review_queue_idx"}


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


def _plan(queryset):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tiny test tables make a sequential scan the cheapest plan; ask whether an index *can* serve it.
            cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


def test_run_checks_page_uses_a_review_index(history):
    plan = _plan(Run.objects.needing_review().order_by("-started_at", "-id")[:50])

    # PostgreSQL proves the partial index from the query; SQLite cannot (bound IN parameters) and uses
    # run_review_queue_idx instead — before that index it read every attention run of the whole history.
    expected = "run_needs_review_idx" if connection.vendor == "postgresql" else "run_review_queue_idx"
    assert expected in plan, plan
    if connection.vendor == "sqlite":
        assert not re.search(r"\bSCAN runs_run\b", plan), plan  # no full table scan


def test_run_checks_status_filter_reads_only_that_status(history):
    plan = _plan(Run.objects.needing_review().filter(status="error").order_by("-started_at", "-id")[:50])

    indexes = set(re.findall(r"run_\w+_idx", plan))
    assert indexes & (RUN_CHECKS_INDEXES | {"run_status_started_idx"}), plan
    if connection.vendor == "sqlite":
        assert indexes & RUN_CHECKS_INDEXES, plan


def test_needing_review_is_exactly_the_unreviewed_attention_runs(history):
    expected = {
        run.pk
        for run in Run.objects.all()
        if run.status in {"warning", "error", "missed"} and not run.reviewed_at
    }
    assert set(Run.objects.needing_review().values_list("pk", flat=True)) == expected
    assert len(expected) == 20
