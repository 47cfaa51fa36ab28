"""Integer lookups with values outside the column's range match nothing instead of crashing.

`GET /admin/runs/run/?id__in=1,99999999999999999999999` was a 500 (SQLite: "OverflowError: Python int too
large to convert to SQLite INTEGER") on every admin list — and on any view that passes a user's number to
the ORM. Django itself guards `exact`, `gt`, `gte`, `lt` and `lte` on integer fields
(`django.db.models.lookups.IntegerFieldOverflow`), but not `in`, and none of the lookups through a
foreign key (`?job=…`, `?job__id__in=…`, `?reviewed_by__gt=…`).

`register()` (called from `BackupchecksConfig.ready()`) adds the same guard to the whole family:

* `in` on integer fields: values outside the range are dropped (they cannot match); none left → no rows.
* `exact`, `in`, `gt`, `gte`, `lt`, `lte` through a single-column foreign key or one-to-one field, using
  the range of the column the key points at.

The result is what a bigger column would give: an empty (or, for `id__lt=<huge>`, full) result — never a
500, on SQLite as on PostgreSQL.
"""

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import Field, ForeignKey, IntegerField
from django.db.models.fields.related_lookups import (
    RelatedExact,
    RelatedGreaterThan,
    RelatedGreaterThanOrEqual,
    RelatedIn,
    RelatedLessThan,
    RelatedLessThanOrEqual,
)
from django.db.models.lookups import In, Range


def column_range(output_field, connection):
    """(min, max) of the integer column behind `output_field` on `connection`, or None if not an integer."""
    field = output_field
    while getattr(field, "target_field", None) is not None and field.target_field is not field:
        field = field.target_field  # a foreign key (possibly to another foreign key): the referenced column
    internal_type = field.get_internal_type()
    if internal_type not in connection.ops.integer_field_ranges:
        return None
    return connection.ops.integer_field_range(internal_type)


def _in_range(value, bounds):
    if bounds is None or not isinstance(value, int) or isinstance(value, bool):
        return True
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


class InRangeIn:
    """`in`: drop the values the column cannot hold (In raises EmptyResultSet when none are left)."""

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value() and not isinstance(self.lhs, tuple):
            bounds = column_range(self.lhs.output_field, connection)
            self.rhs = [value for value in self.rhs if _in_range(value, bounds)]
        return super().process_rhs(compiler, connection)


class InRangeComparison:
    """exact/gt/gte/lt/lte through a foreign key: like Django's IntegerFieldOverflow, on the target column."""

    underflow_exception = EmptyResultSet
    overflow_exception = EmptyResultSet

    def process_rhs(self, compiler, connection):
        if isinstance(self.rhs, int) and not isinstance(self.rhs, bool) and hasattr(self.lhs, "output_field"):
            bounds = column_range(self.lhs.output_field, connection)
            if bounds is not None:
                low, high = bounds
                if low is not None and self.rhs < low:
                    raise self.underflow_exception
                if high is not None and self.rhs > high:
                    raise self.overflow_exception
        return super().process_rhs(compiler, connection)


class IntegerFieldIn(InRangeIn, In):
    pass


class SafeRelatedIn(InRangeIn, RelatedIn):
    pass


class SafeRelatedExact(InRangeComparison, RelatedExact):
    pass


class SafeRelatedGreaterThan(InRangeComparison, RelatedGreaterThan):
    underflow_exception = FullResultSet


class SafeRelatedGreaterThanOrEqual(InRangeComparison, RelatedGreaterThanOrEqual):
    underflow_exception = FullResultSet


class SafeRelatedLessThan(InRangeComparison, RelatedLessThan):
    overflow_exception = FullResultSet


class SafeRelatedLessThanOrEqual(InRangeComparison, RelatedLessThanOrEqual):
    overflow_exception = FullResultSet


class TwoValueRange(Range):
    """`range` refuses anything but exactly two values when the filter is built (a ValueError, which the
    admin turns into its "invalid filter" redirect) — Django only found out while compiling the SQL, a 500:
    `/admin/auth/group/?id__range=` (no value), `?started_at__range=1` and `?id__range=1,2,3` alike."""

    def get_prep_lookup(self):
        if not hasattr(self.rhs, "resolve_expression") and (
            not isinstance(self.rhs, (list, tuple)) or len(self.rhs) != 2
        ):
            raise ValueError("A range filter needs exactly two values: from,to.")
        return super().get_prep_lookup()


def register():
    Field.register_lookup(TwoValueRange)
    IntegerField.register_lookup(IntegerFieldIn)
    for lookup in (
        SafeRelatedIn,
        SafeRelatedExact,
        SafeRelatedGreaterThan,
        SafeRelatedGreaterThanOrEqual,
        SafeRelatedLessThan,
        SafeRelatedLessThanOrEqual,
    ):
        ForeignKey.register_lookup(lookup)
