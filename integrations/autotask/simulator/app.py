"""The Autotask REST simulator: a thread-safe WSGI application (stdlib only).

Behaviour follows what is known about live Autotask (docs/autotask-api.md); where that is UNCONFIRMED the
behaviour is a switch in `SimulatorConfig`, and where live Autotask is known to be lenient (an unknown
filter operator is silently ignored) the lenient behaviour is the default and the strict one a switch. Control routes live under `/_simulator/` (see control.py).
"""

import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlencode

from . import control, entities
from .faults import PRE_MODES, FaultRegistry, SimulatedConnectionDrop
from .query import MAX_PAGE_SIZE, Query, QueryError, ci_get
from .schema import entity_by_name
from .state import fresh_state, load_file, save_file
from .tenants import TENANTS, UDF_DEFINITIONS, iso, now_utc

HOUR = 3600.0
NEXT_BODY_MESSAGE = (
    "Invalid query syntax. A query/next request must re-send the body of the query that returned the "
    "nextPageUrl."
)
# Autotask's wording when an API user's security level does not allow the call (docs/autotask-api.md §2, §10).
PERMISSION_MESSAGE = "The logged in Resource does not have the adequate permissions"


@dataclass
class SimulatorConfig:
    """Switches for behaviour the reference marks UNCONFIRMED, and limits."""

    missing_item_status: int = 200  # GET /{E}/{id} of a missing id: 200 {"item": null} or 404
    thread_limit_status: int = 429  # status of the Itgenatr005 thread-threshold rejection (429 or 500)
    hourly_limit_status: int = 429  # status when the hourly request threshold is exceeded (429 or 500)
    hourly_limit: int = 10000  # externalRequestThreshold per tenant per rolling 60 minutes
    thread_limit: int = 3  # concurrent requests per (integration code, entity endpoint)
    enforce_thread_limit: bool = True
    zone_url: str | None = None  # overrides the `url` that zoneInformation returns (all tenants)
    zone_includes_ci: bool = (
        True  # zoneInformation carries `ci` (the database id); §1.2 calls it illustrative
    )
    auth_failure_body: str = "empty"  # bad secret → 401 with "empty" body or "json" {"errors":[...]}
    require_filter: bool = True  # a query without filter → 500
    max_or_conditions: int = 500
    strict_booleans: bool = False  # reject "true"/"false" strings as boolean filter values
    case_insensitive_strings: bool = True  # eq/contains/... ignore case (SQL collation; §16.7)
    reject_inactive_picklist_values: bool = True
    require_active_company: bool = True  # tickets may not be created for inactive companies
    ticket_requires_queue: bool = True  # queueID or assignedResourceID+assignedResourceRoleID required
    ticket_requires_due_date: bool = False  # some tenants/categories require dueDateTime (§6.2, §16.4)
    default_due_hours: int = 24  # dueDateTime default when a ticket is created without one
    enforce_zone_host: bool = False  # data calls on an *.autotask.net host other than the tenant's → 401
    latency_enabled: bool = False  # usage-based latency: ≥50% of the hourly limit → +0.5 s, ≥75% → +1 s
    latency_at_50: float = 0.5
    latency_at_75: float = 1.0
    latency_seconds: float = 0.0  # fixed extra latency of every authenticated API call (benchmarks)
    fault_delay_seconds: float = 31.0  # "delay" fault default (just past the client's 30 s timeout)
    retry_after_seconds: int | None = (
        None  # Retry-After header on thread/hourly rejections (§16.1); None = none
    )
    api_version: str = "V1.0"  # the element of versioninformation's apiVersions ("V1.0" vs "1.0", §16.6)
    permission_denied_entities: list = field(default_factory=list)  # entities this API user may not touch
    permission_denied_status: int = (
        500  # Autotask mostly answers 500 with the permissions text, else 403 (§2)
    )
    # Live Autotask answers 200 and silently drops a filter clause whose operator it does not know
    # (docs/autotask-api.md §4.2). True = refuse it with 500 "Invalid operator".
    strict_operators: bool = False


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    entity: str | None
    tenant_db_id: int | None
    status: int  # 0 = connection dropped without a response
    authenticated: bool
    operation: str = ""
    query_string: str = ""
    errors: tuple = ()  # the answer's Autotask `errors[]` strings (or ASP.NET's `Message`), if any

    def as_dict(self):
        data = asdict(self)
        data["errors"] = list(self.errors)
        return data


class Response:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body  # dict/list → JSON; bytes → as is; None → empty
        self.headers = headers or []

    def encode(self):
        if self.body is None:
            return b"", "application/json; charset=utf-8"
        if isinstance(self.body, bytes):
            return self.body, "application/json; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json; charset=utf-8"


def errors(status, *messages):
    return Response(status, {"errors": list(messages)})


def message(status, text):
    """ASP.NET framework-level error body (405, unknown routes)."""
    return Response(status, {"Message": text})


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "") or "/"
        self.query_string = environ.get("QUERY_STRING", "")
        self.params = {
            k.lower(): v[-1] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()
        }
        self.scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST")
        if not host:
            host = environ.get("SERVER_NAME", "localhost")
            port = environ.get("SERVER_PORT", "")
            if port and port not in ("80", "443"):
                host = f"{host}:{port}"
        self.host = host
        self.hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        self._body = None

    def header(self, name):
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"))

    @property
    def body(self):
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            stream = self.environ.get("wsgi.input")
            self._body = stream.read(length) if (stream is not None and length > 0) else b""
        return self._body

    def json(self, required=True):
        raw = self.body
        if not raw.strip():
            if required:
                raise BadRequest("The request body is empty.")
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"The request is invalid: malformed JSON ({exc.__class__.__name__}).") from exc

    @property
    def base_url(self):
        return f"{self.scheme}://{self.host}"


class _Route:
    def __init__(self, op, entity=None, args=(), allowed=("GET",), record_entity=None, bucket=None):
        self.op = op
        self.entity = entity
        self.args = args
        self.allowed = allowed
        self.record_entity = record_entity or (entity.name if entity else None)
        self.bucket = bucket or self.record_entity


class AutotaskSimulator:
    """In-memory (optionally file-backed) Autotask REST API. Instances are WSGI callables."""

    def __init__(self, state_file=None, seed=1, **config):
        self.seed = seed
        self.state_file = str(state_file) if state_file else None
        self.config = SimulatorConfig()
        self.configure(**config)
        self.sleep = time.sleep  # tests replace this (delay fault, latency)
        self.clock = time.monotonic  # rolling hourly window
        self.utcnow = now_utc  # createDate, ticket numbers
        self.faults = FaultRegistry()
        self.requests = []
        self._lock = threading.RLock()
        self._slot_lock = threading.Lock()
        self._slots = {}
        self._hourly = {t.database_id: deque() for t in TENANTS}
        self._peaks = {}  # database id → highest hourly usage seen (benchmarks: "never past the ceiling")
        self._tenants_by_user = {t.username.lower(): t for t in TENANTS}
        self._tenants_by_db = {t.database_id: t for t in TENANTS}
        self._integration_codes = {t.integration_code for t in TENANTS}
        if self.state_file:
            try:
                self.state, stored_seed = load_file(self.state_file)
                self.seed = stored_seed if stored_seed is not None else seed
            except FileNotFoundError:
                self.state = fresh_state(seed, self.utcnow())
                self._save()
        else:
            self.state = fresh_state(seed, self.utcnow())

    # ------------------------------------------------------------------ public helpers (tests, control API)

    def configure(self, **options):
        names = {f.name for f in fields(SimulatorConfig)}
        unknown = set(options) - names
        if unknown:
            raise ValueError(f"Unknown simulator option(s): {', '.join(sorted(unknown))}")
        for key, value in options.items():
            setattr(self.config, key, value)
        return asdict(self.config)

    def reset(self):
        """Reseed both tenants and forget requests, faults, counters and configuration changes."""
        with self._lock:
            self.state = fresh_state(self.seed, self.utcnow())
            self.requests = []
            self.faults.clear()
            self.config = SimulatorConfig()
            for window in self._hourly.values():
                window.clear()
            self._peaks.clear()
            self._save()

    def clear_requests(self):
        with self._lock:
            self.requests = []

    def api_call_count(self, tenant=None, exclude_zone=False):
        """API requests received (the control API is never recorded). `tenant`: a Tenant or database id."""
        db_id = getattr(tenant, "database_id", tenant)
        with self._lock:
            records = list(self.requests)
        return sum(
            1
            for r in records
            if (db_id is None or r.tenant_db_id == db_id)
            and not (exclude_zone and r.operation in ("zoneInformation", "versionInformation"))
        )

    def inject_fault(self, entity=None, method=None, mode="fail_500", times=1, seconds=None):
        return self.faults.add(mode, entity=entity, method=method, times=times, seconds=seconds)

    def clear_faults(self):
        self.faults.clear()

    def tenant(self, db_id):
        try:
            return self._tenants_by_db[int(db_id)]
        except (KeyError, ValueError, TypeError) as exc:
            raise KeyError(f"No simulated tenant with database id {db_id!r}") from exc

    def _data(self, db_id):
        self.tenant(db_id)
        return self.state[int(db_id)]

    def _company(self, db_id, company_id):
        company = self._data(db_id)["Companies"].get(int(company_id))
        if company is None:
            raise KeyError(f"No company {company_id} in tenant {db_id}")
        return company

    def rename_company(self, db_id, company_id, new_name):
        with self._lock:
            company = self._company(db_id, company_id)
            company["companyName"] = str(new_name)
            company["lastActivityDate"] = iso(self.utcnow())
            self._save()

    def deactivate_company(self, db_id, company_id):
        with self._lock:
            company = self._company(db_id, company_id)
            company["isActive"] = False
            company["lastActivityDate"] = iso(self.utcnow())
            self._save()

    def delete_company(self, db_id, company_id):
        """Remove a company entirely (merged/deleted in the UI): get → {"item": null}, queries skip it."""
        with self._lock:
            self._company(db_id, company_id)
            del self._data(db_id)["Companies"][int(company_id)]
            self._save()

    def add_time_entry(
        self, db_id, ticket_id, hours=1.0, resource_id=None, summary="Work logged in Autotask"
    ):
        """Log time on a ticket as a technician would in the Autotask UI; returns the time entry id."""
        with self._lock:
            data = self._data(db_id)
            if int(ticket_id) not in data["Tickets"]:
                raise KeyError(f"No ticket {ticket_id} in tenant {db_id}")
            if resource_id is None:
                resource_id = min(r["id"] for r in data["Resources"].values() if r["isActive"])
            body = {"ticketID": int(ticket_id), "resourceID": int(resource_id), "hoursWorked": float(hours)}
            body["summaryNotes"] = summary
            ctx = entities.WriteContext(self, self.tenant(db_id), data, None)
            new_id = entities.create(ctx, entity_by_name("TimeEntries"), body)
            self._save()
            return new_id

    def delete_ticket(self, db_id, ticket_id):
        """Remove a ticket as an Autotask administrator can in the UI (the REST API cannot, reference §6.2):
        get → {"item": null}, queries skip it. Its notes and time entries go with it."""
        with self._lock:
            data = self._data(db_id)
            if data["Tickets"].pop(int(ticket_id), None) is None:
                raise KeyError(f"No ticket {ticket_id} in tenant {db_id}")
            for entity in ("TicketNotes", "TimeEntries"):
                rows = data[entity]
                for row_id in [i for i, row in rows.items() if row.get("ticketID") == int(ticket_id)]:
                    del rows[row_id]
            self._save()

    def tickets(self, db_id):
        with self._lock:
            data = self._data(db_id)
            return [
                entities.output(entity_by_name("Tickets"), data["Tickets"][i])
                for i in sorted(data["Tickets"])
            ]

    def ticket_notes(self, db_id, ticket_id):
        with self._lock:
            notes = self._data(db_id)["TicketNotes"]
            ent = entity_by_name("TicketNotes")
            return [
                entities.output(ent, notes[i])
                for i in sorted(notes)
                if notes[i]["ticketID"] == int(ticket_id)
            ]

    def time_entries(self, db_id, ticket_id=None):
        with self._lock:
            rows = self._data(db_id)["TimeEntries"]
            ent = entity_by_name("TimeEntries")
            return [
                entities.output(ent, rows[i])
                for i in sorted(rows)
                if ticket_id is None or rows[i].get("ticketID") == int(ticket_id)
            ]

    def companies(self, db_id):
        with self._lock:
            rows = self._data(db_id)["Companies"]
            ent = entity_by_name("Companies")
            return [entities.output(ent, rows[i]) for i in sorted(rows)]

    def _save(self):
        if self.state_file:
            with self._lock:
                save_file(self.state_file, self.state, self.seed)

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.lower().rstrip("/").startswith("/_simulator"):
            response = control.handle(self, request)
        else:
            response = self._handle_api(request)
        body, content_type = response.encode()
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *response.headers]
        reason = _REASONS.get(response.status, "Unknown")
        start_response(f"{response.status} {reason}", headers)
        return [body]

    def _record(self, request, route, tenant, status, authenticated, response=None):
        record = RequestRecord(
            method=request.method,
            path=request.path,
            entity=route.record_entity if route else None,
            tenant_db_id=tenant.database_id if tenant else None,
            status=status,
            authenticated=authenticated,
            operation=route.op if route else "unknown",
            query_string=request.query_string,
            errors=_error_texts(response),
        )
        with self._lock:
            self.requests.append(record)

    def _handle_api(self, request):
        route = self._route(request)
        if isinstance(route, Response):
            self._record(request, None, None, route.status, False, route)
            return route
        if request.method not in route.allowed:
            response = message(
                405, f"The requested resource does not support http method '{request.method}'."
            )
            self._record(request, route, None, 405, False, response)
            return response
        if route.op == "versionInformation":
            self._record(request, route, None, 200, False)
            return Response(200, {"apiVersions": [self.config.api_version]})
        if route.op == "zoneInformation":
            return self._zone_information(request, route)

        tenant, failure = self._authenticate(request)
        if failure is not None:
            self._record(request, route, tenant, failure.status, False, failure)
            return failure

        over = self._count_hourly(tenant)
        if over is not None:
            self._record(request, route, tenant, over.status, True, over)
            return over

        bucket = (request.header("ApiIntegrationCode"), (route.bucket or "").lower())
        if not self._acquire_slot(bucket):
            response = self._thread_error()
            self._record(request, route, tenant, response.status, True, response)
            return response
        try:
            self._apply_latency(tenant)
            if self._permission_denied(route):
                response = errors(self.config.permission_denied_status, PERMISSION_MESSAGE)
                self._record(request, route, tenant, response.status, True, response)
                return response
            fault = self.faults.take(route.record_entity, request.method)
            if fault is not None and fault.mode in PRE_MODES:
                if fault.mode == "fail_500":
                    response = Response(500)
                elif fault.mode == "thread_threshold":
                    response = self._thread_error()
                else:
                    response = self._hourly_error()
                self._record(request, route, tenant, response.status, True, response)
                return response
            response = self._dispatch(request, route, tenant)
            if fault is not None:
                if fault.mode == "commit_then_drop":
                    self._record(request, route, tenant, 0, True)
                    raise SimulatedConnectionDrop()
                if fault.mode == "commit_then_500":
                    response = Response(500)
                elif fault.mode == "delay":
                    seconds = fault.seconds if fault.seconds is not None else self.config.fault_delay_seconds
                    try:
                        self.sleep(seconds)
                    except (
                        BaseException
                    ):  # a test's sleep may raise e.g. httpx.ReadTimeout: commit, no answer
                        self._record(request, route, tenant, 0, True)
                        raise
            self._record(request, route, tenant, response.status, True, response)
            return response
        finally:
            self._release_slot(bucket)

    # ------------------------------------------------------------------ routing

    def _route(self, request):
        segments = [s for s in request.path.split("/") if s]
        lowered = [s.lower() for s in segments]
        not_found = message(404, f"No HTTP resource was found that matches the request URI '{request.path}'.")
        if len(lowered) < 2 or lowered[0] != "atservicesrest":
            return not_found
        if lowered[1:] == ["versioninformation"]:
            return _Route("versionInformation", record_entity="versionInformation")
        if lowered[1] != "v1.0" or len(lowered) < 3:
            return not_found
        rest, raw = lowered[2:], segments[2:]
        if rest == ["zoneinformation"]:
            return _Route("zoneInformation", record_entity="zoneInformation")
        if rest == ["thresholdinformation"]:
            return _Route("thresholdInformation", record_entity="ThresholdInformation")
        entity = entity_by_name(rest[0])
        if entity is None:
            return not_found
        writes = tuple(m for m, ok in (("POST", entity.can_create), ("PUT", entity.can_update)) if ok)
        writes += ("PATCH",) if entity.can_update else ()
        if entity.parent:  # children are written through the parent path only
            writes = ()
        if len(rest) == 1:
            if entity.parent and request.method in ("POST", "PUT", "PATCH"):
                # Child entities are written through the parent path only (§5); live Autotask answers a
                # write on the root URL with 404 (like POST /V1.0/Tasks), not 405.
                return not_found
            return _Route("write", entity, allowed=writes)
        if rest[1:] == ["query"]:
            return _Route("query", entity, allowed=("GET", "POST"))
        if rest[1:] == ["query", "count"]:
            return _Route("count", entity, allowed=("GET", "POST"))
        if rest[1:] == ["query", "next"]:
            return _Route("next", entity, allowed=("GET", "POST"))
        if rest[1:] == ["entityinformation"]:
            return _Route("entityInformation", entity)
        if rest[1:] == ["entityinformation", "fields"]:
            return _Route("fields", entity)
        if rest[1:] == ["entityinformation", "userdefinedfields"]:
            return _Route("udfs", entity)
        if not raw[1].isdigit():
            return not_found
        item_id = int(raw[1])
        if len(rest) == 2:
            allowed = ("GET", "DELETE") if entity.can_delete else ("GET",)
            return _Route("item", entity, (item_id,), allowed=allowed)
        child = entity_by_name(_CHILD_ENTITIES.get((entity.name, rest[2]), ""))
        if child is None:
            return not_found
        bucket = entity.name
        if len(rest) == 3:
            return _Route(
                "children", child, (entity, item_id), ("GET", "POST", "PATCH", "PUT"), bucket=bucket
            )
        if len(rest) == 4 and raw[3].isdigit():
            return _Route("child", child, (entity, item_id, int(raw[3])), ("GET",), bucket=bucket)
        return not_found

    # ------------------------------------------------------------------ auth, zone, limits

    def _zone_information(self, request, route):
        user = (request.params.get("user") or "").strip().lower()
        tenant = self._tenants_by_user.get(user)
        if tenant is None:
            response = errors(500, "Zone information could not be determined")
            self._record(request, route, None, 500, False, response)
            return response
        self._record(request, route, tenant, 200, False)
        body = {
            "zoneName": tenant.zone_name,
            "url": self.zone_url(request, tenant),
            "webUrl": tenant.web_url,
            "ci": tenant.database_id,
        }
        if not self.config.zone_includes_ci:
            del body["ci"]
        return Response(200, body)

    def zone_url(self, request, tenant):
        if self.config.zone_url:
            return self.config.zone_url
        if request.hostname.lower().endswith("autotask.net"):
            return tenant.zone_api_url
        return f"{request.base_url}/ATServicesRest/"

    def _authenticate(self, request):
        code = request.header("ApiIntegrationCode")
        user = (request.header("UserName") or "").strip().lower()
        secret = request.header("Secret")
        if not code or code not in self._integration_codes:
            return None, errors(500, "IntegrationCode is invalid.")
        tenant = self._tenants_by_user.get(user)
        if tenant is None:
            return None, errors(500, "Zone information could not be determined")
        wrong_zone = (
            self.config.enforce_zone_host
            and request.hostname.lower().endswith("autotask.net")
            and request.hostname.lower() != tenant.zone_host
        )
        if secret != tenant.secret or wrong_zone:
            body = {"errors": ["Authentication failed"]} if self.config.auth_failure_body == "json" else None
            return tenant, Response(401, body)
        return tenant, None

    def _window(self, tenant):
        window = self._hourly[tenant.database_id]
        cutoff = self.clock() - HOUR
        while window and window[0] <= cutoff:
            window.popleft()
        return window

    def _count_hourly(self, tenant):
        with self._lock:
            window = self._window(tenant)
            if len(window) >= self.config.hourly_limit:
                return self._hourly_error()
            window.append(self.clock())
            self._note_peak(tenant.database_id, len(window))
        return None

    def _note_peak(self, db_id, usage):
        self._peaks[db_id] = max(self._peaks.get(db_id, 0), usage)

    def add_usage(self, tenant, count, spread_seconds=0.0):
        """Count ``count`` requests of *another* integration against the tenant's hourly threshold (a
        demo/benchmark control: "the tenant starts at 75 %"). ``spread_seconds`` > 0 spreads their
        timestamps evenly over that many past seconds (they then age out of the rolling 60-minute window
        gradually); 0 counts them all now. Returns the tenant's usage afterwards."""
        db_id = getattr(tenant, "database_id", tenant)
        self.tenant(db_id)
        count = int(count)
        if count < 0:
            raise ValueError("count must not be negative")
        spread = min(float(spread_seconds), HOUR - 1.0)
        with self._lock:
            now = self.clock()
            stamps = (
                [now - spread + spread * (i + 1) / count for i in range(count)]
                if spread > 0
                else [now] * count
            )
            window = self._hourly[int(db_id)]
            merged = sorted([*window, *stamps])
            window.clear()
            window.extend(merged)
            usage = len(self._window(self.tenant(db_id)))
            self._note_peak(int(db_id), usage)
            return usage

    def peak_usage(self, tenant):
        """The highest hourly usage of the tenant seen since the simulator started (or was reset)."""
        db_id = getattr(tenant, "database_id", tenant)
        with self._lock:
            self._window(self.tenant(db_id))
            return self._peaks.get(int(db_id), 0)

    def hourly_usage(self, tenant):
        with self._lock:
            return len(self._window(tenant))

    def _retry_after(self, response):
        if self.config.retry_after_seconds is not None:
            response.headers.append(("Retry-After", str(int(self.config.retry_after_seconds))))
        return response

    def _hourly_error(self):
        limit = self.config.hourly_limit
        return self._retry_after(
            errors(
                self.config.hourly_limit_status,
                f"The external request threshold of {limit} requests per 60 minutes has been exceeded "
                "for this database. API access is blocked until usage drops below the threshold.",
            )
        )

    def _thread_error(self):
        return self._retry_after(
            errors(
                self.config.thread_limit_status,
                f"Thread Threshold Exceeded: The Autotask API thread threshold of {self.config.thread_limit} "
                "threads has been exceeded. Itgenatr005",
            )
        )

    def _acquire_slot(self, bucket):
        with self._slot_lock:
            in_use = self._slots.get(bucket, 0)
            if self.config.enforce_thread_limit and in_use >= self.config.thread_limit:
                return False
            self._slots[bucket] = in_use + 1
            return True

    def _release_slot(self, bucket):
        with self._slot_lock:
            self._slots[bucket] = max(0, self._slots.get(bucket, 1) - 1)

    def _permission_denied(self, route):
        denied = {str(name).lower() for name in self.config.permission_denied_entities or ()}
        return bool(denied) and (route.record_entity or "").lower() in denied

    def _apply_latency(self, tenant):
        if self.config.latency_seconds:
            self.sleep(self.config.latency_seconds)
        if not self.config.latency_enabled:
            return
        share = self.hourly_usage(tenant) / max(1, self.config.hourly_limit)
        if share >= 0.75:
            self.sleep(self.config.latency_at_75)
        elif share >= 0.5:
            self.sleep(self.config.latency_at_50)

    # ------------------------------------------------------------------ API operations

    def _dispatch(self, request, route, tenant):
        try:
            with self._lock:
                response, wrote = self._operate(request, route, tenant)
                if wrote:
                    self._save()
                return response
        except BadRequest as exc:
            return errors(400, str(exc))
        except QueryError as exc:
            return errors(500, str(exc))
        except entities.ValidationError as exc:
            return errors(500, *exc.messages)

    def _operate(self, request, route, tenant):
        data = self.state[tenant.database_id]
        entity = route.entity
        op = route.op
        if op == "thresholdInformation":
            usage = len(self._window(tenant))
            return Response(
                200,
                {
                    "externalRequestThreshold": self.config.hourly_limit,
                    "requestThresholdTimeframe": 60,
                    "currentTimeframeRequestCount": usage,
                },
            ), False
        if op == "entityInformation":
            return Response(200, {"info": entity.info()}), False
        if op == "fields":
            fields_info = entities.field_info(entity, tenant)
            if entity.name == "Tickets" and self.config.ticket_requires_due_date:
                for info in fields_info:
                    if info["name"] == "dueDateTime":
                        info["isRequired"] = True
            return Response(200, {"fields": fields_info}), False
        if op == "udfs":
            if not entity.has_udfs:
                return message(404, f"No user-defined fields for entity '{entity.name}'."), False
            return Response(200, {"fields": entities.udf_info(UDF_DEFINITIONS.get(entity.name, []))}), False
        if op in ("query", "count", "next"):
            return self._query(request, route, data), False
        if op == "item":
            item_id = route.args[0]
            record = data[entity.name].get(item_id)
            if request.method == "DELETE":
                if record is None:
                    raise entities.ValidationError(
                        "No message. No matching records found. The logged in Resource may not have the "
                        "required permissions to delete the data."
                    )
                del data[entity.name][item_id]
                return Response(200, {"itemId": item_id}), True
            return self._item_response(entity, record), False
        ctx = entities.WriteContext(self, tenant, data, _impersonation(request))
        if op == "write":
            body = request.json()
            if request.method == "POST":
                return Response(200, {"itemId": entities.create(ctx, entity, body)}), True
            return Response(
                200, {"itemId": entities.update(ctx, entity, body, replace=request.method == "PUT")}
            ), True
        if op == "children":
            parent, parent_id = route.args
            if request.method == "GET":
                rows = [
                    entities.output(entity, data[entity.name][i])
                    for i in sorted(data[entity.name])
                    if data[entity.name][i].get("ticketID") == parent_id
                ]
                return Response(200, _page(rows[:MAX_PAGE_SIZE], MAX_PAGE_SIZE, None)), False
            body = request.json()
            if not isinstance(body, dict):
                raise entities.ValidationError("The request body must be a JSON object.")
            if parent.name not in data or parent_id not in data[parent.name]:
                raise entities.ValidationError("Value does not reference an existing entity for ticketID . ")
            given = ci_get(body, "ticketID")
            if given not in (None, 0) and given != parent_id:
                raise entities.ValidationError(
                    "The ticketID in the body does not match the parent id in the URL."
                )
            body = {k: v for k, v in body.items() if k.lower() != "ticketid"}
            body["ticketID"] = parent_id
            if request.method == "POST":
                return Response(200, {"itemId": entities.create(ctx, entity, body)}), True
            return Response(
                200, {"itemId": entities.update(ctx, entity, body, replace=request.method == "PUT")}
            ), True
        if op == "child":
            _parent, parent_id, child_id = route.args
            record = data[entity.name].get(child_id)
            if record is not None and record.get("ticketID") != parent_id:
                record = None
            return self._item_response(entity, record), False
        raise AssertionError(op)  # pragma: no cover

    def _item_response(self, entity, record):
        if record is None:
            if self.config.missing_item_status == 404:
                return message(404, f"No {entity.name} entity was found with the requested id.")
            return Response(200, {"item": None})
        return Response(200, {"item": entities.output(entity, record)})

    def _query(self, request, route, data):
        entity = route.entity
        cursor = None
        if route.op == "next":
            if request.method == "GET" and "search" not in request.params:
                return message(405, "The requested resource does not support http method 'GET'.")
            cursor = _parse_paging(request.params.get("paging"))
        if request.method == "GET":
            search = request.params.get("search")
            body = {}
            if search:
                try:
                    body = json.loads(search)
                except ValueError as exc:
                    raise BadRequest("The search parameter is not valid JSON.") from exc
        else:
            body = request.json(required=False) or {}
        digest = None
        if request.method == "POST":
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
            digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
            if cursor is not None and cursor.get("q") and cursor["q"] != digest:
                raise QueryError(NEXT_BODY_MESSAGE)
        query = Query(
            body,
            entity,
            require_filter=self.config.require_filter,
            max_or=self.config.max_or_conditions,
            strict_booleans=self.config.strict_booleans,
            case_insensitive_strings=self.config.case_insensitive_strings,
            strict_operators=self.config.strict_operators,
        )
        store = data[entity.name]
        if route.op == "count":
            return Response(200, {"queryCount": sum(1 for i in store if query.matches(store[i]))})
        page_size = cursor["pageSize"] if cursor else query.page_size
        after = cursor["nextIds"][-1] if cursor and cursor["nextIds"] else None
        previous = list(cursor["previousIds"]) if cursor else []
        hits = []
        for item_id in sorted(store):
            if after is not None and item_id <= after:
                continue
            if query.matches(store[item_id]):
                hits.append(item_id)
                if len(hits) > page_size:
                    break
        more = len(hits) > page_size
        hits = hits[:page_size]
        items = [query.project(entities.output(entity, store[i]), entity.has_udfs) for i in hits]
        base = f"{request.base_url}/ATServicesRest/V1.0/{entity.name}/query/next"
        search = request.params.get("search") if request.method == "GET" else None

        def url(previous_ids, next_ids):
            cursor_data = {"pageSize": page_size, "previousIds": previous_ids, "nextIds": next_ids}
            if digest is not None:
                cursor_data["q"] = digest  # the first body's digest: a re-POST must send the same body
            token = json.dumps(cursor_data, separators=(",", ":"))
            params = {"paging": token}
            if search is not None:
                params["search"] = search
            return f"{base}?{urlencode(params, quote_via=quote)}"

        next_url = url((previous + [after])[-50:] if after is not None else [], [hits[-1]]) if more else None
        prev_url = None
        if cursor:
            prev_url = url(previous[:-1], previous[-1:]) if previous else url([], [])
        return Response(200, _page(items, page_size, next_url, prev_url))


_CHILD_ENTITIES = {("Tickets", "notes"): "TicketNotes"}


def _page(items, page_size, next_url, prev_url=None):
    return {
        "items": items,
        "pageDetails": {
            "count": len(items),
            "requestCount": page_size,
            "prevPageUrl": prev_url,
            "nextPageUrl": next_url,
        },
    }


def _parse_paging(raw):
    try:
        token = json.loads(raw or "")
        page_size = int(token["pageSize"])
        next_ids = [int(i) for i in token.get("nextIds") or []]
        previous = [int(i) for i in token.get("previousIds") or []]
        digest = str(token.get("q") or "")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise QueryError("Invalid paging parameter.") from exc
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise QueryError("Invalid paging parameter.")
    return {"pageSize": page_size, "nextIds": next_ids, "previousIds": previous, "q": digest}


def _error_texts(response):
    """The Autotask `errors[]` strings (or ASP.NET `Message`) of a Response, for the request log."""
    body = getattr(response, "body", None)
    if not isinstance(body, dict):
        return ()
    if isinstance(body.get("errors"), list):
        return tuple(str(e) for e in body["errors"])
    if body.get("Message"):
        return (str(body["Message"]),)
    return ()


def _impersonation(request):
    raw = request.header("ImpersonationResourceId")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest("ImpersonationResourceId must be an integer resource id.") from exc


def due_default(now, hours):
    return iso(now + timedelta(hours=hours))
