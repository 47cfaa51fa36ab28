"""Run Checks' "all N runs matching the filter" box serves Mark reviewed too (it sat in the Mark-reviewed form,
which ignored it): ticked, every run of the posted filter is reviewed — server-side, capped — in the list and
in the group-by-job view; unticked, only the checked rows are."""

import pytest
from django.urls import reverse

from runs import forms, views
from runs.models import Run

from .test_run_checks_queue import make_run


@pytest.fixture
def queue(db):
    """Four errors of two jobs, one warning, one success."""
    return {
        "e1": make_run("Acme", "Nightly", "error", 1),
        "e2": make_run("Acme", "Nightly", "error", 2),
        "e3": make_run("Zeta", "Mail", "error", 3),
        "e4": make_run("Zeta", "Mail", "error", 4),
        "w": make_run("Zeta", "Files", "warning", 5),
        "ok": make_run("Acme", "Nightly", "success", 6),
    }


def reviewed():
    return set(Run.objects.filter(reviewed_at__isnull=False).values_list("pk", flat=True))


def pks(queue, *keys):
    return {queue[key].pk for key in keys}


@pytest.mark.parametrize("url_name", ["runs:review_runs", "runs:review_groups"])
def test_all_matching_reviews_every_run_of_the_filter_not_the_checked_ones(operator_client, queue, url_name):
    checked = (
        {"runs": [queue["w"].pk]}
        if url_name == "runs:review_runs"
        else {"groups": [f"{queue['w'].job_id}:{queue['w'].pk}"]}
    )
    response = operator_client.post(
        reverse(url_name),
        {**checked, "select_all_matching": "1", "queue": "status=error", "next": "/?status=error"},
        follow=True,
    )
    assert reviewed() == pks(queue, "e1", "e2", "e3", "e4")  # the checked warning is outside the filter
    assert "Marked 4 runs reviewed: all runs matching the filter." in response.content.decode()


def test_without_the_box_only_the_checked_runs_are_reviewed(operator_client, queue):
    operator_client.post(reverse("runs:review_runs"), {"runs": [queue["e1"].pk], "queue": "status=error"})
    assert reviewed() == pks(queue, "e1")


def test_all_matching_is_capped_with_a_message(operator_client, queue, monkeypatch):
    monkeypatch.setattr(views, "MAX_REVIEW_ALL_MATCHING", 3)
    monkeypatch.setattr(views.matching_run_ids, "__defaults__", (3,))
    response = operator_client.post(
        reverse("runs:review_runs"), {"select_all_matching": "1", "queue": ""}, follow=True
    )
    # newest first (the list's order): e1 e2 e3; e4 and the warning stay for the next press
    assert reviewed() == pks(queue, "e1", "e2", "e3")
    html = response.content.decode()
    assert "5 runs match the filter; Mark reviewed takes at most 3 at a time" in html


def test_all_matching_with_nothing_left_says_so(operator_client, queue):
    response = operator_client.post(
        reverse("runs:review_runs"),
        {"select_all_matching": "1", "queue": "customer_name=Nobody"},
        follow=True,
    )
    assert reviewed() == set()
    assert (
        "No run matching the filter needs review any more. Nothing was changed." in response.content.decode()
    )


def test_all_matching_needs_the_review_permission(viewer_client, queue):
    response = viewer_client.post(reverse("runs:review_runs"), {"select_all_matching": "1", "queue": ""})
    assert response.status_code == 403 and reviewed() == set()


@pytest.mark.parametrize("query", ["", "?group=job"])
def test_the_box_sits_with_mark_reviewed_and_shows_the_count(operator_client, viewer_client, queue, query):
    html = operator_client.get(reverse("runs:run_checks") + query).content.decode()
    box = html.index('id="select-all-matching"')
    assert html.index('id="mark-reviewed"') < box  # inside the review form, right under its button
    if query:
        assert "every run of all 3 jobs matching the filter (at most 1,000 runs)" in html
    else:
        assert "all 5 runs matching the filter, not only the checked ones" in html
    assert (
        'id="select-all-matching"'
        not in viewer_client.get(reverse("runs:run_checks") + query).content.decode()
    )


def test_the_cap_is_the_autotask_bulk_cap():
    """One box serves Mark reviewed and the Autotask bulk actions; its label names one cap."""
    from integrations.autotask.services.bulk import MAX_BULK_RUNS

    assert forms.MAX_REVIEW_ALL_MATCHING == MAX_BULK_RUNS
