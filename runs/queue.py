"""The review queue behind Run Checks: its filters, sort orders, "next run" and the group-by-job view.

The queue is `Run.objects.needing_review()` narrowed by `RunChecksFilterForm`. Its state travels in the
query string (QUEUE_PARAMS), so the run detail page can offer "Mark reviewed and next" and a way back to
the list with the same filters, sort and grouping. Every function here runs a fixed number of queries.
"""

from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, Max, OuterRef, Q, Subquery, Value, When
from django.http import QueryDict

from .forms import RunChecksFilterForm
from .models import BackupJob, Run, RunStatus

#: GET parameters that describe the queue (the filter form's fields, sort, grouping)
QUEUE_PARAMS = ("customer", "customer_name", "status", "date_from", "date_to", "q", "sort", "group")

#: worst first: error, missed, warning (success never needs review)
SEVERITY = {RunStatus.ERROR: 3, RunStatus.MISSED: 2, RunStatus.WARNING: 1, RunStatus.SUCCESS: 0}
STATUS_BY_SEVERITY = {rank: status for status, rank in SEVERITY.items()}


def severity(field="status"):
    return Case(
        *(When(**{field: status}, then=Value(rank)) for status, rank in SEVERITY.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


@dataclass(frozen=True)
class SortColumn:
    label: str
    #: annotation/field names of the total order, each (name, descending) — the first is the column itself
    keys: tuple
    #: the same order for job groups
    group_keys: tuple
    #: what people see the default order as (aria-sort, ▼/▲); None: the direction of the first key
    shown_descending: bool | None = None

    @property
    def descending(self):
        return self.keys[0][1] if self.shown_descending is None else self.shown_descending


SORT_COLUMNS = {
    "started": SortColumn(
        "newest first",
        (("started_at", True), ("id", True)),
        (("newest_started", True), ("job_id", True)),
    ),
    # "Worst status first" is the status column A–Z: error < missed < warning sorts exactly like severity
    # 3, 2, 1 (success is never in the queue), so run_review_by_status_idx serves the page in order instead of
    # a sort of the whole queue by a CASE (tests/unit/test_run_indexes.py checks both).
    "status": SortColumn(
        "worst status first",
        (("status", False), ("started_at", True), ("id", True)),
        (("worst", True), ("newest_started", True), ("job_id", True)),
        shown_descending=True,
    ),
    "customer": SortColumn(
        "customer A–Z",
        (("customer_name", False), ("started_at", True), ("id", True)),
        (("customer_name", False), ("job_name", False), ("job_id", True)),
    ),
}
DEFAULT_SORT = "started"


def parse_sort(value):
    """`sort=status` → ("status", False); `sort=-status` (the reverse) → ("status", True); unknown → default."""
    value = (value or "").strip()
    reverse = value.startswith("-")
    column = value.lstrip("-")
    if column not in SORT_COLUMNS:
        return DEFAULT_SORT, False
    return column, reverse


def _order(keys, reverse):
    """`keys` with the first key's direction flipped when `reverse`; returns [(name, descending)]."""
    keys = list(keys)
    if reverse:
        name, descending = keys[0]
        keys[0] = (name, not descending)
    return keys


def _order_by(keys):
    return [F(name).desc() if descending else F(name).asc() for name, descending in keys]


class Queue:
    """The review queue described by a query string (a QueryDict, e.g. request.GET)."""

    def __init__(self, params):
        self.params = params
        self.form = RunChecksFilterForm(params or None)
        if self.form.is_bound:
            self.form.is_valid()  # invalid fields are shown and ignored; the valid ones still filter
        self.sort, self.reverse = parse_sort(params.get("sort"))
        self.grouped = params.get("group") == "job"

    @classmethod
    def from_query_string(cls, query_string):
        return cls(QueryDict(query_string or ""))

    @property
    def query_string(self):
        """The queue's parameters only (no page), for links that must keep it."""
        kept = QueryDict(mutable=True)
        for name in QUEUE_PARAMS:
            values = [v for v in self.params.getlist(name) if v]
            if values:
                kept.setlist(name, values)
        return kept.urlencode()

    def runs(self):
        """The filtered queue with the sort annotations, in the chosen order (not evaluated)."""
        runs = self.form.filter(Run.objects.needing_review())
        runs = runs.annotate(customer_name=F("job__customer__name"))
        return runs.order_by(*_order_by(self._keys()))

    def _keys(self):
        return _order(SORT_COLUMNS[self.sort].keys, self.reverse)

    def next_after(self, run):
        """The run that follows `run` in this queue (`run` itself need not be in it any more), else the
        first of the queue, else None. Two queries."""
        keys = self._keys()
        current = (
            Run.objects.filter(pk=run.pk)
            .annotate(customer_name=F("job__customer__name"))
            .values(*(name for name, _ in keys))
            .first()
        )
        queue = self.runs().exclude(pk=run.pk)
        if current is None:
            return queue.first()
        after, equal = Q(), Q()
        conditions = []
        for name, descending in keys:
            beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": current[name]})
            conditions.append(equal & beyond)
            equal &= Q(**{name: current[name]})
        for condition in conditions:
            after |= condition
        return queue.filter(after).first() or queue.first()

    def count_queryset(self):
        """The queue's runs without joins or annotations (filters only): what Run Checks counts."""
        return self.form.filter(Run.objects.needing_review())

    def groups(self):
        """One row per job with runs in the queue: job_id, run_count, worst (severity), newest_started, max_id.

        `max_id` bounds what "review this group" marks, so a run that arrives after the page was shown
        is not reviewed unseen. The job's and customer's names and the newest run of each shown group come
        from `add_newest_runs` (one query for the page).

        Cost: one pass over the filtered review queue through `run_review_by_job_idx`, grouped by job_id
        alone in that index's order (no join per run; the names join per group only when sorting by
        customer) — linear in the queue, never in the run history. See docs/performance.md §3.
        """
        filtered = self.form.filter(Run.objects.needing_review())
        groups = (
            filtered.order_by()
            .values("job_id")
            .annotate(
                run_count=Count("pk"),
                worst=Max(severity()),
                newest_started=Max("started_at"),
                max_id=Max("pk"),
            )
        )
        if self.sort == "customer":
            groups = groups.annotate(customer_name=F("job__customer__name"), job_name=F("job__name"))
        keys = _order(SORT_COLUMNS[self.sort].group_keys, self.reverse)
        return groups.order_by(*_order_by(keys))

    def group_count_queryset(self):
        """The jobs with runs in the queue (ids only): what the group-by-job view counts."""
        return self.count_queryset().order_by().values("job_id").distinct()

    def add_newest_runs(self, groups):
        """Set `job_name`, `customer_id`, `customer_name`, `newest_id` and `newest_summary` (the newest run in
        the queue) on each of `groups` (the shown page): one query for the page, rather than joins and two
        subqueries for every group of the whole queue."""
        if not groups:
            return groups
        newest = (
            self.form.filter(Run.objects.needing_review())
            .filter(job_id=OuterRef("pk"))
            .order_by("-started_at", "-id")
        )
        rows = {
            row["pk"]: row
            for row in BackupJob.objects.filter(pk__in=[group["job_id"] for group in groups])
            .annotate(
                newest_id=Subquery(newest.values("pk")[:1]),
                newest_summary=Subquery(newest.values("summary")[:1]),
            )
            .values("pk", "name", "customer_id", "customer__name", "newest_id", "newest_summary")
        }
        for group in groups:
            row = rows.get(group["job_id"], {})
            group["job_name"] = row.get("name")
            group["customer_id"] = row.get("customer_id")
            group["customer_name"] = row.get("customer__name")
            group["newest_id"] = row.get("newest_id")
            group["newest_summary"] = row.get("newest_summary")
        return groups

    def runs_of_groups(self, bounds):
        """Ids of the queue's runs in the given groups: {job_id: max_id} (see `groups`)."""
        if not bounds:
            return []
        condition = Q()
        for job_id, max_id in bounds.items():
            condition |= Q(job_id=job_id, pk__lte=max_id)
        return list(
            self.form.filter(Run.objects.needing_review()).filter(condition).values_list("pk", flat=True)
        )

    def sort_links(self):
        """{column: {"query", "active", "direction"}} for the sortable column headers (aria-sort words)."""
        links = {}
        for column in SORT_COLUMNS:
            active = column == self.sort
            params = QueryDict(self.query_string, mutable=True)
            params.pop("page", None)
            params["sort"] = f"-{column}" if active and not self.reverse else column
            descending = SORT_COLUMNS[column].descending != (active and self.reverse)
            links[column] = {
                "query": params.urlencode(),
                "active": active,
                "direction": "descending" if descending else "ascending",
            }
        return links

    def with_params(self, **changes):
        params = QueryDict(self.query_string, mutable=True)
        for name, value in changes.items():
            if value:
                params[name] = value
            else:
                params.pop(name, None)
        return params.urlencode()
