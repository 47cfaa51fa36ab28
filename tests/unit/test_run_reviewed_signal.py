"""`runs.signals.run_reviewed`: sent on commit, once per action, with the changed runs only."""

import logging
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run
from runs.signals import run_reviewed

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


@pytest.fixture
def received():
    calls = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    run_reviewed.connect(receiver, dispatch_uid="test_run_reviewed_receiver")
    yield calls
    run_reviewed.disconnect(dispatch_uid="test_run_reviewed_receiver")


@pytest.fixture
def runs(db):
    job = BackupJob.objects.create(customer=Customer.objects.create(name="Acme"), name="Image")
    return [Run.objects.create(job=job, status="error", started_at=T0.replace(hour=h)) for h in range(3)]


def test_bulk_review_sends_one_signal_with_all_changed_runs(
    operator_client, operator, runs, received, django_capture_on_commit_callbacks
):
    already = runs[2]
    Run.objects.filter(pk=already.pk).update(reviewed_by=operator, reviewed_at=T0)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        operator_client.post(reverse("runs:review_runs"), {"runs": [r.pk for r in runs]})

    assert len(callbacks) == 1
    assert len(received) == 1
    call = received[0]
    assert call["sender"] is Run
    assert call["user"] == operator
    assert call["reviewed"] is True
    assert sorted(r.pk for r in call["runs"]) == [runs[0].pk, runs[1].pk]  # not the already reviewed one
    assert all(r.reviewed_by == operator and r.reviewed_at is not None for r in call["runs"])


def test_signal_is_not_sent_before_commit(
    operator_client, runs, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        operator_client.post(reverse("runs:review_runs"), {"runs": [runs[0].pk]})
    assert received == []
    assert len(callbacks) == 1


def test_single_review_and_unreview_each_send_once(
    operator_client, operator, runs, received, django_capture_on_commit_callbacks
):
    url = reverse("runs:run_review", args=[runs[0].pk])
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(url, {"reviewed": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(url, {"reviewed": "0"})

    assert [(c["reviewed"], [r.pk for r in c["runs"]], c["user"]) for c in received] == [
        (True, [runs[0].pk], operator),
        (False, [runs[0].pk], operator),
    ]
    assert received[1]["runs"][0].reviewed_at is None


def test_no_signal_when_nothing_changes(operator_client, runs, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(
            reverse("runs:run_review", args=[runs[0].pk]), {"reviewed": "0"}
        )  # not reviewed yet
    assert received == []


def test_forbidden_review_sends_nothing(viewer_client, runs, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert viewer_client.post(reverse("runs:review_runs"), {"runs": [runs[0].pk]}).status_code == 403
    assert received == []


def test_failing_receiver_is_logged_and_the_review_still_succeeds(
    operator_client, runs, received, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, **kwargs):
        raise ValueError("receiver bug")

    # connected first, so the test receiver after it proves the others still run
    run_reviewed.connect(broken, dispatch_uid="test-broken-reviewed-receiver")
    run_reviewed.receivers.insert(0, run_reviewed.receivers.pop())
    run_reviewed.sender_receivers_cache.clear()
    try:
        with (
            caplog.at_level(logging.ERROR, logger="runs.views"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = operator_client.post(reverse("runs:review_runs"), {"runs": [runs[0].pk]})
    finally:
        run_reviewed.disconnect(dispatch_uid="test-broken-reviewed-receiver")

    assert response.status_code == 302
    assert Run.objects.get(pk=runs[0].pk).reviewed_at is not None
    assert len(received) == 1
    failures = [r for r in caplog.records if "run_reviewed receiver" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info[0] is ValueError
