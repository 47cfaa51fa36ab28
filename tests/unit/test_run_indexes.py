"""The Run Checks query is served by an index on both databases, not by reading the whole run history."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, models
from django.http import QueryDict

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
#: every index of runs_run that holds the review queue only (NEEDS_REVIEW), however long the history
RUN_CHECKS_INDEXES = {"run_needs_review_idx", "run_review_by_job_idx", "run_review_by_status_idx"}


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


def _ask_which_index_can_serve(cursor, in_order):
    if connection.vendor == "postgresql":
        # Tiny test tables make a sequential scan the cheapest plan; ask whether an index *can* serve it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        if in_order:
            # ...and whether one can serve it *in page order*. Without these, the choice between the two
            # partial indexes (same rows) follows whatever statistics earlier tests left on runs_run: on
            # a 16-row estimate a bitmap scan of run_review_by_job_idx plus a sort is just as cheap.
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")


def _plan(queryset, *, in_order=False):
    with connection.cursor() as cursor:
        _ask_which_index_can_serve(cursor, in_order)
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


QUEUE_INDEXES = RUN_CHECKS_INDEXES

#: every filter of the Run Checks form, alone and combined with the status filter
FILTERS = {
    "none": "",
    "status": "status=error",
    "status + customer": "status=error&customer={customer}",
    "status + customer name": "status=warning&customer_name=acm",
    "status + dates": "status=error&date_from=2025-01-01&date_to=2025-03-09",
    "status + search": "status=error&q=image",
    "customer": "customer={customer}",
    "customer name": "customer_name=acm",
    "dates": "date_from=2025-01-01&date_to=2025-03-09",
    "search": "q=image",
}
#: every sort order of Run Checks (each reversed too)
SORTS = ["", "sort=-started", "sort=status", "sort=-status", "sort=customer", "sort=-customer"]

#: (filter, sort) pairs whose page an index reads in page order, stopping at a full page: no sort at all
IN_PAGE_ORDER = {
    ("none", ""),
    ("none", "sort=status"),
    ("status", ""),
    ("status", "sort=status"),
    ("status + dates", ""),
    ("status + search", ""),
    ("dates", ""),
    ("search", ""),
    ("search", "sort=status"),
}


@pytest.fixture
def long_history(db):
    """Three customers × two jobs, 1,200 runs of which 48 are in the review queue (4 %): a history 25× the
    queue, so reading any history index (run_status_started_idx, run_job_history_idx, run_started_idx) is
    the costlier plan on PostgreSQL's statistics of *this* data (ANALYZEd here, inside the test's
    transaction, so nothing another test left on runs_run decides the plan)."""
    jobs = [
        BackupJob.objects.create(customer=Customer.objects.get_or_create(name=name)[0], name=job)
        for name in ("Acme", "Bolt", "Crane")
        for job in ("Image", "Files")
    ]
    statuses = ["success", "success", "warning", "error", "missed", "success"]
    Run.objects.bulk_create(
        Run(
            job=jobs[k % len(jobs)],
            status=statuses[k % len(statuses)],
            started_at=T0 - timedelta(hours=k),
            summary=f"run {k}",
            reviewed_at=T0 if k >= 96 else None,
        )
        for k in range(1200)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE runs_run, runs_backupjob, customers_customer")
    return Customer.objects.get(name="Acme")


def _queue(query, customer):
    from runs.queue import Queue

    return Queue(QueryDict(query.format(customer=customer.pk)))


def _sql_plan(queryset, *, in_order=False):
    """EXPLAIN of `queryset`'s SQL as sent (bound parameters), with PostgreSQL asked which index *can*
    serve it (no sequential scan; with `in_order`, no bitmap scan and no sort either)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        _ask_which_index_can_serve(cursor, in_order)
        cursor.execute(f"EXPLAIN {'QUERY PLAN ' if connection.vendor == 'sqlite' else ''}{sql}", params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def _assert_reads_the_queue_only(plan):
    """Every read of runs_run goes through an index of the review queue: no history index, no full scan."""
    used = set(re.findall(r"\bruns?_\w+(?:_idx|_pkey|_per_job|_[0-9a-f]{8})\b", plan)) - {"runs_run"}
    run_indexes = {name for name in used if name.startswith(("run_", "runs_run_"))}
    assert run_indexes, plan
    assert run_indexes <= QUEUE_INDEXES, plan
    if connection.vendor == "sqlite":
        for line in plan.splitlines():
            if re.search(r"\bruns_run\b", line):
                assert set(re.findall(r"run_\w+_idx", line)) & QUEUE_INDEXES, plan
    else:
        assert "Seq Scan on runs_run" not in plan, plan


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("name", FILTERS)
def test_every_run_checks_filter_and_sort_reads_the_review_queue_only(long_history, name, sort):
    queue = _queue("&".join(part for part in (FILTERS[name], sort) if part), long_history)
    assert not queue.form.errors, queue.form.errors

    # the page (as the view sends it) and its capped count (runs.pagination.LeanPaginator)
    page = queue.runs().select_related("job__customer")[:50]
    _assert_reads_the_queue_only(_sql_plan(page))
    _assert_reads_the_queue_only(_sql_plan(queue.count_queryset().order_by()[:10_001].values("pk")))
    if (name, sort) in IN_PAGE_ORDER:
        plan = _sql_plan(page, in_order=True)
        # read in page order, stopping at a full page: no sort of the (filtered) queue
        assert "TEMP B-TREE" not in plan if connection.vendor == "sqlite" else "Sort" not in plan, plan
        _assert_reads_the_queue_only(plan)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("name", FILTERS)
def test_every_grouped_view_reads_the_review_queue_only(long_history, name, sort):
    queue = _queue("&".join(part for part in (FILTERS[name], sort, "group=job") if part), long_history)

    _assert_reads_the_queue_only(_sql_plan(queue.groups()[:50]))
    _assert_reads_the_queue_only(_sql_plan(queue.group_count_queryset()[:10_001]))


def test_the_grouped_aggregate_joins_no_job_or_customer_per_run(long_history):
    """Sorted by newest run or worst status, the groups are aggregated from the runs alone (by job_id, in
    run_review_by_job_idx's order): job and customer names are read for the page's groups only."""
    sql = str(_queue("group=job", long_history).groups().query)
    assert "runs_backupjob" not in sql and "customers_customer" not in sql, sql
    assert "customers_customer" not in str(_queue("group=job&sort=status", long_history).groups().query)
    if connection.vendor == "sqlite":
        # grouped in the index's order: no temporary B-tree for the GROUP BY
        assert "FOR GROUP BY" not in _sql_plan(_queue("group=job", long_history).groups()[:50])


def test_worst_status_first_is_the_status_column_in_ascending_order():
    """Sorting runs by `status` A–Z (what run_review_by_status_idx serves) is the severity order, worst
    first, for every status that can be in the queue."""
    from runs.models import ATTENTION_STATUSES
    from runs.queue import SEVERITY

    assert sorted(ATTENTION_STATUSES) == sorted(ATTENTION_STATUSES, key=lambda s: -SEVERITY[s])


def test_needing_review_is_exactly_the_unreviewed_attention_runs(history):
    expected = {
        run.pk
        for run in Run.objects.all()
        if run.status in {"warning", "error", "missed"} and not run.reviewed_at
    }
    assert set(Run.objects.needing_review().values_list("pk", flat=True)) == expected
    assert len(expected) == 20
