"""Run ingestion shared by `POST /api/runs/` and `manage.py import_runs`.

Two steps, both all-or-nothing:

* `validate_runs(raw_items)` checks every item (field by field, plus one query per 500 distinct customer
  names) and returns `RunInput`s, or raises `IngestValidationError` listing *every* problem.
* `store_runs(items, source=...)` writes them in one transaction, in chunks of `settings.INGEST_MAX_ITEMS`
  (a constant number of queries per chunk, never one SELECT per item), and sends `run_recorded` on commit
  for each run it created.

`ingest_runs()` does both.

Decisions (documented for senders, see also the API docstring in runs/api.py):

* `external_id` is **required**: it is what makes a retry safe. Idempotency key: (customer, job,
  external_id). Re-sending a known run returns the stored run unchanged (no update, no signal).
* The same (customer, job, external_id) twice in one batch/file is an error on the later item — a sender
  that does this has a bug, and guessing which copy is right would hide it.
* Timestamps must be ISO-8601 **with** an offset (`Z` or `+02:00`); a naive timestamp is an error because
  guessing UTC would silently shift runs sent in local time. Stored in UTC. Not before 2000-01-01, not
  more than `MAX_CLOCK_SKEW` (1 day) in the future.
* A job is created on first sight with the item's `backup_software`, `job_type` and `schedule`; for an
  existing job those fields are ignored (the admin owns them once the job exists).
* The customer must exist (its name matched ignoring case: "ACME" finds "Acme"); customers are never
  created by ingestion.
* Unknown fields are rejected, so a typo such as `"stauts"` is not silently dropped.
* Text must be storable: NUL characters and unpaired surrogate escapes (`"\\ud800"`, valid JSON but not
  encodable as UTF-8) are rejected in every field; names and identifiers (customer, job, software, type,
  schedule, external_id) must also be one line of visible text: no line breaks, tabs, control characters,
  invisible or direction-changing formatting characters (backupchecks/validators.py).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from backupchecks.validators import single_line_problem
from customers.models import Customer

from .models import BackupJob, Run, RunStatus
from .signals import run_recorded

logger = logging.getLogger(__name__)

NON_FIELD = "__all__"
MAX_CLOCK_SKEW = timedelta(days=1)
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
#: attempts when a concurrent writer inserts the same job/run between our SELECT and INSERT
_STORE_ATTEMPTS = 3

_STRING_LIMITS = {
    "customer": Customer._meta.get_field("name").max_length,
    "job": BackupJob._meta.get_field("name").max_length,
    "backup_software": BackupJob._meta.get_field("backup_software").max_length,
    "job_type": BackupJob._meta.get_field("job_type").max_length,
    "schedule": BackupJob._meta.get_field("schedule").max_length,
    "summary": Run._meta.get_field("summary").max_length,
    # A few MB of log text per run is the sender's job to trim: one such run made list pages slow (issue 12.4).
    "details": settings.INGEST_MAX_DETAILS_CHARS,
    "external_id": Run._meta.get_field("source_external_id").max_length,
}
#: names and identifiers: one line of text. `summary` and `details` may hold whatever the sender reports.
_SINGLE_LINE_FIELDS = frozenset({"customer", "job", "backup_software", "job_type", "schedule", "external_id"})
REQUIRED_FIELDS = ("customer", "job", "started_at", "status", "external_id")
OPTIONAL_FIELDS = ("backup_software", "job_type", "schedule", "finished_at", "summary", "details")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)


@dataclass(frozen=True)
class IngestError:
    """One problem with one item. `index` is the item's position label (list index, or file line number)."""

    index: int | None
    field: str
    message: str

    def as_dict(self):
        return {"index": self.index, "field": self.field, "message": self.message}


class IngestValidationError(Exception):
    """Raised when at least one item is invalid; nothing has been written. `errors` lists every problem."""

    def __init__(self, errors: Sequence[IngestError]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} validation error(s)")


@dataclass
class RunInput:
    """A validated run, ready to store. Timestamps are aware UTC datetimes."""

    customer: str
    job: str
    started_at: datetime
    status: str
    external_id: str
    finished_at: datetime | None = None
    summary: str = ""
    details: str = ""
    backup_software: str = ""
    job_type: str = ""
    schedule: str = ""
    customer_id: int | None = None

    @property
    def key(self):
        # Customer names match ignoring case, so "ACME" and "Acme" name the same customer here too.
        return (self.customer.lower(), self.job, self.external_id)


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one input item. `run` is None in a dry run."""

    run: Run | None
    created: bool


@dataclass
class IngestResult:
    outcomes: list[RunOutcome] = field(default_factory=list)
    dry_run: bool = False

    @property
    def created_count(self):
        return sum(1 for outcome in self.outcomes if outcome.created)

    @property
    def existing_count(self):
        return sum(1 for outcome in self.outcomes if not outcome.created)


# --- validation -----------------------------------------------------------------------------------------


def _shorten(value, limit=60):
    """The start of `value` for an error message, always encodable (unpaired surrogates escaped)."""
    text = str(value)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    # Echoed text must neither break an encoder nor drive a terminal (import_runs prints it).
    text = "".join(repr(char)[1:-1] if unicodedata.category(char) == "Cc" else char for char in text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _has_lone_surrogate(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _clean_string(item, name, errors, *, required):
    value = item.get(name)
    if value is None:
        if required:
            errors.append((name, "This field is required."))
        return ""
    if name == "external_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.append((name, "Must be a string."))
        return ""
    value = value.strip() if name != "details" else value
    if "\x00" in value:
        errors.append((name, "Must not contain NUL characters."))
        return ""
    if _has_lone_surrogate(value):
        # JSON allows "\ud800"; no database can store it (UTF-8 has no encoding for it).
        errors.append((name, "Must be valid Unicode text (contains an unpaired surrogate escape)."))
        return ""
    if name in _SINGLE_LINE_FIELDS and (problem := single_line_problem(value)):
        # The same rule as every single-line form field (backupchecks/validators.py): also invisible and
        # direction-changing characters (U+200B, U+FEFF, U+202E, U+2028), which make look-alike jobs.
        errors.append((name, problem))
        return ""
    if required and not value:
        errors.append((name, "This field may not be blank."))
        return ""
    limit = _STRING_LIMITS[name]
    if limit is not None and len(value) > limit:
        errors.append((name, f"At most {limit} characters (got {len(value)})."))
        return ""
    return value


def _clean_datetime(item, name, errors, *, required, now):
    value = item.get(name)
    if value is None:
        if required:
            errors.append((name, "This field is required."))
        return None
    if not isinstance(value, str):
        errors.append((name, "Must be an ISO-8601 timestamp string, e.g. 2025-01-31T22:00:00Z."))
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.append((name, f"Not an ISO-8601 timestamp: '{_shorten(value)}'."))
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        errors.append((name, "Timestamp needs a UTC offset, e.g. 2025-01-31T22:00:00Z or +01:00."))
        return None
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        errors.append((name, "Timestamp is out of range."))
        return None
    if parsed < EARLIEST_START:
        errors.append((name, f"Timestamp is before {EARLIEST_START:%Y-%m-%d}."))
        return None
    if parsed > now + MAX_CLOCK_SKEW:
        errors.append((name, "Timestamp is more than one day in the future."))
        return None
    return parsed


def _clean_status(item, errors):
    value = item.get("status")
    if value is None:
        errors.append(("status", "This field is required."))
        return ""
    allowed = ", ".join(RunStatus.values)
    if not isinstance(value, str) or value.strip().lower() not in RunStatus.values:
        errors.append(("status", f"Unknown status '{_shorten(value)}'; expected one of {allowed}."))
        return ""
    return value.strip().lower()


def validate_item(item, *, now=None):
    """Check one raw item without touching the database.

    Returns (RunInput or None, [(field, message), …]). Status is accepted case-insensitively.
    """
    now = now or timezone.now()
    if not isinstance(item, dict):
        return None, [(NON_FIELD, "Each run must be a JSON object.")]
    errors = [(_shorten(name), "Unknown field.") for name in sorted(set(item) - KNOWN_FIELDS)]
    strings = {
        name: _clean_string(item, name, errors, required=name in REQUIRED_FIELDS) for name in _STRING_LIMITS
    }
    status = _clean_status(item, errors)
    started_at = _clean_datetime(item, "started_at", errors, required=True, now=now)
    finished_at = _clean_datetime(item, "finished_at", errors, required=False, now=now)
    if started_at and finished_at and finished_at < started_at:
        errors.append(("finished_at", "Must not be earlier than started_at."))
    if errors:
        return None, errors
    return RunInput(status=status, started_at=started_at, finished_at=finished_at, **strings), []


def validate_runs(raw_items, *, labels=None, label_name="index", now=None):
    """Validate every item; return [RunInput] with `customer_id` set, or raise IngestValidationError.

    `labels` (default: list positions) is what errors report as `index` — the import command passes line
    numbers. Reads the database only to look up customers (one query per 500 distinct names).
    """
    labels = list(range(len(raw_items))) if labels is None else list(labels)
    now = now or timezone.now()
    errors: list[IngestError] = []
    items: list[tuple[int, RunInput]] = []
    first_seen: dict[tuple, int] = {}
    for label, raw in zip(labels, raw_items, strict=True):
        item, item_errors = validate_item(raw, now=now)
        errors.extend(IngestError(label, name, message) for name, message in item_errors)
        if item is None:
            continue
        if item.key in first_seen:
            errors.append(
                IngestError(
                    label,
                    "external_id",
                    f"Same customer, job and external_id as {label_name} {first_seen[item.key]}.",
                )
            )
            continue
        first_seen[item.key] = label
        items.append((label, item))

    # Unknown customers are reported for items with other errors too, so one round trip shows everything.
    named = [(label, _plain_customer_name(raw)) for label, raw in zip(labels, raw_items, strict=True)]
    named = [(label, name) for label, name in named if name]
    customer_ids = _customer_ids({name for _, name in named})
    for label, name in named:
        if name not in customer_ids:
            errors.append(IngestError(label, "customer", f"Unknown customer '{_shorten(name)}'."))
    for _, item in items:
        item.customer_id = customer_ids.get(item.customer)
    if errors:
        errors.sort(key=lambda error: (error.index is None, error.index if error.index is not None else 0))
        raise IngestValidationError(errors)
    return [item for _, item in items]


def _plain_customer_name(raw):
    """The item's customer name if it is a usable string (else validate_item reports it), or None."""
    name = raw.get("customer") if isinstance(raw, dict) else None
    if not isinstance(name, str) or "\x00" in name or _has_lone_surrogate(name):
        return None
    name = name.strip()
    return name if 0 < len(name) <= _STRING_LIMITS["customer"] else None


def _chunks(sequence, size):
    for start in range(0, len(sequence), size):
        yield sequence[start : start + size]


def _customer_ids(names):
    """{name as sent: customer id} for each name that matches a customer ignoring case.

    One query per 500 names. The exact name always matches; otherwise the database's LOWER() must agree
    with Python's (every letter on PostgreSQL, ASCII letters only on SQLite).
    """
    found = {}
    for chunk in _chunks(sorted(names), settings.INGEST_MAX_ITEMS):
        rows = list(
            Customer.objects.annotate(lowered=Lower("name"))
            .filter(Q(name__in=chunk) | Q(lowered__in={name.lower() for name in chunk}))
            .values_list("name", "id")
        )
        exact = dict(rows)
        folded = {name.lower(): pk for name, pk in rows}
        for name in chunk:
            pk = exact.get(name) or folded.get(name.lower())
            if pk is not None:
                found[name] = pk
    return found


# --- storing --------------------------------------------------------------------------------------------


def store_runs(
    items: Sequence[RunInput], *, source, dry_run=False, progress: Callable[[int], None] | None = None
):
    """Store validated runs; return an IngestResult with one RunOutcome per item, in input order.

    All-or-nothing: everything happens in one transaction (a savepoint if the caller already has one).
    Idempotent: an item whose (job, external_id) is already stored returns that run with created=False
    and is not changed. `run_recorded` is sent on commit, once per created run, with `source`.
    `dry_run` only reads: it reports what would be created and writes nothing (runs are None).
    `progress(n)` is called after each chunk with the number of items it handled.
    """
    if dry_run:
        return _plan(items, progress)
    for attempt in range(1, _STORE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                result = IngestResult()
                created_runs = []
                for chunk in _chunks(list(items), settings.INGEST_MAX_ITEMS):
                    outcomes = _store_chunk(chunk)
                    result.outcomes.extend(outcomes)
                    created_runs.extend(outcome.run for outcome in outcomes if outcome.created)
                    if progress:
                        progress(len(chunk))
                for run in created_runs:
                    transaction.on_commit(_recorded_sender(run, source))
                return result
        except IntegrityError:
            # A concurrent request stored the same job or run after our SELECT. Everything was rolled back;
            # the next attempt sees the committed row and reports it as already present.
            if attempt == _STORE_ATTEMPTS:
                raise
            logger.info("Ingestion raced with a concurrent writer; retrying (attempt %s).", attempt + 1)
    raise AssertionError("unreachable")  # pragma: no cover


def ingest_runs(raw_items, *, source, labels=None, label_name="index", dry_run=False, progress=None):
    """validate_runs() then store_runs(). Raises IngestValidationError with nothing written."""
    items = validate_runs(raw_items, labels=labels, label_name=label_name)
    return store_runs(items, source=source, dry_run=dry_run, progress=progress)


def _recorded_sender(run, source):
    def send():
        # send_robust: one broken receiver must neither hide the run from the other receivers nor turn an
        # already committed ingestion into an error response.
        for receiver, response in run_recorded.send_robust(sender=Run, run=run, source=source):
            if isinstance(response, Exception):
                logger.error(
                    "run_recorded receiver %r failed for run %s",
                    receiver,
                    run.pk,
                    exc_info=(type(response), response, response.__traceback__),
                )

    return send


def _existing_jobs(items):
    """{(customer_id, job name): BackupJob} for the jobs these items name that already exist."""
    wanted = {(item.customer_id, item.job) for item in items}
    jobs = BackupJob.objects.filter(
        customer_id__in={customer_id for customer_id, _ in wanted}, name__in={name for _, name in wanted}
    ).select_related("customer")
    return {(job.customer_id, job.name): job for job in jobs if (job.customer_id, job.name) in wanted}


def _existing_runs(jobs_by_key, items):
    """{(job_id, external_id): Run} for the items' runs that are already stored."""
    job_ids = {
        jobs_by_key[(item.customer_id, item.job)].pk
        for item in items
        if (item.customer_id, item.job) in jobs_by_key
    }
    if not job_ids:
        return {}
    runs = Run.objects.filter(
        job_id__in=job_ids, source_external_id__in={item.external_id for item in items}
    ).select_related("job__customer")
    return {(run.job_id, run.source_external_id): run for run in runs}


def _store_chunk(items):
    jobs = _existing_jobs(items)
    missing = {}
    for item in items:
        key = (item.customer_id, item.job)
        if key not in jobs and key not in missing:
            missing[key] = BackupJob(
                customer_id=item.customer_id,
                name=item.job,
                backup_software=item.backup_software,
                job_type=item.job_type,
                schedule=item.schedule,
            )
    if missing:
        # ignore_conflicts: a job created concurrently is simply picked up by the re-read below.
        BackupJob.objects.bulk_create(missing.values(), ignore_conflicts=True)
        jobs = _existing_jobs(items)

    existing = _existing_runs(jobs, items)
    outcomes: list[RunOutcome | None] = []
    new_runs = []
    for item in items:
        job = jobs[(item.customer_id, item.job)]
        run = existing.get((job.pk, item.external_id))
        if run is not None:
            outcomes.append(RunOutcome(run=run, created=False))
            continue
        run = Run(
            job=job,
            started_at=item.started_at,
            finished_at=item.finished_at,
            status=item.status,
            summary=item.summary,
            details=item.details,
            source_external_id=item.external_id,
        )
        new_runs.append(run)
        outcomes.append(RunOutcome(run=run, created=True))
    if new_runs:
        Run.objects.bulk_create(new_runs)
    return outcomes


def _plan(items, progress):
    """Dry run: which items would be created. Reads only."""
    result = IngestResult(dry_run=True)
    for chunk in _chunks(list(items), settings.INGEST_MAX_ITEMS):
        jobs = _existing_jobs(chunk)
        existing = _existing_runs(jobs, chunk)
        for item in chunk:
            job = jobs.get((item.customer_id, item.job))
            stored = job is not None and (job.pk, item.external_id) in existing
            result.outcomes.append(RunOutcome(run=None, created=not stored))
        if progress:
            progress(len(chunk))
    return result
