"""Phase 5: resolve a run's Autotask ticket safely, and keep the stored ticket status current.

Public API (fixed): `resolve_ticket_for_run(run, *, user=None, remark="") -> ResolutionResult` and
`sync_ticket_statuses(*, user=None) -> SyncResult`. The rules and the reasons behind them are in
docs/autotask-resolution.md.

The rule that protects the MSP's billing: a ticket on which time was logged is never closed from
Backupchecks — it gets an internal note only. Every note is internal (the configured note type and
visibility; a visibility customers can see is refused again right before the note is written).

Resolution is a three-step protocol, like ticket creation (ARCHITECTURE §6): claim the ticket record in one
short transaction (no API call inside), talk to Autotask outside any transaction, record each step's
outcome in another short transaction. The progress is stored on the ticket record (`resolution_step`,
`resolution_note_id`) so that a retry after any failure continues where the failed attempt stopped: it
never adds a second note and never closes twice.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.db import transaction
from django.utils import timezone

from integrations.autotask.exceptions import (
    AutotaskAuthError,
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPermissionError,
    AutotaskRateLimitError,
)
from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    AutotaskTicket,
    ReferenceKind,
    ReferenceValue,
    ResolutionOutcome,
    ResolutionStep,
    RunTicket,
    SyncProblem,
    TicketState,
)
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.configuration import configuration_problems, is_customer_visible_publish
from integrations.autotask.services.connection import build_client, credentials_for

logger = logging.getLogger(__name__)

#: Autotask's system status "Complete" (reference §6.2: value 5 is a system value in every tenant)
COMPLETE_STATUS = 5
#: how long a claimed resolution blocks a second attempt; a claim older than this is taken over (its
#: process died or hung) and the taker looks for the note the dead attempt may have written
CLAIM_LEASE = timedelta(minutes=5)
#: at most this many ids per `in` filter: Autotask allows 500 OR conditions per query (reference §4.2)
SYNC_BATCH_SIZE = 500
MAX_REMARK_LENGTH = 1000

#: the marker in the title of Backupchecks' own resolution note; holds the ticket record's correlation key.
#: No square brackets or percent signs: Autotask's `contains` is presumably SQL Server's LIKE, where they
#: are wildcards (so they are also replaced inside the key).
NOTE_MARKER = "(bc-resolve {key})"
_LIKE_SPECIAL = str.maketrans({"[": "-", "]": "-", "%": "-"})
CLOSE_TITLE = "Backup issue resolved in Backupchecks; closing the ticket {marker}"
NOTE_ONLY_TITLE = "Backup issue resolved in Backupchecks; ticket stays open (time logged) {marker}"
_NOTE_ONLY_WORDS = "stays open"


@dataclass(frozen=True)
class ResolutionResult:
    """What `resolve_ticket_for_run` did.

    `outcome`: "closed" (note added, status set), "note_only" (note added, left open: time was logged) or
    "already_complete" (Complete in Autotask before we wrote anything). `note_id`: the Autotask id of our
    note, None when nothing was written. `repeated`: True when the ticket had been resolved before — the
    stored result is returned and nothing was sent. `message`: one sentence for the operator.
    """

    outcome: str
    note_id: int | None
    ticket_number: str
    message: str
    repeated: bool = False


@dataclass(frozen=True)
class SyncResult:
    """What `sync_ticket_statuses` found: `checked` open tickets looked up, `changed` whose stored status,
    completeness or problem flag changed, of which `completed` are now complete, `missing` not found in
    Autotask (deleted or invisible to the API user) and `moved` now in another company."""

    checked: int
    changed: int
    missing: int
    completed: int = 0
    moved: int = 0

    @property
    def summary(self):
        return (
            f"Checked {self.checked} open ticket{'s' if self.checked != 1 else ''}: {self.changed} changed "
            f"({self.completed} completed), {self.missing} missing, {self.moved} moved to another company."
        )


# --- helpers --------------------------------------------------------------------------------------------


def _who(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return "an automatic Backupchecks task"
    return user.get_full_name() or user.get_username()


def _utc(value):
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _int_or_none(value):
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def is_complete_status(status_id, env_config):
    """True for Autotask's Complete (5) and for the status configured as "resolved"."""
    return status_id is not None and status_id in (COMPLETE_STATUS, env_config.resolved_status_id)


def _status_label(env_config, status_id):
    row = ReferenceValue.objects.filter(
        environment=env_config.environment,
        database_id=env_config.database_id,
        kind=ReferenceKind.STATUS,
        value=status_id,
    ).first()
    return f"“{row.label}”" if row else f"status {status_id}"


def ticket_for_run_link(run):
    """The run's AutotaskTicket (any state) or None; one query. (Phase 4's `ticket_for_run` lives in
    services/tickets.py; this module reads RunTicket directly.)"""
    link = RunTicket.objects.select_related("ticket").filter(run_id=run.pk).first()
    return link.ticket if link else None


def _refuse(message, code, *, run=None, user=None, environment="", **data):
    AuditEvent.record(
        "resolve_ticket",
        user=user,
        environment=environment,
        outcome="refused",
        message=message,
        run=run,
        code=code,
        **data,
    )
    raise ActionRefused(message, code=code)


def check_internal_note_settings(env_config):
    """Raise ActionRefused unless the note type, an internal note visibility and the resolved status are
    configured. The visibility is judged by its cached Autotask label (`is_customer_visible_publish`);
    a value without a cached label cannot be proven internal and is refused too. Database only."""
    if env_config.note_type_id is None or env_config.note_publish_id is None:
        raise ActionRefused(
            "No note type or note visibility is configured for Autotask notes: an administrator must "
            "choose them in the Autotask settings.",
            code="not_configured",
        )
    if env_config.resolved_status_id is None:
        raise ActionRefused(
            "No status that means resolved is configured: an administrator must choose it in the Autotask "
            "settings.",
            code="not_configured",
        )
    row = ReferenceValue.objects.filter(
        environment=env_config.environment,
        database_id=env_config.database_id,
        kind=ReferenceKind.NOTE_PUBLISH,
        value=env_config.note_publish_id,
    ).first()
    if row is None:
        raise ActionRefused(
            f"The configured note visibility ({env_config.note_publish_id}) is not in the cached Autotask "
            "reference data, so Backupchecks cannot tell whether customers would see the note: refresh the "
            "reference data and choose an internal visibility.",
            code="customer_visible",
        )
    if is_customer_visible_publish(row.label, row.value):
        raise ActionRefused(
            f"Notes published to “{row.label}” are visible to customers; Backupchecks only writes internal "
            "notes. An administrator must choose an internal note visibility such as “Internal Only”.",
            code="customer_visible",
        )


def _active_environment(action_refuse):
    settings = AutotaskSettings.load()
    if not settings.enabled:
        action_refuse("The Autotask integration is disabled.", "disabled", environment="")
    env_config = settings.active_environment()
    return settings, env_config


def _preconditions(run, user, remark):
    """Everything checked before the first API call. Returns (settings, env_config, ticket)."""

    def refuse(message, code, environment="", **data):
        _refuse(message, code, run=run, user=user, environment=environment, **data)

    ticket = ticket_for_run_link(run)
    if ticket is None:
        refuse("This run has no Autotask ticket to resolve.", "no_ticket")
    if ticket.state != TicketState.CREATED or ticket.ticket_id is None:
        refuse(
            f"The run's Autotask ticket is not created yet ({ticket.get_state_display().lower()}): "
            "finish creating it first.",
            "no_ticket",
        )
    if len(remark) > MAX_REMARK_LENGTH:
        refuse(f"The remark is too long: at most {MAX_REMARK_LENGTH} characters.", "remark_too_long")
    settings, env_config = _active_environment(refuse)
    environment = env_config.environment
    try:
        check_internal_note_settings(env_config)
    except ActionRefused as exc:
        refuse(str(exc), exc.code, environment)
    problems = configuration_problems(settings)
    if problems:
        refuse("Autotask cannot be used right now: " + " ".join(problems), "not_configured", environment)
    if ticket.environment != environment or ticket.database_id != env_config.database_id:
        refuse(
            f"Ticket {ticket.ticket_number} belongs to the Autotask {ticket.get_environment_display()} "
            f"database {ticket.database_id}, not to the one selected now; switch the environment back to "
            "resolve it.",
            "other_tenant",
            environment,
        )
    return settings, env_config, ticket


def _stored_result(ticket, *, repeated):
    outcome = ticket.resolution_outcome
    label = ResolutionOutcome(outcome).label
    by = ticket.resolved_by.get_username() if ticket.resolved_by_id and ticket.resolved_by else "Backupchecks"
    when = _utc(ticket.resolved_at) if ticket.resolved_at else "an earlier attempt"
    # the label may hold brackets itself ("… (time entries exist)"): a sentence of its own, not a bracket
    message = (
        f"Ticket {ticket.ticket_number} was already resolved from Backupchecks by {by} at {when}: "
        f"{label[0].lower()}{label[1:]}. Nothing was sent to Autotask."
    )
    return ResolutionResult(outcome, ticket.resolution_note_id, ticket.ticket_number, message, repeated)


def predicted_outcome(ticket):
    """What a resolution of `ticket` will do, as far as stored data tells (no API call).

    Returns (code, sentence): "resolved" (done before; nothing will be sent), "already_complete" (the last
    status check saw it complete), "status_only" (the note is already in Autotask; only the status is
    left), or "unknown" (it depends on the time entries, counted when you confirm).
    """
    if ticket.resolution_outcome:
        return "resolved", _stored_result(ticket, repeated=True).message
    if ticket.is_complete:
        checked = _utc(ticket.status_checked_at) if ticket.status_checked_at else "the last check"
        return "already_complete", (
            f"Autotask reported this ticket complete at {checked}: unless it was reopened since, nothing "
            "will be written and the run will show it was completed in Autotask."
        )
    if ticket.resolution_step == ResolutionStep.NOTE_WRITTEN and ticket.resolution_note_id:
        return "status_only", (
            f"Backupchecks' note (id {ticket.resolution_note_id}) is already in Autotask; only setting the "
            "status is left (unless time was logged since — then it stays open)."
        )
    return "unknown", (
        "Backupchecks will count the ticket's time entries: with none, it adds an internal note and closes "
        "the ticket; with time logged, it adds an internal note only and leaves the ticket open."
    )


# --- claim and record (short transactions, never an API call inside) ------------------------------------


def _claim(ticket_pk, user):
    """Take the resolution claim. Returns (ticket, previous_step) or (ticket, None) when it is resolved."""
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            AutotaskTicket.objects.select_for_update(of=("self",))
            .select_related("resolved_by")
            .get(pk=ticket_pk)
        )
        if ticket.resolution_outcome:
            return ticket, None
        step = ticket.resolution_step
        claimed_at = ticket.resolution_claimed_at
        if step == ResolutionStep.CLAIMED and claimed_at and now - claimed_at < CLAIM_LEASE:
            who = ticket.resolution_claimed_by.get_username() if ticket.resolution_claimed_by else "a task"
            raise ActionRefused(
                f"Ticket {ticket.ticket_number} is being resolved right now by {who} (started "
                f"{_utc(claimed_at)}); wait a moment and reload the run.",
                code="being_resolved",
            )
        if ticket.resolution_note_id:
            previous = ResolutionStep.NOTE_WRITTEN
        elif step in (ResolutionStep.NOTE_UNKNOWN, ResolutionStep.CLAIMED):
            # An unknown note POST, or a claim whose process died (it may have sent the note).
            previous = ResolutionStep.NOTE_UNKNOWN
        else:
            previous = ResolutionStep.NONE
        claimer = user if getattr(user, "is_authenticated", False) else None
        # Compare-and-set on what was read: exact on SQLite too, where select_for_update() is a no-op and
        # a concurrent attempt may have claimed the row since.
        taken = AutotaskTicket.objects.filter(
            pk=ticket.pk, resolution_step=step, resolution_claimed_at=claimed_at, resolution_outcome=""
        ).update(
            resolution_step=ResolutionStep.CLAIMED, resolution_claimed_at=now, resolution_claimed_by=claimer
        )
        if not taken:
            raise ActionRefused(
                f"Ticket {ticket.ticket_number} is being resolved right now by someone else; wait a moment "
                "and reload the run.",
                code="being_resolved",
            )
        ticket.resolution_step = ResolutionStep.CLAIMED
        ticket.resolution_claimed_at = now
        ticket.resolution_claimed_by = claimer
    return ticket, previous


def _set_step(ticket, step, *, note_id=None, error=""):
    fields = {
        "resolution_step": step,
        "resolution_error": error[:1000],
        "resolution_claimed_at": None,
        "resolution_claimed_by": None,
    }
    if note_id is not None:
        fields["resolution_note_id"] = note_id
    with transaction.atomic():
        AutotaskTicket.objects.filter(pk=ticket.pk).update(**fields)
    for name, value in fields.items():
        setattr(ticket, name, value)


def _finish(ticket, *, run, user, env_config, outcome, note_id, status_id, remark, message, **data):
    now = timezone.now()
    fields = {
        "resolution_outcome": outcome,
        "resolved_by": user if getattr(user, "is_authenticated", False) else None,
        "resolved_at": now,
        "resolution_note_id": note_id,
        "resolution_remark": remark,
        "resolution_step": ResolutionStep.NONE,
        "resolution_claimed_at": None,
        "resolution_claimed_by": None,
        "resolution_error": "",
        "status_id": status_id,
        "is_complete": is_complete_status(status_id, env_config),
        "status_checked_at": now,
        "sync_problem": SyncProblem.NONE,
    }
    with transaction.atomic():
        AutotaskTicket.objects.filter(pk=ticket.pk).update(**fields)
        run_ids = sorted(RunTicket.objects.filter(ticket_id=ticket.pk).values_list("run_id", flat=True))
        AuditEvent.record(
            "resolve_ticket",
            user=user,
            environment=env_config.environment,
            message=message,
            run=run,
            resolution=outcome,
            note_id=note_id,
            status_id=status_id,
            runs=run_ids,
            **data,
        )
    for name, value in fields.items():
        setattr(ticket, name, value)
    return ResolutionResult(outcome, note_id, ticket.ticket_number, message)


def _not_sent(exc):
    """True when Autotask certainly did not store the write (refused before processing, or never sent)."""
    if isinstance(exc, (AutotaskConfigurationError, AutotaskRateLimitError, AutotaskAuthError)):
        return True
    if isinstance(exc, AutotaskPermissionError):
        return True
    return isinstance(exc, AutotaskConnectionError) and not exc.ambiguous


# --- the Autotask side ------------------------------------------------------------------------------------


def note_marker(ticket):
    """The marker in the title of Backupchecks' resolution note on `ticket` (its correlation key)."""
    return NOTE_MARKER.format(key=ticket.correlation_key.translate(_LIKE_SPECIAL))


def _find_our_note(client, ticket):
    """Recovery path only: Backupchecks' own note on the ticket, found by the marker in its title.
    Returns (note_id, note_only) or None. One query."""
    notes = client.query(
        "TicketNotes",
        [
            {"op": "eq", "field": "ticketID", "value": ticket.ticket_id},
            {"op": "contains", "field": "title", "value": note_marker(ticket)},
        ],
        include_fields=["id", "title"],
        max_records=10,
    )
    marker = note_marker(ticket).casefold()
    for note in notes:
        title = str(note.get("title") or "")
        note_id = _int_or_none(note.get("id"))
        if note_id is not None and marker in title.casefold():  # `contains` may match more loosely
            return note_id, _NOTE_ONLY_WORDS in title
    return None


def note_text(run, *, user, remark, time_entries, settings, when):
    """The internal note's (title-less) description: who, when (UTC), which run and job, the remark, the
    Job Details link, and what happens to the ticket."""
    job = run.job
    base = settings.base_url.rstrip("/")
    lines = [
        f"The backup issue was resolved in Backupchecks by {_who(user)} on {_utc(when)}.",
        "",
        f"Customer: {job.customer.name}",
        f"Job: {job.name}",
        f"Run: {_utc(run.started_at)} — {run.get_status_display()}"
        + (f" — {run.summary}" if run.summary else ""),
        f"Run in Backupchecks: {base}{run.get_absolute_url()}",
        f"Job Details: {base}{job.get_absolute_url()}",
    ]
    if remark:
        lines += ["", f"Remark: {remark}"]
    lines.append("")
    if time_entries:
        lines.append(
            f"This ticket stays open because time was logged on it ({time_entries} time "
            f"entr{'y' if time_entries == 1 else 'ies'}); close it in Autotask once the work is billed."
        )
    else:
        lines.append("No time was logged on this ticket, so Backupchecks closes it.")
    return "\n".join(lines)


def _note_payload(ticket, run, *, user, remark, time_entries, settings, env_config):
    title_template = NOTE_ONLY_TITLE if time_entries else CLOSE_TITLE
    return {
        "ticketID": ticket.ticket_id,
        "title": title_template.format(marker=note_marker(ticket)),
        "description": note_text(
            run,
            user=user,
            remark=remark,
            time_entries=time_entries,
            settings=settings,
            when=timezone.now(),
        ),
        "noteType": env_config.note_type_id,
        "publish": env_config.note_publish_id,
    }


def _recheck_visibility_before_writing(env_config):
    """The settings may have changed since the preconditions: read them again right before the POST."""
    fresh = type(env_config).objects.get(pk=env_config.pk)
    check_internal_note_settings(fresh)
    return fresh


# --- resolve ------------------------------------------------------------------------------------------


def resolve_ticket_for_run(run, *, user=None, remark=""):
    """Resolve the Autotask ticket of `run` from Backupchecks; returns a ResolutionResult.

    Reads the ticket; if it is already complete, writes nothing ("already_complete"). Otherwise counts its
    time entries: none → an internal note, then the ticket is set to the configured resolved status
    ("closed"); time logged → an internal note only, the status is not touched ("note_only"). Notes go to
    `POST /Tickets/{id}/Notes` with the configured note type and visibility.

    API calls: ≤ 4 on the happy path (read ticket, count time entries, note, status), 3 when time entries
    exist, 1 when already complete, 0 when refused or when the ticket was resolved before (the stored
    result comes back with `repeated=True`). A ticket shared by several runs is resolved once.

    Idempotent: every step's outcome is stored on the ticket record before the next step. A retry after any
    failure never adds a second note and never closes twice — after a failed status change it only sets
    the status; after a note POST whose outcome is unknown it first looks for Backupchecks' own note (the
    marker in its title; 1 extra query on this recovery path only). Concurrent attempts: the second is
    refused while the first holds the claim (lease: CLAIM_LEASE).

    Raises ActionRefused (no created ticket, integration disabled or not configured, a note visibility
    customers can see — checked again right before writing, ticket of another tenant, being resolved right
    now) and AutotaskError subclasses: AutotaskNotFoundError when the ticket was deleted or is no longer
    visible (nothing local changes). No Autotask call runs inside a database transaction.
    """
    remark = (remark or "").strip()
    settings, env_config, ticket = _preconditions(run, user, remark)
    if ticket.resolution_outcome:
        return _stored_result(ticket, repeated=True)
    try:
        ticket, previous = _claim(ticket.pk, user)
    except ActionRefused as exc:
        _refuse(str(exc), exc.code, run=run, user=user, environment=env_config.environment)
    if previous is None:
        return _stored_result(ticket, repeated=True)

    fallback = previous  # the step stored again if this attempt fails
    previous_error = ticket.resolution_error
    audit = {"ticket_id": ticket.ticket_id, "ticket_number": ticket.ticket_number}
    try:
        with build_client(credentials_for(env_config)) as client:
            return _resolve(client, ticket, previous, run, user, remark, settings, env_config, audit)
    except ActionRefused as exc:
        _set_step(ticket, _current_fallback(ticket, fallback), error=str(exc))
        _refuse(str(exc), exc.code, run=run, user=user, environment=env_config.environment, **audit)
    except Exception as exc:
        # A vanished ticket leaves the local record exactly as it was (the audit log has the error).
        error = previous_error if isinstance(exc, AutotaskNotFoundError) else _error_text(exc)
        _set_step(ticket, _current_fallback(ticket, fallback, exc), error=error)
        AuditEvent.record_failure(
            "resolve_ticket", _audit_exc(exc), user=user, environment=env_config.environment, run=run, **audit
        )
        raise


def _error_text(exc):
    from integrations.autotask.messages import operator_message

    return operator_message(exc)


def _audit_exc(exc):
    if isinstance(exc, AutotaskError):
        return exc
    return AutotaskError(_error_text(exc))


def _current_fallback(ticket, fallback, exc=None):
    """Where a failed attempt leaves the ticket: progress recorded on it wins; a note POST that may have
    reached Autotask leaves NOTE_UNKNOWN; anything before that restores the step the claim found."""
    if ticket.resolution_step in (ResolutionStep.NOTE_WRITTEN, ResolutionStep.NOTE_UNKNOWN):
        return ticket.resolution_step
    if getattr(ticket, "_note_post_sent", False) and not (exc is not None and _not_sent(exc)):
        return ResolutionStep.NOTE_UNKNOWN
    return fallback


def _resolve(client, ticket, previous, run, user, remark, settings, env_config, audit):
    item = client.get("Tickets", ticket.ticket_id)
    if item is None:
        raise AutotaskNotFoundError(
            f"Ticket {ticket.ticket_number} (id {ticket.ticket_id}) was not found in Autotask: it was "
            "deleted, or the API user can no longer see it. Nothing was changed in Backupchecks",
            entity="Tickets",
            hint="check the ticket in Autotask; if it was merged or deleted, handle the run there",
        )
    status_id = _int_or_none(item.get("status"))
    finish = dict(run=run, user=user, env_config=env_config, remark=remark)

    note_id, note_only_note = None, False
    if previous == ResolutionStep.NOTE_WRITTEN:
        note_id = ticket.resolution_note_id
    elif previous == ResolutionStep.NOTE_UNKNOWN:
        found = _find_our_note(client, ticket)
        if found:
            note_id, note_only_note = found
            _set_step(ticket, ResolutionStep.NOTE_WRITTEN, note_id=note_id)
            audit["recovered_note"] = True

    if note_only_note:
        return _finish(
            ticket,
            outcome=ResolutionOutcome.NOTE_ONLY,
            note_id=note_id,
            status_id=status_id,
            message=f"Ticket {ticket.ticket_number}: internal note added; the ticket stays open because "
            "time was logged on it.",
            **finish,
            **audit,
        )
    if is_complete_status(status_id, env_config):
        if note_id is not None and previous == ResolutionStep.NOTE_WRITTEN:
            # Our status change may have been applied although its answer was lost.
            return _finish(
                ticket,
                outcome=ResolutionOutcome.CLOSED,
                note_id=note_id,
                status_id=status_id,
                message=f"Ticket {ticket.ticket_number}: internal note added and the ticket is closed.",
                **finish,
                **audit,
            )
        return _finish(
            ticket,
            outcome=ResolutionOutcome.ALREADY_COMPLETE,
            note_id=note_id,
            status_id=status_id,
            message=f"Ticket {ticket.ticket_number} was already complete in Autotask; nothing was written.",
            **finish,
            **audit,
        )

    time_entries = client.count("TimeEntries", [{"op": "eq", "field": "ticketID", "value": ticket.ticket_id}])
    audit["time_entries"] = time_entries

    if note_id is None:
        env_config = _recheck_visibility_before_writing(env_config)
        finish["env_config"] = env_config
        payload = _note_payload(
            ticket,
            run,
            user=user,
            remark=remark,
            time_entries=time_entries,
            settings=settings,
            env_config=env_config,
        )
        ticket._note_post_sent = True
        note_id = client.create_child("Tickets", ticket.ticket_id, "Notes", payload)
        ticket._note_post_sent = False
        if time_entries:
            return _finish(
                ticket,
                outcome=ResolutionOutcome.NOTE_ONLY,
                note_id=note_id,
                status_id=status_id,
                message=f"Ticket {ticket.ticket_number}: internal note added; the ticket stays open because "
                f"time was logged on it ({time_entries} time entr{'y' if time_entries == 1 else 'ies'}).",
                **finish,
                **audit,
            )
        # Stored before the status change: a retry after a failed PATCH only sets the status.
        _set_step(ticket, ResolutionStep.NOTE_WRITTEN, note_id=note_id)
    elif time_entries:
        # Time was logged after our note was written: the billing rule wins, the ticket stays open.
        return _finish(
            ticket,
            outcome=ResolutionOutcome.NOTE_ONLY,
            note_id=note_id,
            status_id=status_id,
            message=f"Ticket {ticket.ticket_number}: time was logged on it after Backupchecks' note was "
            "added, so the ticket stays open.",
            **finish,
            **audit,
        )

    resolved_status = env_config.resolved_status_id
    client.update("Tickets", {"id": ticket.ticket_id, "status": resolved_status})
    return _finish(
        ticket,
        outcome=ResolutionOutcome.CLOSED,
        note_id=note_id,
        status_id=resolved_status,
        message=f"Ticket {ticket.ticket_number}: internal note added and the ticket set to "
        f"{_status_label(env_config, resolved_status)} (no time was logged on it).",
        **finish,
        **audit,
    )


# --- status sync ------------------------------------------------------------------------------------------


def sync_ticket_statuses(*, user=None):
    """Read the status and company of every open ticket of the active tenant; store what changed.

    "Open" = created by (or linked to) Backupchecks and not known to be complete. Each ticket gets
    `status_id`, `is_complete` (Complete, or the configured resolved status) and `status_checked_at`; a
    ticket Autotask no longer returns is flagged `missing`, one now in another company `company_moved`
    (cleared again when it looks right). Status changes are recorded in the audit log.

    API calls: ⌈N/500⌉ for N open tickets (`id in [...]` queries of ≤ 500 ids, reference §4.2), plus zone
    discovery when the client's zone cache is cold. Idempotent: a second run finds nothing changed.
    Raises ActionRefused (zero calls) when the integration is disabled or not configured, AutotaskError
    when Autotask fails (batches before the failure stay stored).
    """
    return sync_ticket_statuses_with_progress(None, user=user)


def open_ticket_count():
    """How many tickets the next sync will check (one query; for progress bars)."""
    settings = AutotaskSettings.load()
    env_config = settings.active_environment()
    return _open_tickets(env_config).count()


def _open_tickets(env_config):
    return AutotaskTicket.objects.filter(
        environment=env_config.environment,
        database_id=env_config.database_id,
        state=TicketState.CREATED,
        ticket_id__isnull=False,
        is_complete=False,
    )


def sync_ticket_statuses_with_progress(progress, *, user=None):
    """`sync_ticket_statuses` that calls `progress(checked_so_far, total)` after each batch (or None)."""
    settings = AutotaskSettings.load()
    problems = configuration_problems(settings)
    if problems:
        message = "Autotask ticket status sync skipped: " + " ".join(problems)
        AuditEvent.record("sync_ticket_statuses", user=user, outcome="refused", message=message)
        raise ActionRefused(message, code="disabled" if not settings.enabled else "not_configured")
    env_config = settings.active_environment()
    pks = list(_open_tickets(env_config).order_by("ticket_id").values_list("pk", flat=True))
    totals = {"checked": 0, "changed": 0, "missing": 0, "completed": 0, "moved": 0}
    try:
        with build_client(credentials_for(env_config)) as client:
            for start in range(0, len(pks), SYNC_BATCH_SIZE):
                batch = list(AutotaskTicket.objects.filter(pk__in=pks[start : start + SYNC_BATCH_SIZE]))
                ids = [t.ticket_id for t in batch]
                found = {
                    _int_or_none(item.get("id")): item
                    for item in client.query(
                        "Tickets",
                        [{"op": "in", "field": "id", "value": ids}],
                        include_fields=["id", "status", "companyID"],
                    )
                }
                for key, value in _store_batch(batch, found, env_config, user).items():
                    totals[key] += value
                if progress:
                    progress(totals["checked"], len(pks))
    except AutotaskError as exc:
        AuditEvent.record_failure(
            "sync_ticket_statuses", exc, user=user, environment=env_config.environment, **totals
        )
        raise
    result = SyncResult(**totals)
    AuditEvent.record(
        "sync_ticket_statuses",
        user=user,
        environment=env_config.environment,
        message=result.summary,
        **totals,
    )
    return result


def _store_batch(batch, found, env_config, user):
    now = timezone.now()
    counts = {"checked": len(batch), "changed": 0, "missing": 0, "completed": 0, "moved": 0}
    changed, events = [], []
    for ticket in batch:
        item = found.get(ticket.ticket_id)
        before = (ticket.status_id, ticket.is_complete, ticket.sync_problem)
        if item is None:
            ticket.sync_problem = SyncProblem.MISSING
            counts["missing"] += 1
        else:
            ticket.status_id = _int_or_none(item.get("status"))
            ticket.is_complete = is_complete_status(ticket.status_id, env_config)
            company_id = _int_or_none(item.get("companyID"))
            if ticket.company_id is not None and company_id is not None and company_id != ticket.company_id:
                ticket.sync_problem = SyncProblem.COMPANY_MOVED
                counts["moved"] += 1
            else:
                ticket.sync_problem = SyncProblem.NONE
            if ticket.is_complete:
                counts["completed"] += 1
        ticket.status_checked_at = now
        after = (ticket.status_id, ticket.is_complete, ticket.sync_problem)
        if after != before:
            counts["changed"] += 1
            events.append(
                AuditEvent(
                    at=now,
                    user=user if getattr(user, "is_authenticated", False) else None,
                    action="ticket_status_changed",
                    environment=env_config.environment,
                    message=_change_message(ticket, before),
                    data={
                        "ticket_id": ticket.ticket_id,
                        "ticket_number": ticket.ticket_number,
                        "status_id": [before[0], after[0]],
                        "is_complete": [before[1], after[1]],
                        "sync_problem": [before[2], after[2]],
                    },
                )
            )
            changed.append(ticket)
    with transaction.atomic():
        # One UPDATE for the check time of the whole batch; a CASE-per-row bulk update only for the
        # (usually few) tickets whose status or problem flag changed.
        AutotaskTicket.objects.filter(pk__in=[t.pk for t in batch]).update(status_checked_at=now)
        AutotaskTicket.objects.bulk_update(
            changed, ["status_id", "is_complete", "sync_problem"], batch_size=100
        )
        AuditEvent.objects.bulk_create(events, batch_size=500)
    return counts


def _change_message(ticket, before):
    if ticket.sync_problem == SyncProblem.MISSING:
        return f"Ticket {ticket.ticket_number} is missing in Autotask (deleted or no longer visible)."
    if ticket.sync_problem == SyncProblem.COMPANY_MOVED:
        return f"Ticket {ticket.ticket_number} was moved to another Autotask company."
    if ticket.is_complete and not before[1]:
        return f"Ticket {ticket.ticket_number} was completed in Autotask (status {ticket.status_id})."
    return f"Ticket {ticket.ticket_number}: status {before[0]} → {ticket.status_id}."
