"""Phase 4: exactly one Autotask ticket per run (docs/autotask.md, "Creating tickets").

Public API (fixed): `preview_ticket(run)`, `create_ticket_for_run(run, *, user=None)`, `ticket_for_run(run)`.
Pages use `tickets_for_runs()` and `ticket_web_url()` (database only).

The algorithm (ARCHITECTURE §6), in three steps that never hold a transaction open during an API call:

1. **Claim** (one short transaction, no API call): lock the run; a created ticket or a fresh `pending`
   claim refuses; an `unknown` claim or a `pending` one older than `CLAIM_LEASE` is taken over for
   reconciling; otherwise a `pending` AutotaskTicket + RunTicket are inserted. `RunTicket.run` is unique,
   so a concurrent second claim fails cleanly on SQLite and PostgreSQL.
2. **Reconcile** (taken-over claims only): one query for Tickets with `externalID` = the claim's
   correlation key; a hit is adopted.
3. **Create**: one POST, never repeated, then one GET for the ticket number. Any failure once the POST may
   have left this machine leaves the claim `unknown` ("checking Autotask…"): Autotask answers
   validation errors and its own failures alike with HTTP 500, so a failed POST proves nothing. Only a
   failure before anything was sent releases the claim at once.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from integrations.autotask.exceptions import (
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskServerError,
)
from integrations.autotask.messages import operator_message
from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    AutotaskTicket,
    Environment,
    EnvironmentConfig,
    ReferenceKind,
    RunTicket,
    TicketOrigin,
    TicketState,
)
from runs.models import ATTENTION_STATUSES, Run

from . import ActionRefused
from .configuration import configuration_problems, reference_rows
from .connection import build_client, credentials_for
from .mapping import mapping_for, mapping_problem

logger = logging.getLogger("integrations.autotask.tickets")

# Field lengths of Autotask's Tickets entity (`Tickets/entityInformation/fields` → `length`; see
# docs/autotask.md). Autotask is a .NET service: a length counts UTF-16 code units, so we do too.
TITLE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 8000
EXTERNAL_ID_MAX_LENGTH = 50

#: a `pending` claim older than this is presumed dead (its process crashed) and may be taken over. It is
#: renewed just before the POST, after which an attempt needs at most a POST and a read-back (each bounded
#: by the client's timeout), so a live attempt never loses its claim.
CLAIM_LEASE = timedelta(minutes=5)

ACTION = "create_ticket"
ELLIPSIS = "…"
EXECUTE_COMMAND_PATH = "Autotask/AutotaskExtend/ExecuteCommand.aspx"

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Choice:
    """A picklist value to show: the Autotask id and the cached label ("" when unknown)."""

    value: int
    label: str

    def __str__(self):
        return f"{self.label} ({self.value})" if self.label else str(self.value)


@dataclass
class TicketDraft:
    """What `create_ticket_for_run` will send for a run, for the preview page.

    `payload` is the body exactly as it will be POSTed to `/Tickets` (no nulls), except that
    `dueDateTime` is recomputed at creation (now + `due_hours`). The other attributes are for display.
    Later phases may append operator-facing sentences to `notices` (e.g. "a ticket for this job is
    already open") without changing this shape.
    """

    run: Run
    payload: dict
    environment: str
    environment_label: str
    database_id: int
    company_id: int
    company_name: str
    title: str
    description: str
    queue: Choice
    priority: Choice
    status: Choice
    source: Choice
    ticket_type: Choice | None
    due_at: datetime
    due_hours: int
    external_id: str
    job_details_url: str
    #: an earlier attempt for this run whose outcome is unknown: confirming reconciles first
    unresolved_claim: AutotaskTicket | None = None
    notices: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class _Context:
    """Everything the preconditions established (database only)."""

    run: Run
    settings: AutotaskSettings
    env_config: EnvironmentConfig
    mapping: object
    existing: AutotaskTicket | None  # an unresolved claim of this run, if any


@dataclass
class _Claim:
    ticket: AutotaskTicket
    token: datetime  # claimed_at as written by this attempt: the fence for every later write
    reconcile: bool  # taken over from an earlier attempt: query by externalID before creating
    previous_state: str = ""


# ------------------------------------------------------------------------------------------ read side


def ticket_for_run(run):
    """The run's AutotaskTicket (any state: `created`, or a `pending`/`unknown` claim), or None.

    Database only, no API call.
    """
    link = RunTicket.objects.select_related("ticket").filter(run_id=run.pk).first()
    return link.ticket if link else None


def tickets_for_runs(run_ids):
    """{run id: AutotaskTicket} for the runs that have one (one query, for list pages)."""
    links = RunTicket.objects.select_related("ticket__created_by", "ticket__claimed_by").filter(
        run_id__in=list(run_ids)
    )
    return {link.run_id: link.ticket for link in links}


def web_urls():
    """{environment: Autotask web UI base URL} from the last connection tests (one query)."""
    return dict(EnvironmentConfig.objects.values_list("environment", "web_url"))


def page_settings():
    """(AutotaskSettings or None, {environment: web URL}) for rendering pages: one query, and no write (a
    page render never creates the settings row; without it the integration counts as disabled)."""
    annotations = {
        f"web_url_{env}": Subquery(EnvironmentConfig.objects.filter(environment=env).values("web_url")[:1])
        for env in Environment.values
    }
    settings = AutotaskSettings.objects.filter(pk=1).annotate(**annotations).first()
    if settings is None:
        return None, {}
    return settings, {env: getattr(settings, f"web_url_{env}") or "" for env in Environment.values}


def ticket_web_url(ticket, web_url):
    """Autotask's own deep link to the ticket (ExecuteCommand `OpenTicketDetail` by ticket id), or "".

    `web_url` is the zone's `webUrl` (e.g. https://ww14.autotask.net/). Opening it needs an Autotask login.
    """
    if not web_url or ticket is None or not ticket.ticket_id:
        return ""
    return f"{web_url.rstrip('/')}/{EXECUTE_COMMAND_PATH}?Code=OpenTicketDetail&TicketID={ticket.ticket_id}"


def claim_is_fresh(ticket, now=None):
    """True for a `pending` claim within its lease: another attempt is working on it right now."""
    now = now or timezone.now()
    return ticket.state == TicketState.PENDING and ticket.claimed_at > now - CLAIM_LEASE


# ---------------------------------------------------------------------------------------- preconditions


def _refusal_for_existing(ticket, now=None):
    """ActionRefused for a ticket record that blocks a new attempt, else None."""
    if ticket.state == TicketState.CREATED:
        return ActionRefused(
            f"This run already has Autotask ticket {ticket.ticket_number or ticket.ticket_id}.",
            code="already_has_ticket",
        )
    if claim_is_fresh(ticket, now):
        who = ticket.claimed_by.get_username() if ticket.claimed_by_id and ticket.claimed_by else "someone"
        local = timezone.localtime(ticket.claimed_at, UTC)
        return ActionRefused(
            f"The Autotask ticket for this run is being created right now by {who} (started "
            f"{local:%H:%M:%S} UTC). Reload the page in a moment.",
            code="being_created",
        )
    return None


def _load_run(run):
    """The run, freshly read with its job and customer (a stale instance must not decide anything)."""
    fresh = Run.objects.select_related("job__customer").filter(pk=run.pk).first()
    if fresh is None:
        raise ActionRefused("This run no longer exists.", code="no_run")
    return fresh


def _check_preconditions(run):
    """Every precondition, from the database only (zero API calls). Raises ActionRefused."""
    settings = AutotaskSettings.load()
    if not settings.enabled:
        raise ActionRefused(
            "The Autotask integration is disabled: tickets cannot be created.", code="disabled"
        )
    problems = configuration_problems(settings)
    if problems:
        raise ActionRefused(
            "The Autotask integration is not configured completely: " + " ".join(problems),
            code="not_configured",
        )
    env_config = settings.active_environment()
    if run.status not in ATTENTION_STATUSES:
        raise ActionRefused(
            f"Only warning, error and missed runs get an Autotask ticket; this run's status is "
            f"{run.get_status_display()}.",
            code="status",
        )
    existing = ticket_for_run(run)
    if existing is not None:
        refusal = _refusal_for_existing(existing)
        if refusal is not None:
            raise refusal
        if (existing.environment, existing.database_id) != (env_config.environment, env_config.database_id):
            raise ActionRefused(
                "An earlier attempt to create this run's ticket in Autotask "
                f"{existing.get_environment_display()} (database {existing.database_id}) has an unknown "
                "outcome. Switch the integration back to that environment to finish it.",
                code="claim_other_tenant",
            )
    mapping = mapping_for(run.job.customer)
    refusal = mapping_problem(run.job.customer, mapping, env_config)
    if refusal is not None:
        raise refusal
    return _Context(run=run, settings=settings, env_config=env_config, mapping=mapping, existing=existing)


# ---------------------------------------------------------------------------------------------- payload


def utf16_length(text):
    """Length as Autotask counts it (.NET strings: UTF-16 code units; an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text, limit, marker=ELLIPSIS):
    """`text` shortened so that it plus `marker` fit in `limit` UTF-16 units (unchanged when it fits)."""
    if utf16_length(text) <= limit:
        return text
    budget = limit - utf16_length(marker)
    out, used = [], 0
    for char in text:
        size = utf16_length(char)
        if used + size > budget:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + marker


def plain_text(value):
    """Plain text for Autotask: normalised line breaks, no control characters other than tab/newline."""
    value = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARS.sub("", value)


def ticket_title(run):
    """`Backup <Status>: <Customer> – <Job>`, cut to Autotask's 255 characters with "…"."""
    job = run.job
    title = f"Backup {run.get_status_display()}: {job.customer.name} – {job.name}"
    return _cut(" ".join(plain_text(title).split()), TITLE_MAX_LENGTH)


def _utc(value):
    if value is None:
        return "not finished"
    return f"{timezone.localtime(value, UTC):%Y-%m-%d %H:%M:%S} UTC"


def job_details_url(settings, run):
    """The absolute URL of the run's Job Details page (the settings' Backupchecks base URL + path)."""
    return settings.base_url.rstrip("/") + run.job.get_absolute_url()


def ticket_description(run, settings):
    """The plain-text description: facts first (never cut), then summary and details, which are shortened
    with a visible marker so that the whole text stays within Autotask's 8,000 characters."""
    job = run.job
    software = job.backup_software or "—"
    if job.backup_software and job.job_type:
        software = f"{job.backup_software} ({job.job_type})"
    base = settings.base_url.rstrip("/")
    head = "\n".join(
        [
            f"Backupchecks reports a backup run with status {run.get_status_display()}.",
            "",
            f"Customer: {job.customer.name}",
            f"Job: {job.name}",
            f"Backup software: {software}",
            f"Status: {run.get_status_display()}",
            f"Started: {_utc(run.started_at)}",
            f"Finished: {_utc(run.finished_at)}",
            f"Job Details: {job_details_url(settings, run)}",
            f"Run: {base}{run.get_absolute_url()}",
            "",
            "Summary:",
            plain_text(run.summary).strip() or "—",
            "",
            "Details:",
            "",
        ]
    )
    head = _cut(plain_text(head), DESCRIPTION_MAX_LENGTH)
    details = plain_text(run.details).strip() or "—"
    budget = DESCRIPTION_MAX_LENGTH - utf16_length(head)
    if utf16_length(details) <= budget:
        return head + details
    omitted = utf16_length(details)
    marker = "\n[… shortened by Backupchecks: {n:,} more characters — the full details are on the Job Details page]"
    # The marker's own length depends on the number in it: size it for the largest possible count.
    reserve = utf16_length(marker.format(n=omitted))
    kept = _cut(details, max(0, budget - reserve), marker="")
    omitted -= utf16_length(kept)
    return head + kept + marker.format(n=omitted)


def correlation_key(run, existing=None):
    """The externalID for a new ticket of `run` (database only; deterministic, so the preview shows it).

    An unresolved claim keeps its key (its reconcile looks for exactly that). Otherwise
    `BC-<run id>-<10 hex>`, the hex derived from the run's identity so that two Backupchecks
    installations on one Autotask database do not share keys; `-2`, `-3` … when an earlier ticket record
    (no longer linked to this run) already used it.
    """
    if existing is not None and existing.state != TicketState.CREATED:
        return existing.correlation_key
    digest = hashlib.sha256(f"{run.pk}|{run.job_id}|{run.created_at.isoformat()}".encode()).hexdigest()
    base = f"BC-{run.pk}-{digest[:10]}"
    taken = set(
        AutotaskTicket.objects.filter(
            Q(correlation_key=base) | Q(correlation_key__startswith=base + "-")
        ).values_list("correlation_key", flat=True)
    )
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key[:EXTERNAL_ID_MAX_LENGTH]


def _autotask_datetime(value):
    return f"{timezone.localtime(value, UTC):%Y-%m-%dT%H:%M:%SZ}"


def build_payload(ctx, key, now):
    """The Tickets POST body (ints and strings only; None values are left out: Autotask rejects nulls)."""
    env = ctx.env_config
    run = ctx.run
    payload = {
        "companyID": ctx.mapping.company_id,
        "title": ticket_title(run),
        "description": ticket_description(run, ctx.settings),
        "status": env.new_ticket_status_id,
        "priority": env.priority_id_for(run.status),
        "queueID": env.queue_id,
        "source": env.source_id,
        "ticketType": env.ticket_type_id,
        "dueDateTime": _autotask_datetime(now + timedelta(hours=ctx.settings.ticket_due_hours)),
        "externalID": key,
    }
    return {name: value for name, value in payload.items() if value is not None}


def preview_ticket(run):
    """What creating a ticket for `run` would send: a TicketDraft. Database only — zero API calls.

    Raises ActionRefused when a precondition fails (the same checks as `create_ticket_for_run`). When an
    earlier run of the job has an open ticket, `extra["open_ticket"]` holds it (see `_offer_open_ticket`).
    """
    run = _load_run(run)
    ctx = _check_preconditions(run)
    now = timezone.now()
    key = correlation_key(run, ctx.existing)
    payload = build_payload(ctx, key, now)
    env = ctx.env_config
    rows = reference_rows(env.environment, env.database_id)

    def choice(kind, value):
        if value is None:
            return None
        row = rows.get((kind, value))
        return Choice(value, row.label if row else "")

    draft = TicketDraft(
        run=run,
        payload=payload,
        environment=env.environment,
        environment_label=env.get_environment_display(),
        database_id=env.database_id,
        company_id=ctx.mapping.company_id,
        company_name=ctx.mapping.company_name,
        title=payload["title"],
        description=payload["description"],
        queue=choice(ReferenceKind.QUEUE, payload["queueID"]),
        priority=choice(ReferenceKind.PRIORITY, payload["priority"]),
        status=choice(ReferenceKind.STATUS, payload["status"]),
        source=choice(ReferenceKind.SOURCE, payload["source"]),
        ticket_type=choice(ReferenceKind.TICKET_TYPE, payload.get("ticketType")),
        due_at=now + timedelta(hours=ctx.settings.ticket_due_hours),
        due_hours=ctx.settings.ticket_due_hours,
        external_id=key,
        job_details_url=job_details_url(ctx.settings, run),
        unresolved_claim=ctx.existing,
    )
    _offer_open_ticket(draft, ctx)
    return draft


def _offer_open_ticket(draft, ctx):
    """Ticket-storm avoidance (phase 6): when an earlier run of the job has an open ticket, the preview
    offers adding this run to it (one internal note) as the default instead of a new ticket. Puts the
    AutotaskTicket in `draft.extra["open_ticket"]` and says so in `draft.notices`. Database only. Not
    offered while an earlier attempt for this run is unresolved (that attempt may have created a ticket)."""
    from .linking import open_ticket_for_job

    if ctx.existing is not None:
        return
    ticket = open_ticket_for_job(draft.run.job, ctx.settings)
    if ticket is None:
        return
    draft.extra["open_ticket"] = ticket
    draft.notices.append(
        f"Ticket {ticket.ticket_number} of an earlier run of this job is still open. Adding this run to it "
        "(with an internal note) avoids a second ticket for the same problem."
    )


# ------------------------------------------------------------------------------------------------ claim


def _claim(ctx, user):
    """Step 1: claim the run in one short transaction (no API call). Raises ActionRefused."""
    run = ctx.run
    env = ctx.env_config
    now = timezone.now()
    key = correlation_key(run, ctx.existing)
    try:
        with transaction.atomic():
            # Serialises claims for this run on PostgreSQL (SQLite serialises every write transaction).
            if not Run.objects.select_for_update().filter(pk=run.pk).exists():
                raise ActionRefused("This run no longer exists.", code="no_run")
            link = RunTicket.objects.select_related("ticket__claimed_by").filter(run_id=run.pk).first()
            if link is None:
                ticket = AutotaskTicket.objects.create(
                    environment=env.environment,
                    database_id=env.database_id,
                    correlation_key=key,
                    state=TicketState.PENDING,
                    origin=TicketOrigin.CREATED,
                    company_id=ctx.mapping.company_id,
                    created_by=_user_or_none(user),
                    created_at=now,
                    claimed_at=now,
                    claimed_by=_user_or_none(user),
                )
                RunTicket.objects.create(
                    run_id=run.pk, ticket=ticket, linked_by=_user_or_none(user), linked_at=now
                )
                return _Claim(ticket=ticket, token=now, reconcile=False)
            ticket = link.ticket
            refusal = _refusal_for_existing(ticket, now)
            if refusal is not None:
                raise refusal
            # An unknown outcome, or a pending claim whose process died: take it over (compare-and-set).
            taken = AutotaskTicket.objects.filter(
                pk=ticket.pk, state=ticket.state, claimed_at=ticket.claimed_at
            ).update(state=TicketState.PENDING, claimed_at=now, claimed_by=_user_or_none(user))
            if not taken:
                raise ActionRefused(
                    "Another attempt for this run's ticket started a moment ago. Reload the page.",
                    code="being_created",
                )
            previous = ticket.state
            ticket.state, ticket.claimed_at, ticket.claimed_by = TicketState.PENDING, now, _user_or_none(user)
            return _Claim(ticket=ticket, token=now, reconcile=True, previous_state=previous)
    except IntegrityError:
        # A concurrent claim for the same run (RunTicket.run) or key (correlation_key) committed first.
        current = ticket_for_run(run)
        refusal = _refusal_for_existing(current) if current else None
        raise refusal or ActionRefused(
            "Another attempt for this run's ticket started a moment ago. Reload the page.",
            code="being_created",
        ) from None


def _user_or_none(user):
    return user if getattr(user, "is_authenticated", False) else None


def _fenced(claim):
    """The claim's row, only while this attempt still owns it."""
    return AutotaskTicket.objects.filter(
        pk=claim.ticket.pk, state=TicketState.PENDING, claimed_at=claim.token
    )


def _renew(claim):
    """Re-check ownership and restart the lease right before the POST (never POST for a lost claim)."""
    now = timezone.now()
    if not _fenced(claim).update(claimed_at=now):
        raise ActionRefused(
            "Another attempt took over this run's ticket; nothing was sent. Reload the page.",
            code="being_created",
        )
    claim.token = claim.ticket.claimed_at = now


def _release(claim):
    """Nothing reached Autotask (or the reconcile found nothing and nothing was sent): forget the claim."""
    with transaction.atomic():
        rows = list(_fenced(claim).values_list("pk", flat=True))
        if rows:
            RunTicket.objects.filter(ticket_id__in=rows).delete()
            AutotaskTicket.objects.filter(pk__in=rows).delete()


def _mark_unknown(claim, exc, ticket_id=None):
    """The POST may have been applied: leave the claim `unknown` for the next attempt to reconcile."""
    text = operator_message(exc)[:1000]
    fields = {"state": TicketState.UNKNOWN, "last_error": text}
    if ticket_id:
        fields["ticket_id"] = ticket_id
    _fenced(claim).update(**fields)
    claim.ticket.state = TicketState.UNKNOWN
    claim.ticket.last_error = text


def _record_created(claim, item, user):
    """Store the ticket Autotask has (created now or found by the reconcile) on the claim's record.

    `created_by`/`created_at` stay those of the first attempt (set when the run was claimed)."""
    now = timezone.now()
    ticket = claim.ticket
    ticket.ticket_id = int(item["id"])
    ticket.ticket_number = str(item.get("ticketNumber") or "")
    ticket.title = str(item.get("title") or "")[:255]
    ticket.company_id = item.get("companyID") if item.get("companyID") is not None else ticket.company_id
    ticket.status_id = item.get("status")
    ticket.status_checked_at = now
    ticket.state = TicketState.CREATED
    ticket.last_error = ""
    # Not fenced: whichever attempt records it, Autotask holds exactly this one ticket for the key.
    AutotaskTicket.objects.filter(pk=ticket.pk).exclude(state=TicketState.CREATED).update(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        title=ticket.title,
        company_id=ticket.company_id,
        status_id=ticket.status_id,
        status_checked_at=now,
        state=TicketState.CREATED,
        last_error="",
    )
    ticket.refresh_from_db()
    return ticket


# --------------------------------------------------------------------------------------------- Autotask

#: read back and reconcile only what we store (IncludeFields keeps the answer small)
_TICKET_FIELDS = ["id", "ticketNumber", "title", "status", "companyID", "externalID"]


def _find_by_external_id(client, key):
    """Step 2: the ticket Autotask has for `key`, or None. One query."""
    found = list(
        client.query(
            "Tickets", [{"op": "eq", "field": "externalID", "value": key}], include_fields=_TICKET_FIELDS
        )
    )
    # Autotask compares strings case-insensitively and does not enforce unique externalIDs (reference
    # §4.2, §12): keep exact matches; should there be several, the oldest is the one we created first.
    found = sorted((t for t in found if str(t.get("externalID") or "") == key), key=lambda t: t["id"])
    if len(found) > 1:
        logger.warning("Autotask has %d tickets with externalID %s; adopting the oldest", len(found), key)
    return found[0] if found else None


def _was_sent(exc):
    """False only when `exc` proves the request never left this machine."""
    if isinstance(exc, AutotaskConfigurationError):
        return False
    return not (isinstance(exc, AutotaskConnectionError) and not exc.ambiguous)


def create_ticket_for_run(run, *, user=None):
    """Create the run's Autotask ticket — exactly once — and return its AutotaskTicket (state `created`).

    Preconditions (database only; `ActionRefused`, zero API calls): the integration is enabled and
    configured, the run's status is warning/error/missed, the run has no ticket ("already has ticket T…")
    and no attempt in flight ("being created right now by …"), and the customer's mapping is `ok` or
    `renamed` in the active tenant.

    Cost: 2 API calls on the happy path (POST /Tickets, GET /Tickets/{id} for the number; zone discovery
    is cached); +1 query by externalID when an earlier attempt's outcome is unknown (then 1 call if that
    finds the ticket).

    Idempotent: calling it again, from any process, never creates a second ticket. Raises an
    `AutotaskError` subclass when Autotask fails; if the POST may have been applied the record stays
    `unknown` and the next call reconciles first. Every attempt and its outcome is an AuditEvent.
    """
    run = _load_run(run)
    try:
        ctx = _check_preconditions(run)
        claim = _claim(ctx, user)
    except ActionRefused as exc:
        AuditEvent.record(ACTION, user=user, outcome="refused", message=str(exc), run=run, code=exc.code)
        raise
    env = ctx.env_config
    key = claim.ticket.correlation_key
    AuditEvent.record(
        ACTION,
        user=user,
        environment=env.environment,
        outcome="started",
        message=f"Creating the Autotask ticket (externalID {key})"
        + (
            f"; checking Autotask first (earlier attempt: {claim.previous_state})."
            if claim.reconcile
            else "."
        ),
        run=run,
        correlation_key=key,
        reconcile=claim.reconcile,
    )
    sent = False
    ticket_id = None
    try:
        with build_client(credentials_for(env)) as client:
            client.zone_information()  # cached; its failure sends nothing about the ticket
            if claim.reconcile:
                found = _find_by_external_id(client, key)
                if found is not None:
                    ticket = _record_created(claim, found, user)
                    _audit_success(ticket, run, user, adopted=True)
                    return ticket
                claim.reconcile = False  # Autotask has no ticket for this key: from here on, a fresh attempt
            payload = build_payload(ctx, key, timezone.now())
            _renew(claim)
            sent = True
            ticket_id = client.create("Tickets", payload)
            item = client.get("Tickets", ticket_id)
            if not item:
                raise AutotaskServerError(
                    f"Autotask created ticket id {ticket_id} but did not return it when asked for its number.",
                    entity="Tickets",
                )
            ticket = _record_created(claim, item, user)
    except ActionRefused:
        raise
    except BaseException as exc:
        _settle_failure(claim, exc, sent=sent and _was_sent(exc), ticket_id=ticket_id, run=run, user=user)
        raise
    _audit_success(ticket, run, user, adopted=False)
    return ticket


def _settle_failure(claim, exc, *, sent, ticket_id, run, user):
    """Leave the claim in the state the failure proves, and audit it. Never raises."""
    try:
        if sent or claim.reconcile:
            # The POST (or an earlier attempt's) may have been applied: the next attempt reconciles first.
            _mark_unknown(claim, exc, ticket_id)
            outcome, state = "unknown", TicketState.UNKNOWN
        else:
            _release(claim)
            outcome, state = "failed", "released"
        AuditEvent.record(
            ACTION,
            user=user,
            environment=claim.ticket.environment,
            run=run,
            message=operator_message(exc, "create the Autotask ticket"),
            outcome=outcome,
            error=type(exc).__name__,
            correlation_key=claim.ticket.correlation_key,
            ticket_id=ticket_id,
            claim=state,
        )
    except Exception:  # a failure to record must not hide the original error
        logger.exception("Could not record the failed ticket attempt for run %s", run.pk)


def _audit_success(ticket, run, user, *, adopted):
    verb = "Found" if adopted else "Created"
    AuditEvent.record(
        ACTION,
        user=user,
        environment=ticket.environment,
        outcome="adopted" if adopted else "ok",
        message=f"{verb} Autotask ticket {ticket.ticket_number} (id {ticket.ticket_id})"
        + (" from an earlier attempt (by externalID)." if adopted else "."),
        run=run,
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        correlation_key=ticket.correlation_key,
        database_id=ticket.database_id,
    )


# ------------------------------------------------------------------------------ reconcile (health page)

RECONCILE_ACTION = "reconcile_claim"


def unresolved_claims(now=None):
    """Ticket claims that need a look (health page): `unknown` ones, and `pending` ones older than
    CLAIM_LEASE (their process died). A queryset, oldest claim first; database only."""
    now = now or timezone.now()
    return AutotaskTicket.objects.filter(
        Q(state=TicketState.UNKNOWN) | Q(state=TicketState.PENDING, claimed_at__lte=now - CLAIM_LEASE)
    ).order_by("claimed_at", "pk")


@dataclass(frozen=True)
class ReconcileResult:
    """What `reconcile_claim` found: `outcome` "adopted" (Autotask has the ticket: now `created`) or
    "released" (Autotask has none: the claim is gone and Create may be tried again)."""

    outcome: str
    correlation_key: str
    ticket: AutotaskTicket | None
    run_ids: tuple

    @property
    def message(self):
        if self.outcome == "adopted":
            return (
                f"Autotask has ticket {self.ticket.ticket_number} for {self.correlation_key}: it is now linked "
                f"to run(s) {', '.join(map(str, self.run_ids))}."
            )
        return (
            f"Autotask has no ticket with externalID {self.correlation_key}: the claim is released, so Create "
            "ticket can be used again for run(s) " + ", ".join(map(str, self.run_ids)) + "."
        )


def reconcile_claim(ticket, *, user=None):
    """Settle one `unknown` (or stale `pending`) ticket claim now, from the health page's button.

    Preconditions (database only; ActionRefused, zero API calls): the integration is enabled and
    configured, the claim still exists, is `unknown` or `pending` older than CLAIM_LEASE, and belongs to the
    active tenant. Then the claim is taken over (compare-and-set, so a concurrent Create or reconcile
    refuses) and Autotask is asked for tickets with `externalID` = its correlation key (1 API call):
    found → adopted (state `created`, every run of the claim keeps it); not found → released (the claim
    and its run links are deleted; nothing was created in Autotask, so Create may be retried).

    Idempotent: a second call finds the claim settled and refuses. An AutotaskError leaves the claim
    `unknown` (as before) and is raised. Audited as "reconcile_claim".
    """
    now = timezone.now()
    settings = AutotaskSettings.load()
    try:
        if not settings.enabled:
            raise ActionRefused(
                "The Autotask integration is disabled: claims cannot be checked in Autotask.", code="disabled"
            )
        problems = configuration_problems(settings)
        if problems:
            raise ActionRefused(
                "The Autotask integration is not configured completely: " + " ".join(problems),
                code="not_configured",
            )
        current = AutotaskTicket.objects.filter(pk=ticket.pk).first()
        if current is None:
            raise ActionRefused("This ticket claim no longer exists (it was settled meanwhile).", code="gone")
        if current.state == TicketState.CREATED:
            raise ActionRefused(
                f"This claim is already settled: ticket {current.ticket_number or current.ticket_id}.",
                code="already_has_ticket",
            )
        if claim_is_fresh(current, now):
            raise ActionRefused(
                "This ticket is being created right now; reconcile only claims older than "
                f"{int(CLAIM_LEASE.total_seconds() // 60)} minutes.",
                code="being_created",
            )
        env = settings.active_environment()
        if (current.environment, current.database_id) != (env.environment, env.database_id):
            raise ActionRefused(
                f"This claim belongs to Autotask {current.get_environment_display()} (database "
                f"{current.database_id}); switch the integration to that environment to check it.",
                code="claim_other_tenant",
            )
        taken = AutotaskTicket.objects.filter(
            pk=current.pk, state=current.state, claimed_at=current.claimed_at
        ).update(state=TicketState.PENDING, claimed_at=now, claimed_by=_user_or_none(user))
        if not taken:
            raise ActionRefused(
                "Another attempt took this claim over a moment ago. Reload the page.", code="being_created"
            )
    except ActionRefused as exc:
        AuditEvent.record(RECONCILE_ACTION, user=user, outcome="refused", message=str(exc), code=exc.code)
        raise
    previous = current.state
    current.state, current.claimed_at = TicketState.PENDING, now
    claim = _Claim(ticket=current, token=now, reconcile=True, previous_state=previous)
    key = current.correlation_key
    run_ids = tuple(
        RunTicket.objects.filter(ticket_id=current.pk).order_by("run_id").values_list("run_id", flat=True)
    )
    try:
        with build_client(credentials_for(env)) as client:
            found = _find_by_external_id(client, key)
    except BaseException as exc:
        _mark_unknown(claim, exc)
        AuditEvent.record_failure(
            RECONCILE_ACTION, exc, user=user, environment=env.environment, correlation_key=key
        )
        raise
    if found is not None:
        adopted = _record_created(claim, found, user)
        result = ReconcileResult("adopted", key, adopted, run_ids)
    else:
        _release(claim)
        result = ReconcileResult("released", key, None, run_ids)
    AuditEvent.record(
        RECONCILE_ACTION,
        user=user,
        environment=env.environment,
        outcome=result.outcome,
        message=result.message,
        correlation_key=key,
        previous_state=previous,
        run_ids=list(run_ids),
        ticket_id=result.ticket.ticket_id if result.ticket else None,
    )
    return result
