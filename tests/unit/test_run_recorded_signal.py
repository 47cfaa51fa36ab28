"""run_recorded: sent on commit, once per created run, with sender=Run, run and source."""

import json
import logging

import pytest
from django.db import transaction
from django.urls import reverse

from customers.models import Customer
from runs.ingest import IngestValidationError, ingest_runs
from runs.models import IngestToken, Run
from runs.signals import run_recorded


@pytest.fixture
def recorded():
    calls = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    run_recorded.connect(receiver, dispatch_uid="test-run-recorded")
    yield calls
    run_recorded.disconnect(dispatch_uid="test-run-recorded")


@pytest.fixture
def acme(db):
    return Customer.objects.create(name="Acme")


def item(n, **overrides):
    return {
        "customer": "Acme",
        "job": "Nightly",
        "started_at": "2025-02-01T22:00:00Z",
        "status": "error",
        "external_id": f"id-{n}",
        **overrides,
    }


def test_sent_once_per_created_run_after_commit(acme, recorded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = ingest_runs([item(1), item(2)], source="import")
        assert recorded == []  # nothing before the commit

    assert len(callbacks) == 2
    runs = [outcome.run for outcome in result.outcomes]
    assert recorded == [
        {"sender": Run, "signal": run_recorded, "run": runs[0], "source": "import"},
        {"sender": Run, "signal": run_recorded, "run": runs[1], "source": "import"},
    ]
    assert all(call["run"].pk is not None for call in recorded)


def test_not_sent_for_already_present_runs(acme, recorded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ingest_runs([item(1)], source="import")
    recorded.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_runs([item(1), item(2)], source="import")

    assert [call["run"].source_external_id for call in recorded] == ["id-2"]
    assert [outcome.created for outcome in result.outcomes] == [False, True]


def test_not_sent_when_the_outer_transaction_rolls_back(acme, recorded, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        ingest_runs([item(1)], source="import")
        raise RuntimeError("caller fails after ingesting")

    assert callbacks == []
    assert recorded == []
    assert Run.objects.count() == 0


def test_not_sent_for_invalid_batch(acme, recorded, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(IngestValidationError),
    ):
        ingest_runs([item(1), item(2, status="bogus")], source="import")

    assert callbacks == []
    assert recorded == []


def test_api_sends_with_source_api(acme, client, recorded, django_capture_on_commit_callbacks):
    _, raw = IngestToken.issue("signal test")
    body = json.dumps([item(1), item(2)])
    headers = {"Authorization": f"Bearer {raw}"}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:runs_ingest"), body, content_type="application/json", headers=headers
        )
    assert response.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            reverse("api:runs_ingest"), body, content_type="application/json", headers=headers
        )
    assert again.status_code == 200

    assert [(call["sender"], call["source"]) for call in recorded] == [(Run, "api"), (Run, "api")]
    assert sorted(call["run"].pk for call in recorded) == sorted(r["id"] for r in response.json()["runs"])


def test_failing_receiver_is_logged_and_does_not_stop_others(
    acme, recorded, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, **kwargs):
        raise ValueError("receiver bug")

    run_recorded.connect(broken, dispatch_uid="test-broken-receiver")
    try:
        with (
            caplog.at_level(logging.ERROR, logger="runs.ingest"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            ingest_runs([item(1), item(2)], source="import")
    finally:
        run_recorded.disconnect(dispatch_uid="test-broken-receiver")

    assert len(recorded) == 2
    assert Run.objects.count() == 2
    assert sum("run_recorded receiver" in record.getMessage() for record in caplog.records) == 2
