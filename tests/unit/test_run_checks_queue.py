"""Run Checks as a work queue (issue 13, item 10): sortable columns, "Mark reviewed and next" with the same
filters and a way back, and the group-by-job view whose review marks every run of the group."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

from .test_query_counts import add_data, count_queries

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def make_run(customer, job_name, status, hours_ago, **extra):
    customer, _ = Customer.objects.get_or_create(name=customer)
    job, _ = BackupJob.objects.get_or_create(customer=customer, name=job_name)
    return Run.objects.create(job=job, status=status, started_at=T0 - timedelta(hours=hours_ago), **extra)


@pytest.fixture
def queue(db):
    """Five runs needing review (and one success): newest first they are a b c d e."""
    return {
        "a": make_run("Zeta", "Files", "warning", 1),
        "b": make_run("Acme", "Nightly", "error", 2),
        "c": make_run("Mid", "Mail", "missed", 3),
        "d": make_run("Acme", "Nightly", "error", 4),
        "e": make_run("Acme", "Nightly", "warning", 5),
        "ok": make_run("Acme", "Nightly", "success", 6),
    }


def listed(client, query=""):
    response = client.get(reverse("runs:run_checks") + query)
    assert response.status_code == 200
    return [run.pk for run in response.context["runs"]]


def names(queue, *keys):
    return [queue[key].pk for key in keys]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", "abcde"),
        ("?sort=started", "abcde"),
        ("?sort=-started", "edcba"),
        ("?sort=status", "bdcae"),  # worst first (error, missed, warning), newest first within
        ("?sort=-status", "aecbd"),
        ("?sort=customer", "bdeca"),  # A–Z, newest first within
        ("?sort=-customer", "acbde"),
        ("?sort=nonsense", "abcde"),
    ],
)
def test_columns_sort(viewer_client, queue, sort, expected):
    assert listed(viewer_client, sort) == names(queue, *expected)


def test_sort_headers_link_and_keep_filters(viewer_client, queue):
    content = viewer_client.get(reverse("runs:run_checks") + "?status=error&sort=status").content.decode()
    assert 'aria-sort="descending"' in content
    assert 'href="?status=error&amp;sort=-status"' in content  # the active column reverses
    assert 'href="?status=error&amp;sort=customer"' in content


def test_run_links_carry_the_list_and_the_detail_page_links_back(operator_client, queue):
    query = "status=error&sort=customer"
    content = operator_client.get(reverse("runs:run_checks") + "?" + query).content.decode()
    assert f'href="/runs/{queue["b"].pk}/?{query.replace("&", "&amp;")}"' in content
    detail = operator_client.get(f"/runs/{queue['b'].pk}/?{query}&page=2").content.decode()
    assert f'id="back-to-checks" href="/?{query.replace("&", "&amp;")}"' in detail
    assert "Mark reviewed and next" in detail
    assert f'name="queue" value="{query.replace("&", "&amp;")}"' in detail


def review_and_next(client, run, queue_query):
    return client.post(
        reverse("runs:run_review", args=[run.pk]), {"reviewed": "1", "and_next": "1", "queue": queue_query}
    )


def test_mark_reviewed_and_next_follows_the_list_order_and_filters(operator_client, queue):
    # sorted by status: b d c a e; opened c (third) → next is a, with the same list
    response = review_and_next(operator_client, queue["c"], "sort=status")
    assert response["Location"] == f"/runs/{queue['a'].pk}/?sort=status"
    queue["c"].refresh_from_db()
    assert queue["c"].reviewed_at is not None

    # filtered to errors: b d; reviewing d (the last) wraps to the first left, b
    response = review_and_next(operator_client, queue["d"], "status=error")
    assert response["Location"] == f"/runs/{queue['b'].pk}/?status=error"

    # reviewing the last error: back to the list, with its filters
    response = review_and_next(operator_client, queue["b"], "status=error")
    assert response["Location"] == "/?status=error"


def test_mark_reviewed_without_next_stays_on_the_run_and_keeps_the_list(operator_client, queue):
    response = operator_client.post(
        reverse("runs:run_review", args=[queue["b"].pk]), {"reviewed": "1", "queue": "status=error"}
    )
    assert response["Location"] == f"/runs/{queue['b'].pk}/?status=error"


def test_and_next_needs_the_review_permission(viewer_client, queue):
    assert review_and_next(viewer_client, queue["b"], "").status_code == 403
    queue["b"].refresh_from_db()
    assert queue["b"].reviewed_at is None


def test_group_by_job_collapses_a_jobs_runs(viewer_client, queue):
    response = viewer_client.get(reverse("runs:run_checks") + "?group=job")
    groups = response.context["groups"]
    nightly = next(g for g in groups if g["job_name"] == "Nightly")
    assert (nightly["run_count"], nightly["worst_status"], nightly["newest_id"]) == (
        3,
        "error",
        queue["b"].pk,
    )
    assert [g["job_name"] for g in groups] == ["Files", "Nightly", "Mail"]  # by newest run
    # names come for the shown groups only (Queue.add_newest_runs), not from the aggregate
    assert [(g["customer_name"], g["customer_id"]) for g in groups] == [
        (name, Customer.objects.get(name=name).pk) for name in ("Zeta", "Acme", "Mid")
    ]
    assert "Zeta" in response.content.decode()
    content = response.content.decode()
    assert "3 jobs with runs to review" in content
    assert response.context["runs"] == []


def test_group_view_sorts_by_worst_status_and_customer(viewer_client, queue):
    def order(query):
        return [
            g["job_name"] for g in viewer_client.get(reverse("runs:run_checks") + query).context["groups"]
        ]

    assert order("?group=job&sort=status") == ["Nightly", "Mail", "Files"]
    assert order("?group=job&sort=customer") == ["Nightly", "Mail", "Files"]  # Acme, Mid, Zeta
    assert order("?group=job&sort=-customer") == ["Files", "Mail", "Nightly"]


def test_reviewing_a_group_reviews_all_its_runs_under_the_filters(operator_client, operator, queue):
    nightly = queue["b"].job
    max_id = max(queue[k].pk for k in "bde")
    # a run that arrives after the page was shown is not reviewed unseen
    late = make_run("Acme", "Nightly", "error", 7)
    response = operator_client.post(
        reverse("runs:review_groups"),
        {"groups": [f"{nightly.pk}:{max_id}"], "queue": "group=job&status=error", "next": "/?group=job"},
    )
    assert response.status_code == 302 and response["Location"] == "/?group=job"
    reviewed = set(Run.objects.filter(reviewed_by=operator).values_list("pk", flat=True))
    assert reviewed == {queue["b"].pk, queue["d"].pk}  # errors only: e (a warning) is outside the filter
    late.refresh_from_db()
    assert late.reviewed_at is None


@pytest.mark.parametrize("bad", [["x"], ["1"], ["1:abc"], [f"1:{2**63}"], []])
def test_group_review_refuses_bad_selections(operator_client, queue, bad):
    response = operator_client.post(reverse("runs:review_groups"), {"groups": bad})
    assert response.status_code == 302
    assert not Run.objects.filter(reviewed_at__isnull=False).exists()


def test_group_review_needs_the_permission(viewer_client, queue):
    response = viewer_client.post(reverse("runs:review_groups"), {"groups": [f"{queue['b'].job_id}:999"]})
    assert response.status_code == 403


@pytest.mark.parametrize("query", ["?group=job", "?group=job&sort=status", "?sort=customer", "?sort=-status"])
def test_sorted_and_grouped_views_use_a_constant_number_of_queries(operator_client, query):
    url = reverse("runs:run_checks") + query
    add_data(n_customers=2, jobs_per_customer=2, runs_per_job=25)
    small, _ = count_queries(operator_client, url)
    add_data(n_customers=30, jobs_per_customer=3, runs_per_job=40, offset=1000)
    large, response = count_queries(operator_client, url)
    assert large == small
    # as tests/unit/test_query_counts.py: 7 core queries + 2 of the Autotask ticket slots (grouped views
    # render no per-run slots and need fewer)
    assert small <= 9


def test_run_detail_with_a_list_uses_a_constant_number_of_queries(operator_client):
    add_data(n_customers=2, jobs_per_customer=2, runs_per_job=10)
    run = Run.objects.needing_review().first()
    url = reverse("runs:run_detail", args=[run.pk]) + "?sort=status&status=error"
    small, _ = count_queries(operator_client, url)
    add_data(n_customers=20, jobs_per_customer=3, runs_per_job=20, offset=1000)
    large, _ = count_queries(operator_client, url)
    assert large == small


@pytest.mark.parametrize(
    ("query", "shown", "target"),
    [
        ("", False, None),
        ("group=job", False, None),  # hbreak2: "Clear" next to an empty filter row in the group view
        ("sort=-status", False, None),
        ("status=error", True, 'href="/"'),
        ("status=error&group=job", True, 'href="/?group=job"'),  # clears the filters, keeps the view
        ("status=bogus", True, 'href="/"'),  # an invalid filter can be cleared too
    ],
)
def test_clear_is_offered_only_when_there_is_a_filter_to_clear(viewer_client, queue, query, shown, target):
    content = viewer_client.get(reverse("runs:run_checks") + "?" + query).content.decode()
    assert ('id="clear-filters"' in content) is shown
    if shown:
        assert f'id="clear-filters" {target}' in content
