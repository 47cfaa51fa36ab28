"""AutotaskClient: the only code in Backupchecks that speaks HTTP to the Autotask PSA REST API (v1.0).

Thin by design: one short method per API call, and every failure goes through one choke point,
``_request()``, which turns transport failures and HTTP statuses into the typed errors of
``integrations.autotask.exceptions``. The API facts the code relies on (and their sources and open
questions) are in ``docs/autotask-api.md``; section numbers (§) below refer to it.

Contracts
- Reads (GET, and POST to ``…/query``, ``…/query/count``, ``…/query/next``) are retried up to
  ``max_attempts`` times with exponential backoff + jitter on connection errors, 5xx without an Autotask
  error body, 429 and the thread-threshold error (``Itgenatr005``). The hourly threshold is not retried.
- Writes (``create``, ``create_child``, ``update``) are sent exactly once. Autotask has no idempotency
  keys (§12): a retried create makes a second ticket. A failure that may have been applied anyway has
  ``err.ambiguous = True``.
- Every logical call (one API call with its retries, its 401 re-discovery and its zone discovery) ends
  within ``deadline`` seconds (default 30); ``with client.overall_deadline(15): …`` bounds a whole action
  (several calls) — the Test connection button uses a shorter one. The error then says what happened
  ("Autotask did not answer within 15 s (2 attempts)").
- Errors are classified by HTTP status first, then by Autotask's own error structure
  (``{"errors": [...]}``, §10) — never by words found elsewhere in a body (an HTML page, ASP.NET's
  ``{"Message": ...}``). A 404 is always "not found".
- Filters are checked before sending (§4.2): only Autotask's operators, at any depth; at most 500 "OR"
  conditions per query, counted over the whole filter (every ``in``/``notIn`` value and every ``or``
  item). Longer queries are split where the merged result is exact, otherwise refused.
- Credentials (the three headers) are only ever sent to ``https://*.autotask.net`` or to the scheme+host
  of an explicitly configured zone-discovery override (simulator, tests). Zone answers and
  ``nextPageUrl`` values are checked before any credentialed request. Redirects are never followed.
  At most ``max_response_bytes`` (default 8 MiB) of an answer are read.
- Zone discovery is cached per (discovery URL, username) for 12 h. A zone counts as *confirmed* for a set
  of credentials once an authenticated call with them got an Autotask answer. A 401 on a read against a
  confirmed zone drops it, re-discovers once and repeats the read once (the tenant may have moved zones,
  §1.2); a 401 against an unconfirmed zone (a fresh discovery, or other credentials) is one failure —
  repeated bad logins can lock an API user. An unconfirmed zone whose first authenticated call got no
  Autotask answer (404, redirect, HTML, timeout …) is not kept in the cache.
- At most 3 requests are in flight per entity endpoint (§11 thread limit) for a client shared by threads.
- No secret, integration code or header value is ever logged or put into an error.
"""

import functools
import hashlib
import itertools
import json
import logging
import os
import random
import re
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import httpcore
import httpx

from .exceptions import (
    AutotaskAuthError,
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPermissionError,
    AutotaskQueryError,
    AutotaskRateLimitError,
    AutotaskServerError,
    AutotaskValidationError,
)
from .limiter import DEFAULT_CONCURRENCY, EndpointLimiter

try:
    from django.views.decorators.debug import sensitive_variables
except ImportError:  # the client does not need Django

    def sensitive_variables(*names):
        return lambda func: func


logger = logging.getLogger("integrations.autotask.client")

OFFICIAL_ZONE_INFO_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
ZONE_CACHE_TTL = 12 * 60 * 60  # seconds; django-autotask uses 12 h, go-autotask 24 h (§1.2)
PAGE_SIZE = 500  # Autotask's maximum MaxRecords (§4.2)
IN_LIST_LIMIT = 500  # Autotask allows at most 500 OR conditions per query (§4.2)
DEFAULT_MAX_PAGES = 1000  # go-autotask's guard against a nextPageUrl that never becomes null
DEFAULT_MAX_ATTEMPTS = 3
BACKOFF_BASE = 0.5  # seconds before the first retry (±jitter), doubling per attempt
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 30.0
BODY_SNIPPET_CHARS = 200
DEFAULT_DEADLINE = 30.0  # seconds for one logical call, retries included (interactive actions)
MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # a page of 500 tickets is well below 1 MiB
THRESHOLD_FRESH_SECONDS = 300  # a ThresholdInformation figure older than this is not quoted in hints

_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_ENDPOINT_IN_PATH = re.compile(r"/v1\.0/([^/?#]+)", re.IGNORECASE)
_READ_SUFFIXES = ("/query", "/query/count", "/query/next")
_STATED_THRESHOLD = re.compile(r"threshold of ([\d,]+) requests", re.IGNORECASE)
# Autotask's own error strings (§2, §10, §11), matched one `errors[]` item at a time — and only when the
# answer has Autotask's `{"errors": [...]}` structure (never ASP.NET's Message, HTML or other text).
_AUTOTASK_ERROR_KINDS = (
    ("thread", re.compile(r"\bitgenatr005\b|^\s*thread threshold exceeded", re.IGNORECASE)),
    ("hourly", re.compile(r"\brequest threshold\b.*\bexceeded\b", re.IGNORECASE)),
    ("integration_code", re.compile(r"^\s*integrationcode is invalid\.?\s*$", re.IGNORECASE)),
    ("unknown_user", re.compile(r"^\s*zone information could not be determined\.?\s*$", re.IGNORECASE)),
    (
        "permission",
        re.compile(r"^\s*the logged in resource does not have the adequate permissions", re.IGNORECASE),
    ),
)
# What an HTTP header value may carry: printable ASCII, no surrounding whitespace (h11 refuses that).
_HEADER_SAFE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")


@dataclass(frozen=True)
class Credentials:
    """One Autotask API user. ``secret`` and ``integration_code`` never appear in ``repr()``."""

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)
    impersonation_resource_id: int | None = None


@dataclass(frozen=True)
class Zone:
    """Where a user's Autotask database lives. ``api_url`` ends with ``/V1.0/``."""

    name: str
    api_url: str
    web_url: str
    database_id: int | None


# ---------------------------------------------------------------------------------------------- zones

# (discovery url, casefolded username) -> [Zone, monotonic expiry, set of credential fingerprints that
# got an Autotask answer from this zone]
_zone_cache = {}
_zone_cache_lock = threading.Lock()


def clear_zone_cache():
    """Forget every cached zone (tests; after credentials change)."""
    with _zone_cache_lock:
        _zone_cache.clear()


def configured_zone_info_url():
    """The zone-discovery override: ``AUTOTASK_ZONE_INFO_URL`` from the environment, else Django's
    ``settings.AUTOTASK_ZONE_INFO_URL``; None when neither is set (or Django is not configured)."""
    value = os.environ.get("AUTOTASK_ZONE_INFO_URL", "").strip()
    if value:
        return value
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:
        return None
    try:
        value = getattr(settings, "AUTOTASK_ZONE_INFO_URL", "") or ""
    except ImproperlyConfigured:
        return None
    return value.strip() or None


def _utcnow():
    return datetime.now(UTC)


def _seconds(value):
    """Seconds for a message: "15", "2.5", "0.4"."""
    return f"{round(value, 1):g}"


def _origin(url):
    parsed = httpx.URL(url)
    return parsed.scheme.lower(), (parsed.host or "").rstrip(".").lower(), parsed.port


def _endpoint_of(url):
    """The thread-limit bucket of a request: the first path segment after V1.0 (``Tickets`` for
    ``/Tickets/5/Notes`` and ``/Tickets/entityInformation/fields``)."""
    match = _ENDPOINT_IN_PATH.search(httpx.URL(url).path)
    if match:
        return match.group(1)
    segments = [s for s in httpx.URL(url).path.split("/") if s]
    return segments[-1] if segments else ""


def _is_read(method, url):
    if method == "GET":
        return True
    path = httpx.URL(url).path.rstrip("/").lower()
    return method == "POST" and path.endswith(_READ_SUFFIXES)


def strip_nulls(value):
    """Remove ``None`` recursively from dicts and lists: Autotask answers 500 to explicit nulls in create
    bodies (§5). Used for creates only; ``update()`` sends the nulls the caller names."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [strip_nulls(v) for v in value if v is not None]
    return value


def _json_default(value):
    """Serialise datetimes as Autotask's UTC ``...Z`` strings (naive = UTC, §3) and Decimals as numbers."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Cannot send {type(value).__name__} to Autotask as JSON")


def _check_entity(name):
    if not isinstance(name, str) or not _ENTITY_NAME.match(name):
        raise ValueError(f"Not an Autotask entity name: {name!r}")
    return name


def _check_id(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Autotask ids are integers, got {value!r}")
    return value


# Autotask's filter operators (§4.2), by casefolded spelling → the spelling sent.
FILTER_OPERATORS = {
    op.casefold(): op
    for op in (
        "eq",
        "noteq",
        "gt",
        "gte",
        "lt",
        "lte",
        "beginsWith",
        "endsWith",
        "contains",
        "exist",
        "notExist",
        "in",
        "notIn",
        "and",
        "or",
    )
}
_GROUP_OPS = ("and", "or")
_LIST_OPS = ("in", "notIn")
MAX_SPLIT_QUERIES = 100  # a query needing more sub-queries than this is refused, not sent


def _check_filters(filters):
    """Validate Autotask's filter array and return a copy with the operators spelled as Autotask does.

    Raises ValueError for an empty filter and AutotaskQueryError (also a ValueError) for an operator
    outside Autotask's set at any depth, a group without items, or a condition without a field. Live
    Autotask answers 200 and silently ignores a clause with an unknown operator (§4.2), so sending one
    would return wrong records.
    """
    if not filters or not isinstance(filters, (list, tuple)) or not all(isinstance(f, dict) for f in filters):
        # Autotask requires a filter (an empty one is an error, §4.2). Being explicit avoids fetching
        # a whole database by accident; callers who want everything say so.
        raise ValueError(
            "A non-empty list of Autotask filters is required; to fetch every record pass "
            "[{'op': 'exist', 'field': 'id'}]."
        )
    return [_check_condition(item, f"filter[{i}]") for i, item in enumerate(filters)]


def _check_condition(item, where):
    if not isinstance(item, dict):
        raise AutotaskQueryError(f"Refused to send an Autotask query: {where} is not an object.")
    lowered = {str(k).casefold(): k for k in item}
    raw_op = item.get(lowered.get("op", "op"))
    op = FILTER_OPERATORS.get(str(raw_op).casefold()) if isinstance(raw_op, str) else None
    if op is None:
        raise AutotaskQueryError(
            f"Refused to send an Autotask query: {where} uses the operator {raw_op!r}, which Autotask does "
            f"not know (it would silently ignore that condition). Use one of: {', '.join(FILTER_OPERATORS.values())}."
        )
    result = {("op" if k == lowered.get("op") else k): v for k, v in item.items()}
    result["op"] = op
    if op in _GROUP_OPS:
        items = item.get(lowered.get("items", "items"))
        if not isinstance(items, (list, tuple)) or not items:
            raise AutotaskQueryError(
                f"Refused to send an Autotask query: the {op!r} group at {where} needs a non-empty 'items' list."
            )
        result[lowered.get("items", "items")] = [
            _check_condition(child, f"{where}.items[{i}]") for i, child in enumerate(items)
        ]
        return result
    name = item.get(lowered.get("field", "field"))
    if not isinstance(name, str) or not name:
        raise AutotaskQueryError(f"Refused to send an Autotask query: {where} ({op!r}) names no field.")
    if op in _LIST_OPS and not isinstance(item.get(lowered.get("value", "value")), (list, tuple)):
        raise AutotaskQueryError(f"Refused to send an Autotask query: {where} ({op!r}) needs a list value.")
    return result


def _value(item, key):
    for k, v in item.items():
        if str(k).casefold() == key:
            return v
    return None


def or_conditions(filters):
    """How many "OR" conditions Autotask counts in a filter array (§4.2): every value of every
    ``in``/``notIn`` list and every item of every ``or`` group, at any depth. The simulator counts the
    same way (``simulator.query.or_conditions``)."""
    total = 0
    for item in filters or ():
        if not isinstance(item, dict):
            continue
        op = str(_value(item, "op") or "").casefold()
        if op in ("in", "notin"):
            values = _value(item, "value")
            total += len(values) if isinstance(values, (list, tuple)) else 0
        elif op in ("and", "or"):
            items = _value(item, "items")
            items = items if isinstance(items, (list, tuple)) else ()
            if op == "or":
                total += len(items)
            total += or_conditions(items)
    return total


def _dedupe(values):
    try:
        return list(dict.fromkeys(values))
    except TypeError:  # unhashable values: leave them as they are
        return list(values)


def _allocate(sizes, budget):
    """Share ``budget`` OR conditions among parts of these sizes (small parts whole, the rest evenly)."""
    alloc = [0] * len(sizes)
    left, parts = budget, len(sizes)
    for index in sorted(range(len(sizes)), key=lambda i: sizes[i]):
        share = left // parts
        alloc[index] = min(sizes[index], share)
        left -= alloc[index]
        parts -= 1
    return alloc


def _plan_queries(filters, limit=IN_LIST_LIMIT):
    """The filter arrays to send so that none has more than ``limit`` OR conditions, and whether their
    results are disjoint (so that counts may be summed).

    The top-level array is an implicit AND, so a top-level ``in`` list or ``or`` group can be split into
    chunks sent as separate queries whose union is exactly the answer ((A1∪A2)∧B = (A1∧B)∪(A2∧B));
    results are merged by id. Everything else (``notIn``, lists and groups nested in groups, ``or`` items
    that contain OR conditions themselves) cannot be split exactly: if that alone exceeds the limit, or
    the split would need more than MAX_SPLIT_QUERIES requests, AutotaskQueryError is raised.
    """
    total = or_conditions(filters)
    if total <= limit:
        return [filters], True
    fixed, parts = 0, []  # parts: (index in filters, key to replace, values)
    for index, item in enumerate(filters):
        op = item["op"]
        if op == "in":
            parts.append((index, "value", _dedupe(_value(item, "value"))))
        elif op == "or" and or_conditions(_value(item, "items")) == 0:
            key = next(k for k in item if str(k).casefold() == "items")
            parts.append((index, key, list(item[key])))
        else:
            fixed += or_conditions([item])
    budget = limit - fixed
    if not parts or budget < len(parts):
        raise AutotaskQueryError(
            f"Refused to send an Autotask query with {total} 'OR' conditions: Autotask allows {limit} per "
            f"query, and {fixed} of them (notIn lists, lists or groups nested in groups) cannot be split "
            "into separate queries exactly.",
            hint="narrow the filter or split the work into several queries",
        )
    sizes = [len(values) for _, _, values in parts]
    alloc = _allocate(sizes, budget)
    chunked = []
    for (index, key, values), size in zip(parts, alloc, strict=True):
        chunked.append([(index, key, values[i : i + size]) for i in range(0, len(values), size)])
    count = 1
    for chunks in chunked:
        count *= len(chunks)
    if count > MAX_SPLIT_QUERIES:
        raise AutotaskQueryError(
            f"Refused to send an Autotask query with {total} 'OR' conditions: it would take {count} "
            f"separate queries (Autotask allows {limit} per query; the limit here is {MAX_SPLIT_QUERIES}).",
            hint="narrow the filter or split the work into several queries",
        )
    queries = []
    for combo in itertools.product(*chunked):
        query = list(filters)
        for index, key, chunk in combo:
            query[index] = {**filters[index], key: chunk}
        queries.append(query)
    disjoint = all(filters[index]["op"] == "in" for index, _, _ in parts)
    return queries, disjoint


def _id_sort_key(item):
    value = item.get("id")
    return (0, value) if isinstance(value, int) else (1, str(value))


# ------------------------------------------------------------------------------ deadline on the socket


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait is capped by the client's active deadline (see _DeadlineBackend)."""

    def __init__(self, stream, limit):
        self._stream = stream
        self._limit = limit

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, self._limit(timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        return self._stream.write(buffer, self._limit(timeout, httpcore.WriteTimeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._stream.start_tls(
            ssl_context, server_hostname, self._limit(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream, self._limit)

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpx's timeouts are per socket operation: an answer whose status line, headers or body trickle
    in a byte at a time never trips them. This backend caps every connect, read and write at what is
    left of the client's deadline for the calling thread (``end_of_deadline()``, monotonic seconds)."""

    def __init__(self, backend, end_of_deadline):
        self._backend = backend
        self._end_of_deadline = end_of_deadline

    def _limit(self, timeout, error):
        end = self._end_of_deadline()
        if end is None:
            return timeout
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise error("the deadline of the Autotask call has passed")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(
            host, port, self._limit(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._limit)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._backend.connect_unix_socket(
            path, self._limit(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream, self._limit)

    def sleep(self, seconds):
        self._backend.sleep(seconds)


@functools.cache
def _ssl_context():
    """One TLS context (certifi's CA bundle, httpx's defaults) shared by every client of the process.

    Building it costs ~100 ms of CPU (loading the CA bundle); a bulk job builds a client per run, so it is
    built once. SSLContext is safe to share between threads."""
    return httpx.create_ssl_context()


def _network_transport(end_of_deadline):
    """httpx's own transport, with every socket wait capped by the deadline (when httpx's internals are
    as expected; otherwise plain httpx, whose per-operation timeouts still apply)."""
    transport = httpx.HTTPTransport(verify=_ssl_context())
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _DeadlineBackend(backend, end_of_deadline)
    return transport


# --------------------------------------------------------------------------------------------- client


class AutotaskClient:
    """A synchronous Autotask REST client. Thread-safe; use as a context manager (or call ``close()``).

    ``zone_info_url`` None → ``AUTOTASK_ZONE_INFO_URL`` (environment, then Django settings), else the
    official discovery URL. An explicitly configured URL's scheme+host is also trusted for credentials.
    ``transport`` is any httpx transport (``MockTransport``, ``WSGITransport`` over the simulator).
    ``sleep`` is used for retry backoff (tests pass a recorder).
    ``timeout`` (seconds) bounds each wait for the network (connect, each read, …) of one attempt;
    ``deadline`` (seconds) bounds one logical call as a whole — every attempt, backoff sleep, zone
    discovery and 401 re-discovery — and ``overall_deadline()`` bounds several calls. When it runs out the
    call raises the last error, or AutotaskConnectionError "Autotask did not answer within N s (k
    attempts)". ``max_response_bytes`` caps how much of one answer is read (AutotaskServerError beyond).
    """

    def __init__(
        self,
        credentials,
        zone_info_url=None,
        transport=None,
        timeout=30.0,
        *,
        sleep=time.sleep,
        max_attempts=DEFAULT_MAX_ATTEMPTS,
        max_pages=DEFAULT_MAX_PAGES,
        concurrency=DEFAULT_CONCURRENCY,
        deadline=DEFAULT_DEADLINE,
        max_response_bytes=MAX_RESPONSE_BYTES,
        limiter=None,
    ):
        missing = [
            label
            for label, value in (
                ("API username", credentials.username),
                ("API secret", credentials.secret),
                ("Tracking Identifier (integration code)", credentials.integration_code),
            )
            if not value
        ]
        if missing:
            raise AutotaskConfigurationError(
                f"Autotask credentials incomplete: {', '.join(missing)} missing."
            )
        # They travel as HTTP header values: anything but printable ASCII (an accented letter, a pasted
        # line break) would make httpx raise UnicodeEncodeError — or split a header — mid-request.
        unsendable = [
            label
            for label, value in (
                ("API username", credentials.username),
                ("API secret", credentials.secret),
                ("Tracking Identifier (integration code)", credentials.integration_code),
            )
            if not _HEADER_SAFE.match(str(value))
        ]
        if unsendable:
            verb = "contains" if len(unsendable) == 1 else "contain"
            raise AutotaskConfigurationError(
                f"Autotask credentials unusable: the {' and '.join(unsendable)} {verb} characters that cannot "
                "be sent to Autotask (only printable ASCII, no line breaks or surrounding spaces).",
                hint="re-enter the value exactly as Autotask shows it (copy and paste can add hidden characters)",
            )
        resource = credentials.impersonation_resource_id
        if resource is not None and (isinstance(resource, bool) or not str(resource).strip().isdigit()):
            raise AutotaskConfigurationError(
                "The impersonation resource id must be a whole number (an Autotask resource id)."
            )
        self.credentials = credentials
        override = zone_info_url or configured_zone_info_url()
        self.zone_info_url = override or OFFICIAL_ZONE_INFO_URL
        self._override_origin = None
        if override:
            try:
                origin = _origin(override)
            except httpx.InvalidURL:
                origin = ("", "", None)
            if origin[0] not in ("http", "https") or not origin[1]:
                raise AutotaskConfigurationError(
                    "The Autotask zone discovery URL (AUTOTASK_ZONE_INFO_URL) is not an http(s) URL.",
                    hint="set it to e.g. https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation",
                )
            self._override_origin = origin
        self.timeout = float(timeout)
        self.max_attempts = max(1, int(max_attempts))
        self.max_pages = max(1, int(max_pages))
        self.deadline = float(deadline)
        if self.deadline <= 0:
            raise ValueError("deadline must be a positive number of seconds")
        self.max_response_bytes = int(max_response_bytes)
        self._scope = threading.local()  # .end: monotonic end of the active deadline, per thread
        self._sleep = sleep
        # Any object with ``slot(endpoint, timeout)`` (a context manager raising TimeoutError when no slot
        # frees up in time); the in-process EndpointLimiter when none is given (the client without Django).
        self._limiter = limiter if limiter is not None else EndpointLimiter(concurrency)
        self._last_threshold = None  # (dict, aware datetime) of the last threshold_information()
        if transport is None:
            transport = _network_transport(lambda: getattr(self._scope, "end", None))
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,  # a redirect must never carry the credential headers elsewhere
        )

    # -- lifecycle

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f"<AutotaskClient user={self.credentials.username!r} zone_info_url={self.zone_info_url!r}>"

    # -- public API: one short method per call

    def zone_information(self):
        """The user's zone (cached per username for 12 h). Unauthenticated ``GET zoneInformation?user=``.

        Costs 0 requests when cached, else 1 (plus retries). Raises AutotaskAuthError for an unknown user
        and AutotaskConfigurationError when the answer points outside ``https://*.autotask.net``.
        """
        return self._zone_state()[0]

    @contextmanager
    def overall_deadline(self, seconds):
        """Bound every call made inside the ``with`` block (in this thread) by one deadline of ``seconds``.

        Use it for an interactive action made of several calls (Test connection: zone discovery +
        ThresholdInformation). Nested deadlines never extend an outer one.
        """
        with self._deadline_scope(float(seconds)):
            yield self

    def query(self, entity, filters, include_fields=None, max_records=None):
        """Iterate over every record matching ``filters`` (all pages), ordered by id.

        ``filters`` is Autotask's filter array (implicit AND) and must not be empty (ValueError).
        Operators are checked at any depth before anything is sent (AutotaskQueryError for one Autotask
        does not know; §4.2). ``max_records`` caps the total number yielded. A filter with more than
        500 "OR" conditions (``in``/``notIn`` values and ``or`` items, counted over the whole filter) is
        split into several queries when the union is exact (top-level ``in`` lists and flat top-level
        ``or`` groups) and merged, deduplicated by id; otherwise it is refused (AutotaskQueryError).
        Cost: one request per page per sub-query. The page count is capped (``max_pages``).
        """
        _check_entity(entity)
        filters = _check_filters(filters)
        if max_records is not None and int(max_records) < 1:
            raise ValueError("max_records must be at least 1")
        fields = None
        if include_fields:
            fields = list(include_fields)
            if not any(str(f).casefold() == "id" for f in fields):
                fields.insert(0, "id")  # required to page past 500 results (§4.2)
        queries, _disjoint = _plan_queries(filters)
        if len(queries) == 1:
            return self._iter_query(entity, queries[0], fields, max_records)
        return self._iter_merged(entity, queries, fields, max_records)

    def count(self, entity, filters):
        """Number of records matching ``filters`` (``POST /{entity}/query/count``).

        Filters are checked as in ``query()``. A filter over the 500-"OR" limit is counted in several
        requests only when their results cannot overlap (split top-level ``in`` lists); otherwise
        AutotaskQueryError is raised before anything is sent.
        """
        _check_entity(entity)
        queries, disjoint = _plan_queries(_check_filters(filters))
        if not disjoint:
            raise AutotaskQueryError(
                f"Refused to count {entity}: the filter has more than {IN_LIST_LIMIT} 'OR' conditions and "
                "splitting its 'or' group would count records twice.",
                hint="use query() and count the distinct ids, or narrow the filter",
            )
        total = 0
        with self._deadline_scope():
            for chunk in queries:
                data = self._call("POST", f"{entity}/query/count", body={"filter": chunk})
                total += self._field(data, "queryCount", int, entity)
        return total

    def get(self, entity, entity_id):
        """One record as a dict, or None when Autotask answers ``{"item": null}`` or 404."""
        _check_entity(entity)
        _check_id(entity_id)
        try:
            data = self._call("GET", f"{entity}/{entity_id}")
        except AutotaskNotFoundError:
            return None
        if "item" not in data:
            raise self._unexpected(entity, "'item' missing from the answer")
        return data["item"]

    def create(self, entity, payload):
        """Create a record (``POST /{entity}``); returns the new id. Sent exactly once, never retried.

        ``None`` values are left out (recursively): Autotask answers 500 to explicit nulls in creates
        (§5), and an omitted field gets Autotask's default."""
        _check_entity(entity)
        data = self._call("POST", entity, body=strip_nulls(dict(payload)), write=True)
        return self._field(data, "itemId", int, entity, ambiguous=True)

    def create_child(self, parent_entity, parent_id, child_entity, payload):
        """Create a child record (``POST /{Parent}/{id}/{Child}``, e.g. a ticket note). Never retried.
        ``None`` values are left out, as in ``create()``."""
        _check_entity(parent_entity)
        _check_id(parent_id)
        _check_entity(child_entity)
        path = f"{parent_entity}/{parent_id}/{child_entity}"
        data = self._call("POST", path, body=strip_nulls(dict(payload)), write=True)
        return self._field(data, "itemId", int, parent_entity, ambiguous=True)

    def update(self, entity, payload):
        """Update the fields named in ``payload`` (``PATCH /{entity}``, the id in the body); returns the id.

        Every field the caller names is sent, ``None`` as an explicit JSON ``null``: PATCH changes only
        the fields sent (§5), so ``{"id": T, "assignedResourceID": None, "assignedResourceRoleID": None}``
        clears the assignment. A payload naming no field besides ``id`` is refused (ValueError) rather
        than reported as a successful no-op. Sent exactly once, never retried (1 request).
        """
        _check_entity(entity)
        body = dict(payload)
        _check_id(body.get("id"))
        if not any(key != "id" for key in body):
            raise ValueError(f"Nothing to update: the {entity} update names no field besides 'id'.")
        data = self._call("PATCH", entity, body=body, write=True)
        try:
            return int(data.get("itemId", body["id"]))
        except (TypeError, ValueError):
            return body["id"]

    def field_info(self, entity):
        """``GET /{entity}/entityInformation/fields`` → the ``fields`` list (picklist values are strings)."""
        _check_entity(entity)
        data = self._call("GET", f"{entity}/entityInformation/fields")
        fields = data.get("fields")
        if not isinstance(fields, list):
            raise self._unexpected(entity, "'fields' missing from the answer")
        return fields

    def threshold_information(self):
        """This hour's API usage: ``externalRequestThreshold``, ``requestThresholdTimeframe`` (minutes),
        ``currentTimeframeRequestCount``. Counts as a request itself (§9). Remembered for error hints."""
        data = self._call("GET", "ThresholdInformation")
        self._last_threshold = (dict(data), _utcnow())
        return data

    # -- internals: zones and URLs

    def _zone_key(self):
        return self.zone_info_url, self.credentials.username.casefold()

    def _fingerprint(self):
        # Which credentials confirmed a zone. Kept in memory only, never logged.
        creds = self.credentials
        raw = "\0".join((creds.username.casefold(), creds.secret, creds.integration_code))
        return hashlib.sha256(raw.encode()).hexdigest()

    def _zone_state(self):
        """(zone, confirmed): discover the zone unless cached; ``confirmed`` when an authenticated call
        with these credentials got an Autotask answer from it."""
        key = self._zone_key()
        with _zone_cache_lock:
            cached = _zone_cache.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0], self._fingerprint() in cached[2]
        with self._deadline_scope():
            zone = self._discover_zone()
        with _zone_cache_lock:
            _zone_cache[key] = [zone, time.monotonic() + ZONE_CACHE_TTL, set()]
        return zone, False

    def _confirm_zone(self, zone):
        with _zone_cache_lock:
            cached = _zone_cache.get(self._zone_key())
            if cached and cached[0] == zone:
                cached[2].add(self._fingerprint())

    def _forget_zone(self):
        with _zone_cache_lock:
            _zone_cache.pop(self._zone_key(), None)

    def _discover_zone(self):
        data = self._request(
            "GET",
            self.zone_info_url,
            endpoint="zoneInformation",
            params={"user": self.credentials.username},
            authenticated=False,
        )
        url = data.get("url")
        if not isinstance(url, str) or not url.strip():
            raise AutotaskServerError(
                "Autotask's zone discovery answer did not contain an API URL.", entity="zoneInformation"
            )
        base = url.strip().rstrip("/")
        if not base.lower().endswith("/v1.0"):
            base += "/V1.0"
        api_url = base + "/"
        self._check_credential_target(api_url, what="the API URL returned by zone discovery")
        try:
            database_id = int(data["ci"]) if data.get("ci") is not None else None
        except (TypeError, ValueError):
            database_id = None
        zone = Zone(
            name=str(data.get("zoneName") or ""),
            api_url=api_url,
            web_url=str(data.get("webUrl") or ""),
            database_id=database_id,
        )
        logger.info("Autotask zone discovered: %s (%s)", zone.name, zone.api_url)
        return zone

    def _check_credential_target(self, url, what="this URL"):
        """Refuse (before sending anything) to put credentials on a request to an untrusted host."""
        try:
            origin = _origin(url)
            userinfo = httpx.URL(url).userinfo
        except httpx.InvalidURL:
            origin, userinfo = ("?", "?", None), b""
        if self._override_origin is not None and origin == self._override_origin and not userinfo:
            return
        scheme, host, port = origin
        if scheme == "https" and host.endswith(".autotask.net") and port in (None, 443) and not userinfo:
            return
        raise AutotaskConfigurationError(
            f"Refusing to send Autotask credentials to {scheme}://{host}: {what} is not an https://….autotask.net address.",
            hint="check the zone discovery URL (AUTOTASK_ZONE_INFO_URL); only Autotask hosts and an explicitly configured override are trusted",
        )

    # -- internals: requests

    def _auth_headers(self, write):
        headers = {
            "ApiIntegrationCode": self.credentials.integration_code,
            "UserName": self.credentials.username,
            "Secret": self.credentials.secret,
            "Content-Type": "application/json",
        }
        if write and self.credentials.impersonation_resource_id:
            headers["ImpersonationResourceId"] = str(int(self.credentials.impersonation_resource_id))
        return headers

    def _call(self, method, target, *, body=None, write=False, absolute=False):
        """An authenticated data call against the user's zone, within one deadline, with the zone rules
        of the module docstring (401 → re-discover once only for a confirmed zone)."""
        with self._deadline_scope():
            zone, confirmed = self._zone_state()
            url = target if absolute else zone.api_url + target
            endpoint = _endpoint_of(url)
            try:
                data = self._request(method, url, endpoint=endpoint, body=body, write=write)
            except AutotaskAuthError as err:
                if err.status_code != 401:
                    self._confirm_zone(zone)  # Autotask answered with its own error structure
                    raise
                # Wrong zone also answers 401 (§1.2): forget it either way. Re-discover and repeat only a
                # read against a zone these credentials have used successfully before: after a fresh
                # discovery a 401 means wrong credentials, and repeating it could lock the API user.
                self._forget_zone()
                if write or not confirmed:
                    raise
                logger.warning(
                    "Autotask answered 401 for %s %s; re-discovering the zone once", method, endpoint
                )
                new_zone, _ = self._zone_state()
                if not absolute:
                    url = new_zone.api_url + target
                elif url.lower().startswith(zone.api_url.lower()):
                    url = new_zone.api_url + url[len(zone.api_url) :]
                else:
                    raise
                data = self._request(method, url, endpoint=endpoint, body=body, write=write)
                self._confirm_zone(new_zone)
                return data
            except AutotaskError as err:
                if getattr(err, "from_autotask", False):
                    self._confirm_zone(zone)
                elif not confirmed:
                    # The first authenticated call got no Autotask answer (404 page, redirect, HTML,
                    # timeout …): the zone answer may be wrong — do not keep it for 12 h.
                    self._forget_zone()
                raise
            self._confirm_zone(zone)
            return data

    @contextmanager
    def _deadline_scope(self, seconds=None):
        """Start a deadline of ``seconds`` (default ``self.deadline``) unless a shorter one is active."""
        outer = getattr(self._scope, "end", None)
        end = time.monotonic() + (self.deadline if seconds is None else seconds)
        if outer is not None and (seconds is None or outer <= end):
            yield outer
            return
        outer_length = getattr(self._scope, "length", None)
        self._scope.end = end
        self._scope.length = self.deadline if seconds is None else seconds
        try:
            yield end
        finally:
            self._scope.end = outer
            self._scope.length = outer_length

    def _request(self, method, url, *, endpoint, body=None, params=None, authenticated=True, write=False):
        """The single choke point: send, retry reads, map every failure to an AutotaskError.

        Returns the decoded JSON object of a 2xx answer. Every attempt and backoff sleep fits in the
        active deadline; the error raised at the end carries ``attempts`` and says how long was waited.
        """
        retry = not write and (not authenticated or _is_read(method, url))
        attempts = self.max_attempts if retry else 1
        with self._deadline_scope() as end:
            started = time.monotonic()
            waited = 0.0  # seconds of per-attempt timeouts that ran out
            for attempt in range(1, attempts + 1):
                remaining = end - time.monotonic()
                if remaining <= 0.001:
                    raise self._out_of_time(method, endpoint, write, attempt - 1, waited, started)
                per_try = min(self.timeout, remaining)
                try:
                    return self._send(method, url, endpoint, body, params, authenticated, write, per_try, end)
                except AutotaskError as err:
                    if getattr(err, "timed_out", False):
                        waited += per_try
                        if per_try < self.timeout:
                            # The deadline, not the per-attempt timeout, cut this attempt: what the operator
                            # waited for is the whole deadline (zone discovery and earlier attempts included).
                            waited = max(waited, self._deadline_length())
                    if attempt >= attempts or not err.retryable:
                        raise self._final(err, attempt, waited, write) from None
                    delay = self._backoff_delay(attempt, err)
                    if time.monotonic() + delay >= end:
                        raise self._final(err, attempt, waited, write, next_delay=delay) from None
                    logger.warning(
                        "Autotask %s %s failed (%s, status %s); retry %d of %d in %.1f s",
                        method,
                        endpoint,
                        type(err).__name__,
                        err.status_code,
                        attempt,
                        attempts - 1,
                        delay,
                    )
                    self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _final(self, err, attempts, waited, write, next_delay=None):
        """The error to raise after the last attempt, saying what actually happened."""
        err.attempts = attempts
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if getattr(err, "timed_out", False) and waited > 0:
            rest = self._ambiguous_hint() if err.ambiguous else "try again later"
            err.hint = f"Autotask did not answer within {_seconds(waited)} s ({tries}); {rest}"
        elif attempts > 1 or next_delay is not None:
            note = f"{tries}"
            if next_delay is not None:
                note += (
                    f"; not retried: a retry in {_seconds(next_delay)} s would pass the "
                    f"{_seconds(self._deadline_length())} s deadline"
                )
            message = err.message.rstrip()
            if message.endswith("."):
                message = message[:-1]
            err.message = f"{message} ({note})."
            err.args = (err.message,)
        return err

    def _deadline_length(self):
        scope = getattr(self._scope, "length", None)
        return scope if scope is not None else self.deadline

    def _out_of_time(self, method, endpoint, write, attempts, waited, started):
        spent = max(waited, time.monotonic() - started)
        where = f"{method} {endpoint}"
        if attempts:
            what = (
                f"Autotask did not answer {where} in time ({attempts} attempt{'s' if attempts != 1 else ''})."
            )
        else:
            what = f"No time left to ask Autotask ({where}): the action's deadline had run out."
        err = AutotaskConnectionError(
            what,
            hint=f"gave up after {_seconds(spent)} s; try again later",
            retryable=True,
            method=method,
            entity=endpoint,
        )
        err.attempts = attempts
        err.timed_out = True
        return err

    # Error reports (Django's technical 500 page, the admins' error mail) show each frame's local
    # variables. `headers` carries the secret and the integration code, and so do httpx's, httpcore's and
    # h11's frames below this one under many names (request, event, data …): hide every variable here and
    # below.
    @sensitive_variables()
    def _send(self, method, url, endpoint, body, params, authenticated, write, timeout=None, end=None):
        headers = {"Accept": "application/json"}
        if authenticated:
            self._check_credential_target(url)
            headers.update(self._auth_headers(write))
        content = None if body is None else json.dumps(body, default=_json_default).encode()
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout if end is None else end
        started = time.monotonic()
        try:
            slot = (
                self._limiter.slot(endpoint, timeout=max(0.0, end - started))
                if authenticated
                else nullcontext()
            )
            with (
                slot,
                self._http.stream(
                    method,
                    url,
                    params=params,
                    content=content,
                    headers=headers,
                    timeout=httpx.Timeout(timeout),
                ) as streamed,
            ):
                response = self._read_capped(streamed, method, endpoint, write, end)
        except TimeoutError:  # no free slot of the local thread limiter before the deadline
            raise AutotaskRateLimitError(
                f"Too many simultaneous Autotask requests to {endpoint} from this server: no free slot within "
                f"{_seconds(max(0.0, end - started))} s ({method} {endpoint} was not sent).",
                kind="thread",
                hint=self._thread_hint(endpoint),
                retryable=False,
                method=method,
                entity=endpoint,
            ) from None
        except httpx.TimeoutException as exc:
            raise self._transport_error(exc, method, endpoint, write, started, timed_out=True) from None
        except httpx.RequestError as exc:
            raise self._transport_error(exc, method, endpoint, write, started) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        status = response.status_code
        level = logging.DEBUG if status < 400 else logging.WARNING
        logger.log(level, "Autotask %s %s -> %s in %.0f ms", method, endpoint, status, elapsed_ms)
        if 200 <= status < 300:
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise AutotaskServerError(
                    f"Autotask answered HTTP {status} to {method} {endpoint} with something other than a JSON object"
                    f"{self._snippet_suffix(response)}.",
                    status_code=status,
                    method=method,
                    entity=endpoint,
                    retryable=False,
                    ambiguous=write,
                    hint=self._ambiguous_hint() if write else None,
                )
            return data
        raise self._error_for_response(response, method, endpoint, write)

    @sensitive_variables()  # `streamed` holds the request and its credential headers
    def _read_capped(self, streamed, method, endpoint, write, end):
        """Read a streamed answer, at most ``max_response_bytes`` and not past the deadline ``end``.

        Returns a plain in-memory httpx.Response (decoded body; only the headers the client uses)."""
        chunks, size = [], 0
        for chunk in streamed.iter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise AutotaskServerError(
                    f"Autotask's answer to {method} {endpoint} is larger than "
                    f"{self.max_response_bytes:,} bytes; it was not read.",
                    status_code=streamed.status_code,
                    method=method,
                    entity=endpoint,
                    retryable=False,
                    ambiguous=write,
                    hint=self._ambiguous_hint()
                    if write
                    else "narrow the query (fewer fields or records per page)",
                )
            chunks.append(chunk)
            if time.monotonic() > end:
                raise httpx.ReadTimeout("the answer did not arrive before the deadline")
        kept = {"content-type", "retry-after", "location"}
        headers = [(k, v) for k, v in streamed.headers.items() if k.lower() in kept]
        return httpx.Response(streamed.status_code, headers=headers, content=b"".join(chunks))

    # -- internals: error mapping

    def _scrub(self, text):
        text = str(text)
        for secret in (self.credentials.secret, self.credentials.integration_code):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text

    def _snippet_suffix(self, response):
        text = response.text if response.content else ""
        text = " ".join(self._scrub(text).split())
        if not text:
            return ""
        if len(text) > BODY_SNIPPET_CHARS:
            text = text[:BODY_SNIPPET_CHARS] + "…"
        return f": {text!r}"

    def _error_list(self, response):
        """Autotask's error strings from ``{"errors": [...]}`` or ASP.NET's ``{"Message": ...}``.

        Returns (errors, shape) where shape is "errors", "message", "other-json", "text" or "empty".
        """
        if not response.content.strip():
            return (), "empty"
        try:
            data = response.json()
        except ValueError:
            return (), "text"
        raw = None
        shape = "other-json"
        if isinstance(data, dict):
            lowered = {str(k).casefold(): v for k, v in data.items()}
            if lowered.get("errors"):
                raw, shape = lowered["errors"], "errors"
            elif lowered.get("message"):
                raw, shape = lowered["message"], "message"
        elif isinstance(data, (list, str)) and data:
            raw, shape = data, "errors"
        if raw is None:
            return (), shape
        items = raw if isinstance(raw, list) else [raw]
        errors = []
        for item in items:
            if isinstance(item, dict):
                lowered = {str(k).casefold(): v for k, v in item.items()}
                text = lowered.get("message") or json.dumps(item)
                if lowered.get("field"):
                    text = f"{lowered['field']}: {text}"
                item = text
            errors.append(self._scrub(item))
        return tuple(errors), shape

    @staticmethod
    def _autotask_error_kind(errors):
        """Which known Autotask error an ``errors[]`` list carries (item by item), or None."""
        for kind, pattern in _AUTOTASK_ERROR_KINDS:
            if any(pattern.search(item) for item in errors):
                return kind
        return None

    def _error_for_response(self, response, method, endpoint, write):
        """Classify by HTTP status first, then by Autotask's ``{"errors": [...]}`` structure (§10).

        Words in any other body (HTML, ASP.NET's ``{"Message": ...}``, text) never change the class: a 404
        page that mentions ThresholdInformation is a 404."""
        err = self._classify(response, method, endpoint, write)
        err.from_autotask = self._error_list(response)[1] == "errors"
        return err

    def _classify(self, response, method, endpoint, write):
        status = response.status_code
        errors, shape = self._error_list(response)
        kind = self._autotask_error_kind(errors) if shape == "errors" else None
        where = f"{method} {endpoint}"
        common = {"status_code": status, "errors": errors, "method": method, "entity": endpoint}

        if 300 <= status < 400:
            return AutotaskServerError(
                f"Autotask answered {where} with a redirect (HTTP {status}), which is not followed.",
                hint="check the zone discovery URL; Autotask API calls are never redirected",
                retryable=False,
                **common,
            )
        if status == 401:
            return AutotaskAuthError(
                f"Autotask refused the API credentials for {where} (HTTP 401).",
                hint="check the API username and secret; the user must be an API-only user",
                **common,
            )
        if status == 404:
            return AutotaskNotFoundError(f"Autotask answered 'not found' for {where} (HTTP 404).", **common)
        if status == 405:
            return AutotaskServerError(
                f"Autotask does not support {where} (HTTP 405).",
                hint="this is a bug in Backupchecks' Autotask client, not something an operator can fix; please report it",
                retryable=False,
                **common,
            )
        if status == 403 or (kind == "permission" and status >= 400):
            return AutotaskPermissionError(
                f"Autotask refused {where}: insufficient permissions (HTTP {status}).",
                hint=f"this API user lacks permission for {endpoint}; check its security level in Autotask",
                **common,
            )
        if kind == "hourly" and (status == 429 or status >= 500):
            fresh = self._fresh_threshold()
            return AutotaskRateLimitError(
                f"Autotask refused {where}: the hourly API request threshold is exceeded (HTTP {status}).",
                kind="hourly",
                usage=fresh[0] if fresh else None,
                hint=self._hourly_hint(" ".join(errors)),
                retryable=False,
                **common,
            )
        if status == 429 or (kind == "thread" and status >= 500):
            what = "too many simultaneous requests" if kind == "thread" else "rate limited"
            return AutotaskRateLimitError(
                f"Autotask refused {where}: {what} (HTTP {status}).",
                kind="thread",
                hint=self._thread_hint(endpoint),
                retry_after=self._retry_after(response),
                **common,
            )
        if kind == "integration_code" and status >= 500:
            return AutotaskAuthError(
                f"Autotask rejected the API integration code (HTTP {status}).",
                hint="check the Tracking Identifier (API integration code) configured in Backupchecks; "
                "it must match the API user's Tracking Identifier in Autotask",
                **common,
            )
        if kind == "unknown_user" and status >= 500:
            return AutotaskAuthError(
                f"Autotask does not know this API user (HTTP {status}).",
                hint="check the API username (a newly created API user can take up to 5 minutes to become available)",
                **common,
            )
        if shape == "errors" and (status == 500 or 400 <= status < 500):
            return AutotaskValidationError(f"Autotask rejected {where} (HTTP {status}).", **common)
        if 400 <= status < 500:
            return AutotaskValidationError(
                f"Autotask rejected {where} as invalid (HTTP {status}){self._snippet_suffix(response)}.",
                retryable=False,
                **common,
            )
        # 5xx without an Autotask errors list (empty, HTML from a gateway, ASP.NET's generic Message),
        # or any other unexpected status. For a write, Autotask may have committed it.
        detail = "" if errors else self._snippet_suffix(response)
        hint = self._ambiguous_hint() if write else None
        return AutotaskServerError(
            f"Autotask failed on {where} (HTTP {status}){detail}.",
            retryable=status >= 500,
            ambiguous=write and status >= 500,
            hint=hint,
            **common,
        )

    def _transport_error(self, exc, method, endpoint, write, started, timed_out=False):
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.warning(
            "Autotask %s %s failed after %.0f ms: %s", method, endpoint, elapsed_ms, type(exc).__name__
        )
        # The request never left this machine if the connection could not be opened.
        not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        ambiguous = write and not not_sent
        where = f"{method} {endpoint}"
        if timed_out:
            message = f"Timed out waiting for Autotask ({where}, {type(exc).__name__})."
            hint = f"Autotask did not answer within {self.timeout:g} s"
        else:
            message = f"Could not reach Autotask ({where}): {type(exc).__name__}: {self._scrub(exc)}."
            hint = "check the network connection (DNS, firewall, proxy) from this server to Autotask"
        hint = f"{hint}; {self._ambiguous_hint() if ambiguous else 'try again later'}"
        err = AutotaskConnectionError(
            message, hint=hint, ambiguous=ambiguous, retryable=True, method=method, entity=endpoint
        )
        err.timed_out = timed_out
        return err

    @staticmethod
    def _ambiguous_hint():
        return "the change may have been saved in Autotask anyway — check Autotask before trying again"

    @staticmethod
    def _thread_hint(endpoint):
        return (
            f"Autotask is rate limiting — too many simultaneous requests to {endpoint} "
            "(Autotask allows 3 at a time per integration); try again in a moment"
        )

    def _fresh_threshold(self):
        """The last ThresholdInformation (dict, measured at) if it is recent enough to quote, else None."""
        if not self._last_threshold:
            return None
        usage, measured_at = self._last_threshold
        if (_utcnow() - measured_at).total_seconds() > THRESHOLD_FRESH_SECONDS:
            return None
        return usage, measured_at

    def _hourly_hint(self, error_text=""):
        """What to tell an operator about the hourly threshold. A usage figure is quoted only when it was
        measured in the last few minutes, with the time it was measured; an older one is left out (it
        would contradict "exceeded")."""
        tail = "Autotask blocks API calls until the usage of the last 60 minutes falls, try again later"
        stated = _STATED_THRESHOLD.search(error_text)
        fresh = self._fresh_threshold()
        if fresh:
            usage, measured_at = fresh
            used = usage.get("currentTimeframeRequestCount")
            limit = usage.get("externalRequestThreshold")
            if isinstance(used, int) and isinstance(limit, int):
                ago = int((_utcnow() - measured_at).total_seconds() // 60)
                when = "less than a minute earlier" if ago < 1 else f"{ago} min earlier"
                return (
                    f"Autotask is rate limiting — the hourly request threshold is exceeded; at "
                    f"{measured_at:%H:%M} UTC ({when}) Autotask counted {used:,} of {limit:,} requests in "
                    f"the last 60 minutes; {tail}"
                )
        if stated:
            limit = int(stated.group(1).replace(",", ""))
            return (
                f"Autotask is rate limiting — all {limit:,} requests of this hour are used (the threshold "
                "is shared by every integration on the Autotask database); try again later"
            )
        return (
            "Autotask is rate limiting — the hourly API request threshold (usually 10,000 requests per "
            "Autotask database, shared by all integrations) is used up; try again later"
        )

    @staticmethod
    def _retry_after(response):
        value = response.headers.get("Retry-After", "").strip()
        try:
            seconds = float(value)
        except ValueError:
            return None
        return seconds if seconds >= 0 else None

    def _backoff_delay(self, attempt, err):
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_CAP)
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _unexpected(self, endpoint, what, ambiguous=False):
        return AutotaskServerError(
            f"Autotask returned an unexpected answer for {endpoint}: {what}.",
            entity=endpoint,
            retryable=False,
            ambiguous=ambiguous,
            hint=self._ambiguous_hint() if ambiguous else None,
        )

    def _field(self, data, key, convert, endpoint, ambiguous=False):
        try:
            return convert(data[key])
        except (KeyError, TypeError, ValueError):
            raise self._unexpected(endpoint, f"{key!r} missing or invalid", ambiguous=ambiguous) from None

    # -- internals: paging

    def _iter_query(self, entity, filters, fields, max_records):
        page_size = min(PAGE_SIZE, int(max_records)) if max_records else PAGE_SIZE
        body = {"filter": filters, "MaxRecords": page_size}
        if fields:
            body["IncludeFields"] = fields
        url, absolute = f"{entity}/query", False
        pages = yielded = 0
        seen = set()
        while url:
            if pages >= self.max_pages:
                raise AutotaskServerError(
                    f"Autotask paging did not end: {entity} query still had a next page after {pages} pages.",
                    entity=entity,
                    retryable=False,
                    hint="narrow the query's filter; if this persists it is an Autotask problem",
                )
            data = self._call("POST", url, body=body, absolute=absolute)
            pages += 1
            items = data.get("items")
            if not isinstance(items, list):
                raise self._unexpected(entity, "'items' missing from the query answer")
            for item in items:
                item_id = item.get("id") if isinstance(item, dict) else None
                if item_id is not None:
                    if item_id in seen:
                        continue
                    seen.add(item_id)
                yield item
                yielded += 1
                if max_records and yielded >= max_records:
                    return
            next_url = (data.get("pageDetails") or {}).get("nextPageUrl")
            # The next page is POSTed with the same body (§4.3); the host allow-list applies in _send.
            url, absolute = (next_url, True) if next_url else (None, False)

    def _iter_merged(self, entity, queries, fields, max_records):
        merged, without_id = {}, []
        for filters in queries:
            for item in self._iter_query(entity, filters, fields, max_records):
                item_id = item.get("id") if isinstance(item, dict) else None
                if item_id is None:
                    without_id.append(item)
                else:
                    merged.setdefault(item_id, item)
        ordered = sorted(merged.values(), key=_id_sort_key) + without_id
        if max_records:
            ordered = ordered[: int(max_records)]
        yield from ordered
