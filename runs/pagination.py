"""A paginator for lists that grow without bound: its COUNT is lean and capped.

Django's Paginator counts the very queryset it pages through — with that queryset's joins and annotations —
on every page view. `LeanPaginator` counts a separate, lean queryset (the same rows without joins and
annotations, served by an index alone) and stops counting at `count_limit`: past it the list says
"10,000+" and offers that many pages, so a page view costs the same whatever the table holds.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

#: counting stops here (a page view reads at most this many index entries to count)
COUNT_LIMIT = 10_000


class LeanPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count_queryset=None, count_limit=COUNT_LIMIT, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset
        self.count_limit = count_limit

    @cached_property
    def count(self):
        """The number of rows, at most `count_limit` (see `capped`). One query."""
        queryset = self.count_queryset if self.count_queryset is not None else self.object_list
        if self.count_limit is None:
            return queryset.count()
        # COUNT over a LIMITed subquery: reads at most count_limit + 1 index entries
        return min(queryset.order_by()[: self.count_limit + 1].count(), self.count_limit + 1)

    @property
    def capped(self):
        """True when there are more rows than `count_limit` (then `count` is count_limit + 1)."""
        return self.count_limit is not None and self.count > self.count_limit

    @property
    def count_text(self):
        """The count for people: "1,234", or "10,000+" when capped."""
        if self.capped:
            return f"{self.count_limit:,}+"
        return f"{self.count:,}"


class AdminLeanPaginator(LeanPaginator):
    """For a ModelAdmin's `paginator`: counts the filtered changelist up to COUNT_LIMIT. Pair it with
    `show_full_result_count = False` and a `pagination.html` that shows `cl.paginator.count_text`."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True):
        super().__init__(
            object_list, per_page, orphans=orphans, allow_empty_first_page=allow_empty_first_page
        )
