"""The Autotask REST query language (docs/autotask-api.md §4): parsing, validation and evaluation of filters."""

import contextlib
from datetime import UTC, datetime

MAX_PAGE_SIZE = 500
OR_LIMIT_MESSAGE = "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
UDF_LIMIT_MESSAGE = "You can only query by one user-defined field at a time."

COMPARISON_OPS = {"eq", "noteq", "gt", "gte", "lt", "lte", "beginswith", "endswith", "contains"}
EXISTENCE_OPS = {"exist", "notexist"}
LIST_OPS = {"in", "notin"}
GROUP_OPS = {"and", "or"}


class QueryError(Exception):
    """A query Autotask would reject with HTTP 500 and this text in `errors`."""


def or_conditions(filters):
    """The "OR" conditions Autotask counts against its 500-per-query limit: every `in`/`notIn` value and
    every `or` item, at any depth. The client counts the same way (`client.or_conditions`)."""
    total = 0
    for item in filters or ():
        if not isinstance(item, dict):
            continue
        op = str(ci_get(item, "op", "")).lower()
        if op in LIST_OPS:
            values = ci_get(item, "value")
            total += len(values) if isinstance(values, list) else 0
        elif op in GROUP_OPS:
            items = ci_get(item, "items")
            items = items if isinstance(items, list) else []
            if op == "or":
                total += len(items)
            total += or_conditions(items)
    return total


def ci_get(mapping, key, default=None):
    """Look up a JSON key case-insensitively (`filter`/`Filter`, `MaxRecords`/`maxRecords`)."""
    if not isinstance(mapping, dict):
        return default
    lowered = key.lower()
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return default


class Query:
    """A validated query body: filters, page size and included fields."""

    def __init__(
        self,
        body,
        entity,
        *,
        require_filter=True,
        max_or=500,
        strict_booleans=False,
        case_insensitive_strings=True,
        strict_operators=False,
    ):
        if not isinstance(body, dict):
            raise QueryError("The query body must be a JSON object.")
        self.entity = entity
        self._list_values = {}  # id(filter item) -> its coerced `in`/`notIn` values (a set when hashable)
        self.strict_booleans = strict_booleans
        self.strict_operators = strict_operators
        self.fold = str.lower if case_insensitive_strings else str
        filters = ci_get(body, "filter")
        if filters is None:
            filters = []
        if isinstance(filters, dict):
            filters = [filters]
        if not isinstance(filters, list):
            raise QueryError("Filter must be an array of filter conditions.")
        if require_filter and not filters:
            raise QueryError("A query must contain at least one filter condition.")
        self.filters = filters
        max_records = ci_get(body, "maxRecords")
        if max_records is None:
            self.page_size = MAX_PAGE_SIZE
        else:
            if isinstance(max_records, bool) or not isinstance(max_records, int):
                raise QueryError("MaxRecords must be an integer between 1 and 500.")
            if not 1 <= max_records <= MAX_PAGE_SIZE:
                raise QueryError("MaxRecords must be between 1 and 500.")
            self.page_size = max_records
        include = ci_get(body, "includeFields") or []
        if not isinstance(include, list):
            raise QueryError("IncludeFields must be an array of field names.")
        self.include_fields = []
        for name in include:
            field = entity.field(name)
            if field is not None and field.name not in self.include_fields:
                self.include_fields.append(field.name)
        self._udf_count = 0
        for item in filters:
            self._validate(item)
        if self._udf_count > 1:
            raise QueryError(UDF_LIMIT_MESSAGE)
        if or_conditions(filters) > max_or:
            raise QueryError(OR_LIMIT_MESSAGE)

    def _validate(self, item):
        if not isinstance(item, dict):
            raise QueryError("Each filter must be an object with an 'op'.")
        op = str(ci_get(item, "op", "")).lower()
        if op in GROUP_OPS:
            items = ci_get(item, "items")
            if not isinstance(items, list) or not items:
                raise QueryError(f"The '{op}' operator requires a non-empty items array.")
            for child in items:
                self._validate(child)
            return
        if op not in COMPARISON_OPS | EXISTENCE_OPS | LIST_OPS:
            if self.strict_operators:
                raise QueryError(f"Invalid operator '{ci_get(item, 'op', '')}'.")
            return  # live Autotask silently ignores the clause (see _match)
        name = ci_get(item, "field")
        if not name or not isinstance(name, str):
            raise QueryError(f"The '{op}' operator requires a field.")
        if ci_get(item, "udf") is True:
            self._udf_count += 1
        else:
            field = self.entity.field(name)
            if field is None:
                raise QueryError(f"Unable to find {name} in the {self.entity.name} entity.")
            if not field.queryable:
                raise QueryError(f"The field {field.name} is not queryable.")
        if op in LIST_OPS:
            values = ci_get(item, "value")
            if not isinstance(values, list):
                raise QueryError(f"The '{op}' operator requires an array value.")
        elif op in COMPARISON_OPS and "value" not in {k.lower() for k in item}:
            raise QueryError(f"The '{op}' operator requires a value.")

    def matches(self, record):
        return _all(self._match(item, record) for item in self.filters) is not False

    def _match(self, item, record):
        """True/False, or None for a clause that is ignored (unknown operator, as live Autotask does)."""
        op = str(ci_get(item, "op", "")).lower()
        if op == "and":
            return _all(self._match(child, record) for child in ci_get(item, "items"))
        if op == "or":
            results = [
                r for r in (self._match(child, record) for child in ci_get(item, "items")) if r is not None
            ]
            return any(results) if results else None
        if op not in COMPARISON_OPS | EXISTENCE_OPS | LIST_OPS:
            return None
        name = ci_get(item, "field")
        if ci_get(item, "udf") is True:
            data_type = "string"
            actual = None
            for udf in record.get("userDefinedFields") or []:
                if str(udf.get("name", "")).lower() == name.lower():
                    actual = udf.get("value")
        else:
            field = self.entity.field(name)
            data_type = field.data_type
            actual = record.get(field.name)
        if op == "exist":
            return actual is not None and actual != ""
        if op == "notexist":
            return actual is None or actual == ""
        value = ci_get(item, "value")
        if op in LIST_OPS:
            wanted = self._list_values.get(id(item))
            if wanted is None:  # coerced once per query, not once per record
                wanted = [_coerce(v, data_type, self.strict_booleans, self.fold) for v in value]
                with contextlib.suppress(TypeError):  # unhashable values stay a list
                    wanted = set(wanted)
                self._list_values[id(item)] = wanted
            hit = actual is not None and _norm(actual, data_type, self.fold) in wanted
            return hit if op == "in" else not hit
        wanted = _coerce(value, data_type, self.strict_booleans, self.fold)
        if actual is None:
            return op == "noteq" and wanted is not None
        have = _norm(actual, data_type, self.fold)
        if op == "eq":
            return have == wanted
        if op == "noteq":
            return have != wanted
        if op in ("beginswith", "endswith", "contains"):
            have, wanted = str(have), str(wanted)
            if op == "beginswith":
                return have.startswith(wanted)
            if op == "endswith":
                return have.endswith(wanted)
            return wanted in have
        if wanted is None:
            return False
        try:
            if op == "gt":
                return have > wanted
            if op == "gte":
                return have >= wanted
            if op == "lt":
                return have < wanted
            return have <= wanted
        except TypeError as exc:
            raise QueryError(f"Cannot compare {name} with {value!r}.") from exc

    def project(self, record, has_udfs):
        """Apply IncludeFields: `id` (and `userDefinedFields` where the entity has them) always stay."""
        if not self.include_fields:
            return dict(record)
        keep = {"id", *self.include_fields}
        out = {k: v for k, v in record.items() if k in keep}
        if has_udfs:
            out["userDefinedFields"] = record.get("userDefinedFields") or []
        return out


def _all(results):
    """AND over clause results, ignoring None (dropped clauses); None when every clause was dropped."""
    seen = [r for r in results if r is not None]
    return all(seen) if seen else None


def parse_datetime(value):
    """Parse Autotask datetimes; naive input is treated as UTC (docs/autotask-api.md §3)."""
    text = str(value).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _norm(value, data_type, fold=str.lower):
    """Normalise a stored value for comparison (strings compare case-insensitively unless `fold` is str)."""
    if value is None:
        return None
    if data_type == "string":
        return fold(str(value))
    if data_type == "datetime":
        return parse_datetime(value)
    return value


def _coerce(value, data_type, strict_booleans, fold=str.lower):
    """Turn a filter value into something comparable with a normalised stored value."""
    if value is None:
        return None
    try:
        if data_type in ("integer", "long", "short"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return int(value) if not isinstance(value, float) else value
        if data_type in ("decimal", "double"):
            return float(value)
        if data_type == "boolean":
            if isinstance(value, bool):
                return value
            if not strict_booleans and str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if data_type == "datetime":
            return parse_datetime(value)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"Invalid value {value!r} for a field of type {data_type}.") from exc
    return fold(str(value))
