"""The tenant's shared API budget: which calls are background work, the cross-process request limiter,
pacing by ThresholdInformation, and the API-call log (docs/operations.md, "API budget").

Autotask allows ~10,000 requests per rolling 60 minutes per database, shared by every integration, and
3 concurrent requests per (Tracking Identifier, endpoint) — the 4th is rejected at once with
``Itgenatr005`` (docs/autotask-api.md §9, §11). Backupchecks runs as several web and task-worker
processes, so both budgets live in the database:

* ``DatabaseLimiter`` — at most 3 requests in flight per endpoint across every process. A **lease
  table** (``EndpointLease``: one row per slot, a holder token and an expiry) is used rather than
  PostgreSQL advisory locks because it works the same on SQLite and PostgreSQL, is visible to the health
  page (who holds what), and needs no connection held open for the request's duration: a slot is taken
  by one conditional ``UPDATE … WHERE holder = '' OR expires_at < now`` in autocommit and given back by
  another. A process killed mid-request leaves its lease behind; it expires after the request's deadline
  (+ a few seconds' grace), so the slot comes back on its own.
* ``Pacer`` — for calls made inside ``background_work()``: full speed below 50 % of the hourly threshold,
  evenly spaced between 50 % and the ceiling (``AutotaskSettings.pacing_ceiling_percent``, default 80 %),
  paused at the ceiling with a visible reason until ThresholdInformation shows usage has fallen. Usage
  between two reads is estimated (last read + requests this installation sent since); each request
  reserves its unit by a conditional UPDATE, so processes never push the estimate past the ceiling
  together. Interactive calls (one operator's click) are counted but never paused.
* ``CallLog`` — one ``ApiCall`` row per request (method, path, status or transport error kind, duration,
  outcome, label), pruned to the last ``CALL_LOG_KEEP``.

``background_work()`` is a ``ContextVar``: it holds per thread (each worker thread of a bulk job enters it
itself) and per asyncio task, never across them.
"""

import hashlib
import logging
import math
import random
import threading
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.db.models import F, Q
from django.utils import timezone

from integrations.autotask.exceptions import AutotaskRateLimitError

logger = logging.getLogger("integrations.autotask.budget")

_background = ContextVar("autotask_background_work", default=None)

#: Autotask's thread limit per (Tracking Identifier, endpoint) for integrations made after 2023.1 (§11)
ENDPOINT_LIMIT = 3
#: a lease outlives its request's deadline by this much before another process may take the slot over
LEASE_GRACE = timedelta(seconds=5)
#: how long a waiting request sleeps between two looks at the lease table (seconds, ± jitter)
SLOT_POLL_SECONDS = 0.02
#: below this share of the hourly threshold background work runs at full speed
SLOW_FROM = 0.5
DEFAULT_CEILING = 0.8
#: ThresholdInformation is read again when the last read is older than this (seconds) …
READ_EVERY_SECONDS = 60
#: … or when this many requests were sent since (fewer near the ceiling, see Pacer._read_due)
READ_EVERY_REQUESTS = 100
#: requests kept free below the pause point for the ThresholdInformation reading that follows
READING_RESERVE = 1
#: while paused, usage is re-read this often (seconds); each read costs one request
PAUSE_RECHECK_SECONDS = 60
#: a background call waits at most this long for a pause to end (longer than Autotask's 60-minute window)
MAX_PAUSE_SECONDS = 2 * 60 * 60
#: a read older than this (or none) makes pacing_status() "unknown"
STATUS_STALE_SECONDS = 60 * 60
CALL_LOG_KEEP = 1000
SAMPLES_KEEP = 2000
INTERACTIVE = "interactive"


# --------------------------------------------------------------------------------- background marking


@contextmanager
def background_work(label="background"):
    """Mark the Autotask calls made inside the block (in this thread) as background work.

    ``label`` (e.g. ``"bulk job 12"``, ``"scheduled mapping check"``) names the work in pacing reasons and
    the health page. Nesting keeps the outermost label. Makes no API call and no SQL query itself.
    """
    token = _background.set(_background.get() or label)
    try:
        yield
    finally:
        _background.reset(token)


def background_label():
    """The label of the background work this thread is doing, or None for an interactive action."""
    return _background.get()


def scope_for(integration_code):
    """The key of one integration's budgets: a digest of its Tracking Identifier (the identifier itself is
    a credential and is never stored in these tables)."""
    digest = hashlib.sha256(b"backupchecks-autotask-budget\0" + str(integration_code).encode()).hexdigest()
    return "t-" + digest[:24]


# ------------------------------------------------------------------------------------------ the limiter


class DatabaseLimiter:
    """At most ``limit`` requests in flight per endpoint of one scope, across every process.

    ``slot(endpoint, timeout)`` is what ``AutotaskClient`` calls around each authenticated request: it
    waits (polling the lease table) up to ``timeout`` seconds for a free slot and raises TimeoutError when
    none frees up (the client turns that into the "not sent" AutotaskRateLimitError(kind="thread")). The
    lease expires ``timeout`` + LEASE_GRACE after it was taken: the client's deadline ends the request
    before that, so only a dead process's lease ever expires. ``clock`` (aware datetimes) is injectable so
    that expiry is testable without sleeping. Never call it inside ``transaction.atomic()``: each UPDATE
    must commit at once for the other processes to see it.
    """

    def __init__(self, scope, limit=ENDPOINT_LIMIT, *, clock=timezone.now, sleep=time.sleep):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.scope = scope
        self.limit = limit
        self.clock = clock
        self.sleep = sleep
        self._rows_made = set()

    def _ensure_rows(self, key):
        if key in self._rows_made:
            return
        from integrations.autotask.models import EndpointLease

        # INSERT … ON CONFLICT DO NOTHING (both databases): no error, no transaction needed.
        EndpointLease.objects.bulk_create(
            [EndpointLease(scope=self.scope, endpoint=key, slot=n) for n in range(self.limit)],
            ignore_conflicts=True,
        )
        self._rows_made.add(key)

    def try_take(self, endpoint, lease_seconds, label=None):
        """Take a free (or expired) slot now: returns (lease pk, holder token) or None. One SELECT plus one
        conditional UPDATE per candidate slot."""
        from integrations.autotask.models import EndpointLease

        key = (endpoint or "").casefold()[:100]
        label = label or background_label() or INTERACTIVE
        self._ensure_rows(key)
        now = self.clock()
        free = Q(holder="") | Q(expires_at__lt=now)
        candidates = list(
            EndpointLease.objects.filter(scope=self.scope, endpoint=key, slot__lt=self.limit)
            .filter(free)
            .values_list("pk", flat=True)
        )
        random.shuffle(candidates)
        token = uuid.uuid4().hex
        for pk in candidates:
            # The WHERE is re-checked under the row lock (PostgreSQL) / the write lock (SQLite): of two
            # processes racing for one slot exactly one updates a row.
            taken = (
                EndpointLease.objects.filter(pk=pk)
                .filter(free)
                .update(
                    holder=token,
                    holder_label=str(label)[:100],
                    acquired_at=now,
                    expires_at=now + timedelta(seconds=lease_seconds) + LEASE_GRACE,
                )
            )
            if taken:
                return pk, token
        return None

    def release(self, lease):
        from integrations.autotask.models import EndpointLease

        pk, token = lease
        EndpointLease.objects.filter(pk=pk, holder=token).update(holder="", holder_label="", expires_at=None)

    @contextmanager
    def slot(self, endpoint, timeout=None):
        timeout = 30.0 if timeout is None else max(0.0, float(timeout))
        end = time.monotonic() + timeout
        while True:
            lease = self.try_take(endpoint, timeout)
            if lease is not None:
                break
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no free slot for {endpoint} within {timeout:g} s")
            self.sleep(min(left, SLOT_POLL_SECONDS * random.uniform(0.5, 1.5)))
        try:
            yield
        finally:
            self.release(lease)


@dataclass(frozen=True)
class EndpointStatus:
    """One endpoint's slots right now (health page): requests in flight (unexpired leases) of ``limit``."""

    endpoint: str
    in_flight: int
    limit: int
    #: the labels holding a slot ("interactive", "bulk job 12" …)
    holders: tuple = ()


def limiter_status():
    """Every endpoint that has lease rows, with its unexpired leases (database only, one query, zero API
    calls). Endpoints of every scope (both environments) are merged by name."""
    from integrations.autotask.models import EndpointLease

    now = timezone.now()
    by_endpoint = {}
    rows = EndpointLease.objects.order_by("endpoint", "slot").values_list(
        "endpoint", "holder", "holder_label", "expires_at"
    )
    for endpoint, holder, label, expires_at in rows:
        entry = by_endpoint.setdefault(endpoint, [0, []])
        if holder and expires_at and expires_at >= now:
            entry[0] += 1
            entry[1].append(label or INTERACTIVE)
    return [
        EndpointStatus(endpoint=name, in_flight=used, limit=ENDPOINT_LIMIT, holders=tuple(labels))
        for name, (used, labels) in sorted(by_endpoint.items())
    ]


# -------------------------------------------------------------------------------------------- pacing


@dataclass(frozen=True)
class PacingStatus:
    """Where background work stands against the hourly threshold (database only).

    ``state``: "full" (below 50 %), "slowed" (50 % up to the ceiling), "paused" (at the ceiling) or
    "unknown" (no recent ThresholdInformation read). ``usage_ratio`` 0..1 (estimated: last read + requests
    sent since) or None; ``ceiling`` 0..1; ``reason`` operator text ("" when full); ``resume_at`` when a
    paused job looks again (aware UTC) or None; ``measured_at`` the last read (aware UTC) or None.
    """

    state: str
    usage_ratio: float | None
    ceiling: float
    reason: str
    resume_at: datetime | None
    measured_at: datetime | None


def configured_ceiling():
    """The pacing ceiling (0..1) from the settings page; the default when no settings row exists."""
    from integrations.autotask.models import AutotaskSettings

    value = AutotaskSettings.objects.filter(pk=1).values_list("pacing_ceiling_percent", flat=True).first()
    return (value or round(DEFAULT_CEILING * 100)) / 100


def _active_scope():
    from integrations.autotask.models import AutotaskSettings, EnvironmentConfig

    settings = AutotaskSettings.objects.filter(pk=1).first()
    if settings is None:
        return None, DEFAULT_CEILING
    env = EnvironmentConfig.objects.filter(environment=settings.environment).first()
    code = env.integration_code if env else ""
    return (scope_for(code) if code else None), settings.pacing_ceiling_percent / 100


def pacing_status(scope=None, *, now=None):
    """The current PacingStatus of the active environment (or of ``scope``), judged at ``now`` (an aware UTC
    datetime; default the real clock — the pacer's own clock in simulated time). Database only: ≤ 3 queries,
    zero API calls. A reading older than STATUS_STALE_SECONDS shows as "unknown". A paused state whose
    resume time has passed with nobody re-reading shows as paused until the next background call reads
    usage again."""
    if scope is None:
        scope, ceiling = _active_scope()
    else:
        ceiling = configured_ceiling()
    from integrations.autotask.models import PacingState

    row = PacingState.objects.filter(scope=scope).first() if scope else None
    now = now or timezone.now()
    if row is None or row.read_at is None or not row.threshold:
        return PacingStatus("unknown", None, ceiling, "No Autotask usage reading yet.", None, None)
    ratio = row.usage_estimate / row.threshold
    if (now - row.read_at).total_seconds() > STATUS_STALE_SECONDS:
        return PacingStatus(
            "unknown",
            ratio,
            ceiling,
            f"The last Autotask usage reading is from {row.read_at:%Y-%m-%d %H:%M} UTC.",
            None,
            row.read_at,
        )
    state = row.state if row.state in ("full", "slowed", "paused") else _state_for(ratio, ceiling)
    reason = row.reason if state != "full" else ""
    return PacingStatus(
        state, ratio, ceiling, reason, row.resume_at if state == "paused" else None, row.read_at
    )


def _state_for(ratio, ceiling):
    if ratio >= ceiling:
        return "paused"
    if ratio >= SLOW_FROM:
        return "slowed"
    return "full"


def _pct(value):
    return f"{value * 100:.0f} %"


class Pacer:
    """Paces one client's requests by the tenant's hourly usage (see the module docstring).

    The client calls ``before_call(client, method, endpoint)`` before each logical call (outside its
    deadline: a pause may last long), ``on_send(endpoint)`` before each request it actually sends, and
    ``threshold_read(data)`` with each ThresholdInformation answer. ``clock`` (aware UTC datetimes) and
    ``sleep`` (seconds) are injectable: the benchmark runs the hour in simulated time.

    Cost in API calls: one ThresholdInformation read per READ_EVERY_SECONDS or READ_EVERY_REQUESTS
    background requests (whichever comes first; ≤ 60 reads per busy hour plus ~1 %), more often near the
    ceiling (after half the remaining headroom), and one per PAUSE_RECHECK_SECONDS while paused.
    """

    def __init__(self, scope, *, clock=timezone.now, sleep=time.sleep, ceiling=None):
        self.scope = scope
        self.clock = clock
        self.sleep = sleep
        self._ceiling = ceiling
        self._local = threading.local()

    # -- state row

    def _row(self):
        from integrations.autotask.models import PacingState

        row = PacingState.objects.filter(scope=self.scope).first()
        if row is None:
            PacingState.objects.bulk_create([PacingState(scope=self.scope)], ignore_conflicts=True)
            row = PacingState.objects.get(scope=self.scope)
        return row

    def ceiling(self):
        return self._ceiling if self._ceiling is not None else configured_ceiling()

    def _set_state(self, state, reason="", resume_at=None):
        from integrations.autotask.models import PacingState

        now = self.clock()
        PacingState.objects.filter(scope=self.scope).exclude(
            state=state, reason=reason, resume_at=resume_at
        ).update(state=state, reason=reason[:500], resume_at=resume_at, updated_at=now)

    # -- hooks called by the client

    def on_send(self, endpoint):
        """Count one request about to be sent (unless before_call already reserved it)."""
        from integrations.autotask.models import EndpointLease, PacingState

        if getattr(self._local, "prepaid", False):
            self._local.prepaid = False
            return
        if (endpoint or "").casefold() == "thresholdinformation":
            # What is in flight now may reach Autotask after this reading is counted: add it to the reading
            # (less this request itself, which holds a slot and which Autotask counts).
            in_flight = (
                EndpointLease.objects.filter(scope=self.scope, expires_at__gte=self.clock())
                .exclude(holder="")
                .count()
            )
            self._local.snapshot = (self._row().reserved_total, max(0, in_flight - 1))
        PacingState.objects.filter(scope=self.scope).update(reserved_total=F("reserved_total") + 1)

    def threshold_read(self, data):
        """Store a ThresholdInformation answer: the new base of the estimate and a usage sample."""
        from integrations.autotask.models import PacingState, UsageSample

        used = data.get("currentTimeframeRequestCount")
        threshold = data.get("externalRequestThreshold")
        if not isinstance(used, int) or not isinstance(threshold, int) or threshold <= 0:
            return
        timeframe = data.get("requestThresholdTimeframe")
        reserved, in_flight = getattr(self._local, "snapshot", None) or (None, 0)
        self._local.snapshot = None
        now = self.clock()
        row = self._row()
        fields = {"others_per_second": self._others_rate(row, used, reserved, now)}
        fields |= {
            "threshold": threshold,
            "read_used": used + in_flight,
            "read_at": now,
            "updated_at": now,
        }
        if isinstance(timeframe, int) and timeframe > 0:
            fields["timeframe_minutes"] = timeframe
        # Requests counted since the snapshot (this read included) stay in the estimate: never too low.
        fields["reserved_at_read"] = reserved + 1 if reserved is not None else F("reserved_total")
        PacingState.objects.filter(scope=self.scope).update(**fields)
        sample = UsageSample.objects.create(scope=self.scope, measured_at=now, used=used, threshold=threshold)
        if sample.pk % 100 == 0:
            UsageSample.objects.filter(pk__lte=sample.pk - SAMPLES_KEEP).delete()

    @staticmethod
    def _others_rate(row, used, reserved, now):
        """Requests per second of the tenant's other integrations, from two readings: the rise in
        Autotask's count not explained by our own requests. Requests leaving the rolling window hide part
        of it, so the rate falls by half at most per reading (conservative)."""
        if row.read_at is None or reserved is None:
            return row.others_per_second
        seconds = (now - row.read_at).total_seconds()
        if seconds <= 0:
            return row.others_per_second
        ours = reserved + 1 - row.reserved_at_read
        measured = max(0.0, (used - row.read_used - ours) / seconds)
        return max(measured, row.others_per_second / 2)

    def before_call(self, client, method, endpoint):
        """Wait until a background request may be sent, and reserve it. Interactive calls return at once.

        Raises AutotaskRateLimitError(kind="hourly", nothing sent) when a pause outlasts MAX_PAUSE_SECONDS.
        """
        self._local.prepaid = False
        label = background_label()
        if label is None or (endpoint or "").casefold() == "thresholdinformation":
            return
        from integrations.autotask.models import PacingState

        waited_from = self.clock()
        spaced = False  # this request already waited for its turn on the shared schedule
        while True:
            row = self._row()
            if self._read_due(row):
                client.threshold_information()
                continue
            ceiling = self.ceiling()
            limit = math.floor(row.threshold * ceiling)
            now = self.clock()
            # Other integrations' requests since the reading are not counted yet: add what their rate
            # (measured between the last two readings) predicts for the reading's age plus a second.
            age = max(0.0, (now - row.read_at).total_seconds())
            unseen = math.ceil(row.others_per_second * (age + 1.0))
            estimate = row.usage_estimate + unseen
            # One unit below the pause point stays free for the next ThresholdInformation reading (it
            # counts as a request itself), so the reading never takes usage past the ceiling either.
            if estimate + 1 + READING_RESERVE > limit:
                spaced = False
                resume_at = now + timedelta(seconds=PAUSE_RECHECK_SECONDS)
                reason = (
                    f"Paused: Autotask counts about {estimate:,} of {row.threshold:,} API requests in the last "
                    f"{row.timeframe_minutes} minutes ({_pct(estimate / row.threshold)}), the pause point is "
                    f"{_pct(ceiling)} (Autotask settings) so other integrations keep working. Resumes "
                    f"automatically when usage falls; next look at {resume_at:%H:%M:%S} UTC."
                )
                self._set_state("paused", reason, resume_at)
                if (now - waited_from).total_seconds() >= MAX_PAUSE_SECONDS:
                    raise AutotaskRateLimitError(
                        f"Background work gave up waiting for Autotask usage to fall below "
                        f"{_pct(ceiling)} ({method} {endpoint} was not sent).",
                        kind="hourly",
                        retryable=False,
                        method=method,
                        entity=endpoint,
                        hint="raise the pause point on the Autotask settings page, or try again later",
                    )
                self.sleep(PAUSE_RECHECK_SECONDS)
                client.threshold_information()  # the only way to see usage fall: old requests age out
                continue
            ratio = estimate / row.threshold
            if ratio >= SLOW_FROM and not spaced:
                window = row.timeframe_minutes * 60
                interval = window / max(1, limit - READING_RESERVE - estimate)
                start = self._take_turn(row, now, interval)
                if start is None:
                    continue  # another process moved the schedule: look again
                reason = (
                    f"Slowed: Autotask counts about {ratio * 100:.0f} % of its hourly threshold; background "
                    f"requests are spaced {interval:.1f} s apart so that usage stays below "
                    f"{_pct(ceiling)}."
                )
                self._set_state("slowed", reason)
                spaced = True
                delay = (start - now).total_seconds()
                if delay > 0:
                    self.sleep(delay)
                    continue  # time passed: refresh a stale reading and check the ceiling again
            elif ratio < SLOW_FROM:
                self._set_state("full")
            # Reserve this request: refused when another process took the last unit meanwhile.
            reserved = (
                PacingState.objects.filter(scope=self.scope)
                .alias(estimate=F("read_used") + F("reserved_total") - F("reserved_at_read"))
                .filter(estimate__lt=limit - READING_RESERVE - unseen)
                .update(reserved_total=F("reserved_total") + 1)
            )
            if reserved:
                self._local.prepaid = True
                return

    def _read_due(self, row):
        if row.read_at is None or not row.threshold:
            return True
        age = (self.clock() - row.read_at).total_seconds()
        if age >= READ_EVERY_SECONDS:
            return True
        sent = row.reserved_total - row.reserved_at_read
        headroom = math.floor(row.threshold * self.ceiling()) - row.read_used
        # Near the ceiling read after half of what is left: another integration's usage is seen in time.
        return sent >= max(1, min(READ_EVERY_REQUESTS, headroom // 2))

    def _take_turn(self, row, now, interval):
        """Claim the next send time on the shared schedule (compare-and-set): returns when this request
        may start, or None when another process changed the schedule first."""
        from integrations.autotask.models import PacingState

        current = row.next_send_at
        start = max(current, now) if current else now
        updated = (
            PacingState.objects.filter(scope=self.scope, next_send_at=current)
            if current
            else PacingState.objects.filter(scope=self.scope, next_send_at__isnull=True)
        ).update(next_send_at=start + timedelta(seconds=interval))
        return start if updated else None


# ------------------------------------------------------------------------------------------ call log


class CallLog:
    """Stores each request the client sent as an ``ApiCall`` row; keeps the last CALL_LOG_KEEP."""

    def __init__(self, clock=timezone.now):
        self.clock = clock

    def __call__(self, record):
        from integrations.autotask.models import ApiCall

        try:
            row = ApiCall.objects.create(
                at=self.clock(),
                method=record.method[:10],
                path=record.path[:200],
                endpoint=record.endpoint[:100],
                status_code=record.status_code,
                error_kind=record.error_kind[:40],
                duration_ms=max(0, round(record.duration_ms)),
                outcome=record.outcome[:20],
                label=(background_label() or INTERACTIVE)[:100],
            )
            if row.pk % 50 == 0:
                ApiCall.objects.filter(pk__lte=row.pk - CALL_LOG_KEEP).delete()
        except DatabaseError as exc:  # the log must never break an Autotask call (nor flood the console)
            logger.debug("Could not record an Autotask API call: %s", type(exc).__name__)
