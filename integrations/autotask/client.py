"""AutotaskClient: the only code in Backupchecks that speaks HTTP to the Autotask PSA REST API (v1.0).

Thin by design: one short method per API call, and every failure goes through one choke point,
``_request()``, which turns transport failures and HTTP statuses into the typed errors of
``integrations.autotask.exceptions``. API facts (and their sources) are in
``shared/reference/autotask-rest-api.md``; section numbers below refer to it.

Contracts
- Reads (GET, and POST to ``…/query``, ``…/query/count``, ``…/query/next``) are retried up to
  ``max_attempts`` times with exponential backoff + jitter on connection errors, 5xx without an Autotask
  error body, 429 and the thread-threshold error (``Itgenatr005``). The hourly threshold is not retried.
- Writes (``create``, ``create_child``, ``update``) are sent exactly once. Autotask has no idempotency
  keys (§12): a retried create makes a second ticket. A failure that may have been applied anyway has
  ``err.ambiguous = True``.
- Credentials (the three headers) are only ever sent to ``https://*.autotask.net`` or to the scheme+host
  of an explicitly configured zone-discovery override (simulator, tests). Zone answers and
  ``nextPageUrl`` values are checked before any credentialed request. Redirects are never followed.
- Zone discovery is cached per (discovery URL, username) for 12 h; a 401 on a read drops the cached zone,
  re-discovers once and repeats the read once (the tenant may have moved zones, §1.2).
- At most 3 requests are in flight per entity endpoint (§11 thread limit) for a client shared by threads.
- No secret, integration code or header value is ever logged or put into an error.
"""

import itertools
import json
import logging
import os
import random
import re
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx

from .exceptions import (
    AutotaskAuthError,
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPermissionError,
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

_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_ENDPOINT_IN_PATH = re.compile(r"/v1\.0/([^/?#]+)", re.IGNORECASE)
_READ_SUFFIXES = ("/query", "/query/count", "/query/next")
_STATED_THRESHOLD = re.compile(r"threshold of ([\d,]+) requests", re.IGNORECASE)
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

_zone_cache = {}  # (discovery url, casefolded username) -> (Zone, monotonic expiry)
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
    """Remove ``None`` recursively from dicts and lists: Autotask answers 500 to explicit nulls (§5)."""
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


def _check_filters(filters):
    if not filters or not isinstance(filters, (list, tuple)) or not all(isinstance(f, dict) for f in filters):
        # Autotask requires a filter (an empty one is an error, §4.2). Being explicit avoids fetching
        # a whole database by accident; callers who want everything say so.
        raise ValueError(
            "A non-empty list of Autotask filters is required; to fetch every record pass "
            "[{'op': 'exist', 'field': 'id'}]."
        )
    return list(filters)


def _split_long_lists(filters):
    """Return the filter lists to run so that no ``in``/``notIn`` list exceeds 500 values (§4.2).

    ``in`` lists are chunked into separate queries whose results the caller unions (one query per
    combination when several lists are long). ``notIn`` lists are chunked into several ``notIn``
    filters in the same query: the top-level filter array is an implicit AND, so that stays exact.
    Only top-level filters are split; lists nested inside ``and``/``or`` groups are sent as given.
    """
    fixed, in_choices = [], []
    for item in filters:
        op = str(item.get("op", "")).casefold()
        values = item.get("value")
        if op not in ("in", "notin") or not isinstance(values, (list, tuple)) or len(values) <= IN_LIST_LIMIT:
            fixed.append(item)
            continue
        try:
            values = list(dict.fromkeys(values))
        except TypeError:  # unhashable values: leave them as they are
            values = list(values)
        chunks = [
            {**item, "value": values[i : i + IN_LIST_LIMIT]} for i in range(0, len(values), IN_LIST_LIMIT)
        ]
        if op == "notin" or len(chunks) == 1:
            fixed.extend(chunks)
        else:
            in_choices.append(chunks)
    if not in_choices:
        return [fixed]
    return [fixed + list(combo) for combo in itertools.product(*in_choices)]


def _id_sort_key(item):
    value = item.get("id")
    return (0, value) if isinstance(value, int) else (1, str(value))


# --------------------------------------------------------------------------------------------- client


class AutotaskClient:
    """A synchronous Autotask REST client. Thread-safe; use as a context manager (or call ``close()``).

    ``zone_info_url`` None → ``AUTOTASK_ZONE_INFO_URL`` (environment, then Django settings), else the
    official discovery URL. An explicitly configured URL's scheme+host is also trusted for credentials.
    ``transport`` is any httpx transport (``MockTransport``, ``WSGITransport`` over the simulator).
    ``sleep`` is used for retry backoff (tests pass a recorder).
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
        self._sleep = sleep
        self._limiter = EndpointLimiter(concurrency)
        self._last_threshold = None  # (dict, aware datetime) of the last threshold_information()
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
        """The user's zone (cached per username for 12 h). Unauthenticated ``GET zoneInformation?user=``."""
        key = self._zone_key()
        with _zone_cache_lock:
            cached = _zone_cache.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        zone = self._discover_zone()
        with _zone_cache_lock:
            _zone_cache[key] = (zone, time.monotonic() + ZONE_CACHE_TTL)
        return zone

    def query(self, entity, filters, include_fields=None, max_records=None):
        """Iterate over every record matching ``filters`` (all pages), ordered by id.

        ``filters`` is Autotask's filter array (implicit AND) and must not be empty (ValueError).
        ``max_records`` caps the total number yielded. ``in`` lists longer than 500 are split into
        several queries and merged (deduplicated by id). The page count is capped (``max_pages``).
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
        queries = _split_long_lists(filters)
        if len(queries) == 1:
            return self._iter_query(entity, queries[0], fields, max_records)
        return self._iter_merged(entity, queries, fields, max_records)

    def count(self, entity, filters):
        """Number of records matching ``filters`` (``POST /{entity}/query/count``)."""
        _check_entity(entity)
        total = 0
        for chunk in _split_long_lists(_check_filters(filters)):
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
        """Create a record (``POST /{entity}``); returns the new id. Sent exactly once, never retried."""
        _check_entity(entity)
        data = self._call("POST", entity, body=strip_nulls(dict(payload)), write=True)
        return self._field(data, "itemId", int, entity, ambiguous=True)

    def create_child(self, parent_entity, parent_id, child_entity, payload):
        """Create a child record (``POST /{Parent}/{id}/{Child}``, e.g. a ticket note). Never retried."""
        _check_entity(parent_entity)
        _check_id(parent_id)
        _check_entity(child_entity)
        path = f"{parent_entity}/{parent_id}/{child_entity}"
        data = self._call("POST", path, body=strip_nulls(dict(payload)), write=True)
        return self._field(data, "itemId", int, parent_entity, ambiguous=True)

    def update(self, entity, payload):
        """Update the fields sent (``PATCH /{entity}``, the id in the body); returns the id. Never retried."""
        _check_entity(entity)
        body = strip_nulls(dict(payload))
        _check_id(body.get("id"))
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
        self._last_threshold = (dict(data), datetime.now(UTC))
        return data

    # -- internals: zones and URLs

    def _zone_key(self):
        return self.zone_info_url, self.credentials.username.casefold()

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
        """An authenticated data call against the user's zone, with the 401 → re-discover-once rule."""
        zone = self.zone_information()
        url = target if absolute else zone.api_url + target
        endpoint = _endpoint_of(url)
        try:
            return self._request(method, url, endpoint=endpoint, body=body, write=write)
        except AutotaskAuthError as err:
            if err.status_code != 401:
                raise
            # Wrong zone also answers 401 (§1.2): forget it. A write is not repeated — the next
            # attempt by the caller uses the freshly discovered zone.
            self._forget_zone()
            if write:
                raise
            logger.warning("Autotask answered 401 for %s %s; re-discovering the zone once", method, endpoint)
            new_zone = self.zone_information()
            if not absolute:
                url = new_zone.api_url + target
            elif url.lower().startswith(zone.api_url.lower()):
                url = new_zone.api_url + url[len(zone.api_url) :]
            else:
                raise
            return self._request(method, url, endpoint=endpoint, body=body, write=write)

    def _request(self, method, url, *, endpoint, body=None, params=None, authenticated=True, write=False):
        """The single choke point: send, retry reads, map every failure to an AutotaskError.

        Returns the decoded JSON object of a 2xx answer.
        """
        retry = not write and (not authenticated or _is_read(method, url))
        attempts = self.max_attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._send(method, url, endpoint, body, params, authenticated, write)
            except AutotaskError as err:
                if attempt >= attempts or not err.retryable:
                    raise
                delay = self._backoff_delay(attempt, err)
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

    # Error reports (Django's technical 500 page, the admins' error mail) show each frame's local
    # variables. `headers` carries the secret and the integration code, and so do httpx's, httpcore's and
    # h11's frames below this one under many names (request, event, data …): hide every variable here and
    # below.
    @sensitive_variables()
    def _send(self, method, url, endpoint, body, params, authenticated, write):
        headers = {"Accept": "application/json"}
        if authenticated:
            self._check_credential_target(url)
            headers.update(self._auth_headers(write))
        content = None if body is None else json.dumps(body, default=_json_default).encode()
        slot = self._limiter.slot(endpoint) if authenticated else nullcontext()
        started = time.monotonic()
        try:
            with slot:
                response = self._http.request(method, url, params=params, content=content, headers=headers)
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

    def _error_for_response(self, response, method, endpoint, write):
        status = response.status_code
        errors, shape = self._error_list(response)
        text = " ".join(errors).casefold()
        where = f"{method} {endpoint}"
        common = {"status_code": status, "errors": errors, "method": method, "entity": endpoint}

        if "thread threshold" in text or "itgenatr005" in text:
            return AutotaskRateLimitError(
                f"Autotask refused {where}: too many simultaneous requests (HTTP {status}).",
                kind="thread",
                hint=self._thread_hint(endpoint),
                retry_after=self._retry_after(response),
                **common,
            )
        if ("threshold" in text or "request limit" in text) and "thread" not in text:
            return AutotaskRateLimitError(
                f"Autotask refused {where}: the hourly API request threshold is exceeded (HTTP {status}).",
                kind="hourly",
                usage=self._last_threshold[0] if self._last_threshold else None,
                hint=self._hourly_hint(text),
                retryable=False,
                **common,
            )
        if status == 429:
            return AutotaskRateLimitError(
                f"Autotask refused {where}: rate limited (HTTP 429).",
                kind="thread",
                hint=self._thread_hint(endpoint),
                retry_after=self._retry_after(response),
                **common,
            )
        if "integrationcode is invalid" in text:
            return AutotaskAuthError(
                f"Autotask rejected the API integration code (HTTP {status}).",
                hint="check the Tracking Identifier (API integration code) configured in Backupchecks; "
                "it must match the API user's Tracking Identifier in Autotask",
                **common,
            )
        if "zone information could not be determined" in text:
            return AutotaskAuthError(
                f"Autotask does not know this API user (HTTP {status}).",
                hint="check the API username (a newly created API user can take up to 5 minutes to become available)",
                **common,
            )
        if status == 401:
            return AutotaskAuthError(
                f"Autotask refused the API credentials for {where} (HTTP 401).",
                hint="check the API username and secret; the user must be an API-only user",
                **common,
            )
        if status == 403 or "does not have the adequate permissions" in text:
            return AutotaskPermissionError(
                f"Autotask refused {where}: insufficient permissions (HTTP {status}).",
                hint=f"this API user lacks permission for {endpoint}; check its security level in Autotask",
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
        if 300 <= status < 400:
            return AutotaskServerError(
                f"Autotask answered {where} with a redirect (HTTP {status}), which is not followed.",
                hint="check the zone discovery URL; Autotask API calls are never redirected",
                retryable=False,
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
        return AutotaskConnectionError(
            message, hint=hint, ambiguous=ambiguous, retryable=True, method=method, entity=endpoint
        )

    @staticmethod
    def _ambiguous_hint():
        return "the change may have been saved in Autotask anyway — check Autotask before trying again"

    @staticmethod
    def _thread_hint(endpoint):
        return (
            f"Autotask is rate limiting — too many simultaneous requests to {endpoint} "
            "(Autotask allows 3 at a time per integration); try again in a moment"
        )

    def _hourly_hint(self, error_text=""):
        if self._last_threshold:
            usage, checked_at = self._last_threshold
            used = usage.get("currentTimeframeRequestCount")
            limit = usage.get("externalRequestThreshold")
            if isinstance(used, int) and isinstance(limit, int):
                return (
                    f"Autotask is rate limiting — {used:,} of {limit:,} requests used this hour "
                    f"(last checked {checked_at:%H:%M} UTC); Autotask blocks API calls until the hourly "
                    "usage falls, try again later"
                )
        stated = _STATED_THRESHOLD.search(error_text)
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
