"""runs.ingest directly: concurrency retry, dry run, chunking, validation details."""

from datetime import UTC, datetime

import pytest

from customers.models import Customer
from runs import ingest
from runs.models import BackupJob, Run


@pytest.fixture
def acme(db):
    return Customer.objects.create(name="Acme")


def item(n, **overrides):
    return {
        "customer": "Acme",
        "job": "Nightly",
        "started_at": "2025-02-01T22:00:00Z",
        "status": "success",
        "external_id": f"id-{n}",
        **overrides,
    }


def test_a_run_inserted_concurrently_is_reported_as_already_present(acme, monkeypatch):
    """Simulate the race: our SELECT misses a run another request commits just before our INSERT."""
    existing = ingest.ingest_runs([item(1)], source="api").outcomes[0].run
    real_existing_runs = ingest._existing_runs
    calls = []

    def stale_first_read(jobs, items):
        calls.append(1)
        return {} if len(calls) == 1 else real_existing_runs(jobs, items)

    monkeypatch.setattr(ingest, "_existing_runs", stale_first_read)

    result = ingest.ingest_runs([item(1), item(2)], source="api")

    assert len(calls) == 2  # the unique constraint fired, everything rolled back, one retry
    assert result.outcomes[0].run.pk == existing.pk
    assert [o.created for o in result.outcomes] == [False, True]
    assert Run.objects.count() == 2


def test_dry_run_reports_without_writing(acme):
    ingest.ingest_runs([item(1)], source="import")

    result = ingest.ingest_runs([item(1), item(2), item(3, job="New job")], source="import", dry_run=True)

    assert result.dry_run
    assert [(o.run, o.created) for o in result.outcomes] == [(None, False), (None, True), (None, True)]
    assert (Run.objects.count(), BackupJob.objects.count()) == (1, 1)


def test_store_works_in_chunks_inside_one_transaction(acme, settings, django_assert_max_num_queries):
    settings.INGEST_MAX_ITEMS = 10
    items = ingest.validate_runs([item(n, job=f"Job {n % 2}") for n in range(35)])
    chunks = []

    with django_assert_max_num_queries(4 * 8):  # a handful per chunk, never one per item
        result = ingest.store_runs(items, source="import", progress=chunks.append)

    assert chunks == [10, 10, 10, 5]
    assert result.created_count == 35 and result.existing_count == 0
    assert Run.objects.count() == 35


def test_validate_item_normalises_values():
    now = datetime(2025, 3, 1, tzinfo=UTC)
    run, errors = ingest.validate_item(
        item(
            1,
            customer="  Acme ",
            status=" ERROR ",
            started_at="2025-02-01T23:00:00.5+01:00",
            finished_at=None,
            details="  kept as sent  ",
        ),
        now=now,
    )

    assert errors == []
    assert run.customer == "Acme"
    assert run.status == "error"
    assert run.started_at == datetime(2025, 2, 1, 22, 0, 0, 500000, tzinfo=UTC)
    assert run.details == "  kept as sent  "


def test_validate_item_reports_every_field_error():
    _, errors = ingest.validate_item({"status": "x", "colour": "red"}, now=datetime(2025, 3, 1, tzinfo=UTC))

    assert {field for field, _ in errors} == {
        "colour",
        "customer",
        "job",
        "external_id",
        "status",
        "started_at",
    }


def test_future_limit_is_one_day_of_clock_skew():
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    ok, _ = ingest.validate_item(item(1, started_at="2025-03-02T11:59:00Z"), now=now)
    _, errors = ingest.validate_item(item(1, started_at="2025-03-02T12:01:00Z"), now=now)

    assert ok is not None
    assert errors == [("started_at", "Timestamp is more than one day in the future.")]


def test_validation_error_lists_labels_given(acme):
    with pytest.raises(ingest.IngestValidationError) as excinfo:
        ingest.validate_runs([item(1), item(1)], labels=[10, 12], label_name="line")

    assert [e.as_dict() for e in excinfo.value.errors] == [
        {"index": 12, "field": "external_id", "message": "Same customer, job and external_id as line 10."}
    ]
