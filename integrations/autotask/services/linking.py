"""Phase 6: the disable switch's consequences, compatibility mode, linking existing Autotask tickets, the
ticket-storm offer and the migration helper for manual ticket numbers.

Public API (fixed): `integration_active`, `find_ticket` (→ `TicketSummary`), `link_ticket_to_run`.
Also: `manual_ticket_entry_allowed` (the core policy), `inactive_reason`, `parse_reference`,
`open_ticket_for_job` + `add_run_to_open_ticket` (ticket-storm avoidance) and `link_manual_tickets`
(`manage.py autotask_link_manual_tickets`).

"Complete": Autotask's ticket status 5 is the system status Complete (docs/autotask-phase6.md); a ticket is
also treated as complete when its status is the environment's configured "status that means resolved".
"""

import functools
import logging
import re
import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    AutotaskTicket,
    RunTicket,
    TicketOrigin,
    TicketState,
)

from . import ActionRefused
from .configuration import configuration_problems
from .connection import build_client, credentials_for
from .mapping import mapping_for, mapping_problem

logger = logging.getLogger(__name__)

#: Autotask's system ticket status "Complete" (the same id in every tenant; docs/autotask-phase6.md)
AUTOTASK_COMPLETE_STATUS = 5
#: the most OR conditions Autotask accepts in one query (docs/autotask-phase6.md)
MAX_OR_CONDITIONS = 500
#: what a query for a ticket reads (kept small: the lookup is one request)
TICKET_FIELDS = ["id", "ticketNumber", "title", "companyID", "status"]

# As people type them: "T20261127.0042", " t20261127.0042 " — Autotask numbers are T + yyyymmdd + "." + 4+
# digits (per day, per tenant).
# re.ASCII: only 0-9 are digits here ("٣٣" is not ticket id 33; Autotask's numbers are ASCII)
_TICKET_NUMBER = re.compile(r"^T\d{8}\.\d{4,}$", re.ASCII)
_TICKET_ID = re.compile(r"^\d{1,18}$", re.ASCII)


# --- the switch -----------------------------------------------------------------------------------------


def integration_active(settings=None):
    """True when the integration is enabled and configured (usable). Database only — no API call.

    `False` means: no page, action, command, task or receiver may call Autotask (docs/autotask-phase6.md).
    """
    settings = settings or AutotaskSettings.load()
    return settings.enabled and not configuration_problems(settings)


def inactive_reason(settings=None):
    """Why nothing may call Autotask right now (a sentence for logs, task results, messages), or "" when
    the integration is active. Database only. For tasks that start after the switch was turned off."""
    settings = settings or AutotaskSettings.load()
    if not settings.enabled:
        return "The Autotask integration is disabled; nothing was sent to Autotask."
    problems = configuration_problems(settings)
    if problems:
        return "The Autotask integration is not usable: " + " ".join(problems)
    return ""


def only_while_active(func):
    """Decorator for background task functions (apply under `@task`): when the integration is not active at
    the moment the task *starts* — e.g. it was disabled after the task was queued — the task does nothing
    (no API call), logs why and returns `{"skipped": <reason>}`. Otherwise it runs `func` unchanged."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        reason = inactive_reason()
        if reason:
            logger.info("Autotask task %s skipped: %s", func.__name__, reason)
            return {"skipped": reason}
        return func(*args, **kwargs)

    return wrapper


def manual_ticket_entry_allowed(request, run):
    """The core policy `manual_ticket_entry_allowed` (backupchecks/extensions.py): manual ticket numbers
    may be entered while the integration is disabled, or while it is enabled with compatibility mode on.
    One query (the settings row)."""
    settings = AutotaskSettings.load()
    return not settings.enabled or settings.compatibility_mode


def _require_active(settings):
    if not settings.enabled:
        raise ActionRefused(
            "The Autotask integration is disabled: nothing was looked up in or sent to Autotask.",
            code="integration_disabled",
        )
    problems = configuration_problems(settings)
    if problems:
        raise ActionRefused(
            "The Autotask integration is not usable: " + " ".join(problems), code="not_configured"
        )


# --- looking tickets up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketSummary:
    """One Autotask ticket as a lookup found it (Autotask's own values, read just now)."""

    id: int
    number: str
    title: str
    company_id: int | None
    status_id: int | None
    is_complete: bool


@dataclass(frozen=True)
class TicketReference:
    """A parsed reference: exactly one of `number` (normalised, e.g. "T20261127.0042") or `id`."""

    number: str = ""
    id: int | None = None

    def __str__(self):
        return self.number or f"ticket id {self.id}"

    def described(self):
        """After "ticket": "T20261127.0042" or "with id 7702" (so a sentence never says "ticket ticket id")."""
        return self.number or f"with id {self.id}"


def parse_reference(reference):
    """Parse what an operator typed: a ticket number ("T20261127.0042", any case, surrounding whitespace
    ignored) or a numeric ticket id. Raises ActionRefused (code "bad_reference") otherwise. No API call."""
    text = str(reference or "").strip()
    if _TICKET_NUMBER.match(text.upper()):
        return TicketReference(number=text.upper())
    if _TICKET_ID.match(text) and int(text) > 0:
        return TicketReference(id=int(text))
    raise ActionRefused(
        f"“{text[:60]}” is not an Autotask ticket number (like T20261127.0042) or ticket id (a number).",
        code="bad_reference",
    )


def is_complete_status(status_id, env_config):
    """Whether Autotask status `status_id` means the ticket is done: Autotask's Complete (5) or the
    environment's configured "status that means resolved"."""
    if status_id is None:
        return False
    return status_id == AUTOTASK_COMPLETE_STATUS or status_id == env_config.resolved_status_id


def _as_int(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _summary(item, env_config):
    status_id = _as_int(item.get("status"))
    return TicketSummary(
        id=int(item["id"]),
        number=str(item.get("ticketNumber") or ""),
        title=str(item.get("title") or ""),
        company_id=_as_int(item.get("companyID")),
        status_id=status_id,
        is_complete=is_complete_status(status_id, env_config),
    )


def _not_found(parsed):
    """The refusal for a reference Autotask has no ticket for (one wording for lookup and link)."""
    return ActionRefused(
        f"Autotask has no ticket {parsed.described()} (or the API user cannot see it). Check the number.",
        code="not_found",
    )


def _lookup(env_config, parsed):
    """One API call: the ticket for `parsed`, or None."""
    with build_client(credentials_for(env_config)) as client:
        if parsed.id is not None:
            item = client.get("Tickets", parsed.id)
        else:
            items = client.query(
                "Tickets",
                [{"op": "eq", "field": "ticketNumber", "value": parsed.number}],
                include_fields=TICKET_FIELDS,
                max_records=1,
            )
            item = next(iter(items), None)
    return _summary(item, env_config) if item else None


def find_ticket(reference):
    """Look an existing Autotask ticket up by number ("T20261127.0042" as typed) or by id.

    Returns a TicketSummary. Costs exactly one API call (a Tickets query by number, or a get by id; zone
    discovery is cached by the client). Raises ActionRefused — with zero API calls — when the reference is
    malformed or the integration is disabled/unusable, and ActionRefused (code "not_found", after the one
    call) when Autotask has no such ticket (or the API user cannot see it); AutotaskError when Autotask
    fails. Read-only: safe to repeat.
    """
    settings = AutotaskSettings.load()
    _require_active(settings)
    parsed = parse_reference(reference)
    summary = _lookup(settings.active_environment(), parsed)
    if summary is None:
        raise _not_found(parsed)
    return summary


# --- linking a ticket to a run ---------------------------------------------------------------------------


def company_check(run, summary, env_config):
    """("ok" | "mismatch" | "unmapped" | "unusable", mapping or None) — the ticket's company against the run's
    customer's mapped company in the active tenant. "unmapped": the customer has no mapping; "unusable":
    its mapping cannot be used (`mapping.mapping_problem`: inactive, missing, invalid or another
    database), so the ticket's company cannot be checked. Database only."""
    mapping = mapping_for(run.job.customer)
    problem = mapping_problem(run.job.customer, mapping, env_config)
    if problem is not None:
        return ("unmapped" if problem.code == "unmapped" else "unusable"), mapping
    if summary.company_id != mapping.company_id:
        return "mismatch", mapping
    return "ok", mapping


def refuse_if_linked(run):
    """ActionRefused ("already_has_ticket") when `run` has a ticket (or a claim for one). One query."""
    existing = RunTicket.objects.filter(run=run).select_related("ticket").first()
    if existing is not None:
        raise ActionRefused(
            f"This run already has Autotask ticket {existing.ticket}; a run has at most one ticket.",
            code="already_has_ticket",
        )


def store_ticket(env_config, summary, *, origin=TicketOrigin.LINKED, user=None):
    """The AutotaskTicket row of `summary`'s ticket in this tenant: the existing one (its last known status
    refreshed) or a new `created`-state row. Call inside a transaction. Never creates a duplicate: one row
    per (environment, database id, ticket id)."""
    now = timezone.now()
    known = {
        "ticket_number": summary.number,
        "title": summary.title[:255],
        "company_id": summary.company_id,
        "status_id": summary.status_id,
        "is_complete": summary.is_complete,
        "status_checked_at": now,
    }
    ticket = (
        AutotaskTicket.objects.select_for_update()
        .filter(environment=env_config.environment, database_id=env_config.database_id, ticket_id=summary.id)
        .first()
    )
    if ticket is not None:
        AutotaskTicket.objects.filter(pk=ticket.pk).update(**known)
        for name, value in known.items():
            setattr(ticket, name, value)
        return ticket, False
    try:
        with transaction.atomic():
            ticket = AutotaskTicket.objects.create(
                environment=env_config.environment,
                database_id=env_config.database_id,
                correlation_key=f"link-{uuid.uuid4().hex}",
                state=TicketState.CREATED,
                origin=origin,
                ticket_id=summary.id,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                claimed_by=None,
                **known,
            )
    except IntegrityError:
        # Stored by a concurrent link of the same ticket (ticket_once_per_tenant): use that row.
        ticket = AutotaskTicket.objects.get(
            environment=env_config.environment, database_id=env_config.database_id, ticket_id=summary.id
        )
        return ticket, False
    return ticket, True


def _attach(run, ticket, user):
    """Create the run's RunTicket (inside a transaction). ActionRefused when the run got one meanwhile."""
    try:
        with transaction.atomic():
            RunTicket.objects.create(
                run=run, ticket=ticket, linked_by=user if getattr(user, "is_authenticated", False) else None
            )
    except IntegrityError:
        raise ActionRefused(
            "This run got an Autotask ticket meanwhile (someone else linked or created one); nothing was "
            "changed. Reload the page.",
            code="already_has_ticket",
        ) from None


def link_ticket_to_run(run, reference, *, user=None, allow_company_mismatch=False):
    """Link the existing Autotask ticket `reference` (number as typed, or id) to `run`; returns the stored
    AutotaskTicket (origin "linked", or the existing row when Backupchecks already knows the ticket — one
    ticket may cover many runs).

    Cost: one API call (the lookup) and no Autotask write. Refused with ActionRefused and zero API calls
    when compatibility mode is off, the integration is disabled/unusable, the run already has a ticket or
    the reference is malformed; after the lookup when the ticket does not exist ("not_found") or its
    company is not the customer's mapped company ("company_mismatch", also when the customer is not mapped)
    and `allow_company_mismatch` is False. A Complete ticket can be linked (it is stored as complete).
    Idempotency: a second call for the same run is refused ("already_has_ticket"); the ticket row is never
    duplicated. No Autotask call runs inside a database transaction. Audited as "ticket_linked".
    """
    settings = AutotaskSettings.load()
    _require_active(settings)
    if not settings.compatibility_mode:
        raise ActionRefused(
            "Linking existing Autotask tickets needs compatibility mode (Autotask settings).",
            code="compatibility_off",
        )
    env_config = settings.active_environment()
    parsed = parse_reference(reference)
    refuse_if_linked(run)

    summary = _lookup(env_config, parsed)  # outside any transaction
    if summary is None:
        raise _not_found(parsed)
    verdict, mapping = company_check(run, summary, env_config)
    if verdict != "ok" and not allow_company_mismatch:
        raise ActionRefused(
            company_warning(verdict, summary, mapping, run, env_config), code="company_mismatch"
        )

    with transaction.atomic():
        ticket, _created = store_ticket(env_config, summary, user=user)
        _attach(run, ticket, user)
        AuditEvent.record(
            "ticket_linked",
            user=user,
            environment=env_config.environment,
            message=f"Linked existing ticket {summary.number} to the run"
            + (" (Complete in Autotask)" if summary.is_complete else "")
            + ("" if verdict == "ok" else " despite the company warning"),
            run=run,
            ticket_id=summary.id,
            ticket_number=summary.number,
            company_id=summary.company_id,
            company_check=verdict,
            database_id=env_config.database_id,
        )
    return ticket


def company_warning(verdict, summary, mapping, run, env_config=None):
    """The operator's warning for a company check that is not "ok" ("" when it is). For "unmapped" and
    "unusable" it starts with the same sentence a Create would be refused with (`mapping.mapping_problem`)."""
    customer = run.job.customer.name
    if verdict == "mismatch":
        return (
            f"Ticket {summary.number} belongs to Autotask company {summary.company_id}, not to the company "
            f"customer “{customer}” is mapped to: {mapping.company_name} ({mapping.company_id})."
        )
    if verdict in ("unmapped", "unusable"):
        env_config = env_config or AutotaskSettings.load().active_environment()
        problem = mapping_problem(run.job.customer, mapping, env_config)
        return (
            f"{problem} So the company of ticket {summary.number} ({summary.company_id}) cannot be checked "
            "against it."
        )
    return ""


# --- ticket-storm avoidance (offered by phase 4's preview) ------------------------------------------------


def open_ticket_for_job(job, settings=None):
    """The open ticket of an earlier run of `job` in the active tenant, or None. Database only (no API call,
    one or two queries): created (not pending/unknown), last known status not complete, not resolved from
    Backupchecks, no sync problem. The newest one when there are several.

    Phase 4's preview offers linking the new run to it (and adding an internal note) instead of creating
    another ticket — so that a failing job does not open a ticket every night.
    """
    settings = settings or AutotaskSettings.load()
    env_config = settings.active_environment()
    if env_config.database_id is None:
        return None
    return (
        AutotaskTicket.objects.filter(
            environment=env_config.environment,
            database_id=env_config.database_id,
            state=TicketState.CREATED,
            ticket_id__isnull=False,
            is_complete=False,
            resolved_at__isnull=True,
            sync_problem="",
            run_links__run__job=job,
        )
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass
class StormLinkResult:
    """What `add_run_to_open_ticket` did: the run is linked to `ticket`; the note is `note_id` (None when
    adding it failed: `note_error` says why, and the link stays)."""

    ticket: AutotaskTicket
    note_id: int | None = None
    note_error: str = ""


def storm_note(run, settings):
    """The internal note's title and description for a run added to an open ticket (no secrets, no HTML)."""
    job = run.job
    when = timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f"Another {run.get_status_display().lower()} run of backup job {job.name} ({job.customer.name}) "
        f"started {when}.",
    ]
    if run.summary:
        lines.append(f"Summary: {run.summary}")
    if settings.base_url:
        lines.append(f"Job history: {settings.base_url}{job.get_absolute_url()}")
    return f"Backupchecks: another {run.get_status_display().lower()} run", "\n".join(lines)


def add_run_to_open_ticket(run, ticket, *, user=None):
    """Link `run` to the open `ticket` of an earlier run of the same job and add an internal note about it
    to the ticket (the storm-avoidance choice of phase 4's preview). Returns a StormLinkResult.

    Preconditions (ActionRefused, zero API calls): integration active; `ticket` is a created, open ticket
    of the active tenant that already covers a run of the same job; the run has no ticket yet. Then the
    link is committed (one short transaction), then one API call adds the note (`POST
    /Tickets/{id}/Notes`, never retried; note type and visibility from the ticket defaults). When the note
    fails the link stays, the failure is audited and returned in `note_error`. Idempotency: a second call
    for the same run is refused ("already_has_ticket"), so at most one note per run.
    """
    settings = AutotaskSettings.load()
    _require_active(settings)
    env_config = settings.active_environment()
    refuse_if_linked(run)
    ticket = AutotaskTicket.objects.filter(pk=ticket.pk).first()
    if (
        ticket is None
        or ticket.state != TicketState.CREATED
        or ticket.ticket_id is None
        or ticket.environment != env_config.environment
        or ticket.database_id != env_config.database_id
    ):
        raise ActionRefused(
            "That ticket is not a created ticket of the current Autotask tenant.", code="bad_ticket"
        )
    if ticket.is_complete or ticket.resolved_at is not None:
        raise ActionRefused(
            f"Ticket {ticket.ticket_number} is no longer open; create a new ticket instead.",
            code="ticket_closed",
        )
    if not RunTicket.objects.filter(ticket=ticket, run__job_id=run.job_id).exists():
        raise ActionRefused(
            f"Ticket {ticket.ticket_number} does not belong to this backup job.", code="other_job"
        )
    # Every note Backupchecks writes is internal: the visibility is judged again at the moment of writing.
    from integrations.autotask.services.resolution import check_internal_note_settings

    check_internal_note_settings(env_config)

    with transaction.atomic():
        _attach(run, ticket, user)
        AuditEvent.record(
            "ticket_linked_open",
            user=user,
            environment=env_config.environment,
            message=f"Added the run to the open ticket {ticket.ticket_number} of an earlier run",
            run=run,
            ticket_id=ticket.ticket_id,
            ticket_number=ticket.ticket_number,
        )

    title, description = storm_note(run, settings)
    result = StormLinkResult(ticket=ticket)
    try:  # outside any transaction
        with build_client(credentials_for(env_config)) as client:
            result.note_id = client.create_child(
                "Tickets",
                ticket.ticket_id,
                "Notes",
                {
                    "title": title,
                    "description": description,
                    "noteType": env_config.note_type_id,
                    "publish": env_config.note_publish_id,
                },
            )
    except AutotaskError as exc:
        from integrations.autotask.messages import operator_message

        result.note_error = operator_message(exc, "add the note")
        AuditEvent.record_failure(
            "ticket_note_added",
            exc,
            user=user,
            environment=env_config.environment,
            run=run,
            ticket_id=ticket.ticket_id,
        )
        return result
    AuditEvent.record(
        "ticket_note_added",
        user=user,
        environment=env_config.environment,
        message=f"Internal note added to ticket {ticket.ticket_number}",
        run=run,
        ticket_id=ticket.ticket_id,
        note_id=result.note_id,
    )
    return result


# --- migration helper -------------------------------------------------------------------------------------


@dataclass
class ManualTicketReport:
    """The outcome of `link_manual_tickets`, per run: lists of (run id, manual number, detail)."""

    applied: bool
    linked: list = field(default_factory=list)
    not_found: list = field(default_factory=list)
    company_mismatch: list = field(default_factory=list)
    not_a_ticket_number: list = field(default_factory=list)
    #: got a ticket meanwhile (linked or created by someone else while the helper ran)
    already_linked: list = field(default_factory=list)
    queries: int = 0


def _candidate_runs():
    from runs.models import Run

    return (
        Run.objects.exclude(manual_ticket_number="")
        .filter(autotask_link__isnull=True)
        .select_related("job__customer")
        .order_by("pk")
    )


def link_manual_tickets(*, apply=False, user=None, progress=None):
    """Find runs whose manual ticket number is a real Autotask ticket of the active tenant and (with
    `apply`) link them. Returns a ManualTicketReport: linked, not found, company mismatch (not linked),
    not a ticket number (skipped).

    Cost: ⌈N/500⌉ API calls for N distinct manual numbers (`ticketNumber in [...]`, at most 500 OR
    conditions per query, docs/autotask-phase6.md); no Autotask write. Dry run by default: nothing is
    written locally either. The manual numbers are kept. Refused (ActionRefused, zero calls) while the
    integration is disabled or unusable. Idempotent: linked runs are skipped on the next run.
    `progress`: optional callable wrapping an iterable of chunks (e.g. tqdm).
    """
    settings = AutotaskSettings.load()
    _require_active(settings)
    env_config = settings.active_environment()
    report = ManualTicketReport(applied=apply)

    by_number = {}
    for run in _candidate_runs():
        raw = run.manual_ticket_number.strip()
        try:
            parsed = parse_reference(raw)
        except ActionRefused:
            parsed = None
        if parsed is None or not parsed.number:
            report.not_a_ticket_number.append((run.pk, raw, ""))
            continue
        by_number.setdefault(parsed.number, []).append(run)

    numbers = sorted(by_number)
    chunks = [numbers[i : i + MAX_OR_CONDITIONS] for i in range(0, len(numbers), MAX_OR_CONDITIONS)]
    found = {}
    with build_client(credentials_for(env_config)) as client:
        for chunk in progress(chunks) if progress else chunks:
            report.queries += 1
            for item in client.query(
                "Tickets",
                [{"op": "in", "field": "ticketNumber", "value": chunk}],
                include_fields=TICKET_FIELDS,
            ):
                summary = _summary(item, env_config)
                found[summary.number.upper()] = summary

    for number in numbers:
        summary = found.get(number)
        for run in by_number[number]:
            if summary is None:
                report.not_found.append((run.pk, number, ""))
                continue
            verdict, mapping = company_check(run, summary, env_config)
            if verdict != "ok":
                report.company_mismatch.append(
                    (run.pk, number, company_warning(verdict, summary, mapping, run, env_config))
                )
                continue
            if apply:
                try:
                    with transaction.atomic():
                        ticket, _ = store_ticket(env_config, summary, user=user)
                        _attach(run, ticket, user)
                        AuditEvent.record(
                            "manual_ticket_linked",
                            user=user,
                            environment=env_config.environment,
                            message=f"Linked manual ticket number {number} (migration helper)",
                            run=run,
                            ticket_id=summary.id,
                            ticket_number=summary.number,
                            database_id=env_config.database_id,
                        )
                except ActionRefused as exc:
                    report.already_linked.append((run.pk, number, str(exc)))
                    continue
            report.linked.append((run.pk, number, f"ticket id {summary.id}"))
    return report
