"""Issue 14: bulk ticket work — create, resolve or link tickets for many runs on a task worker.

Public API (fixed): `start_bulk_action(*, user, action, run_ids, share_per_job=False,
ticket_reference=None) -> BulkJob`; the task `integrations.autotask.tasks.run_bulk_job(job_id)` calls
`run_job()` here. Pages use `visible_jobs()`, `job_counts()`, `job_items_page()` (database only, constant
queries) and `retry_job()`. docs/autotask-bulk.md describes the behaviour for operators.

How a job runs (ARCHITECTURE §6 holds per run — every item goes through the phase 4–6 service verbs, whose
claims give the exactly-once guarantees):

- `start_bulk_action` checks everything it can from the database (zero API calls): the user's permission,
  the integration is active, the runs exist, the action's own settings (compatibility mode for linking,
  an internal note visibility for resolving). A failure refuses the whole action (`ActionRefused`). Runs
  that cannot be done individually (already has a ticket, not mapped, no ticket to resolve …) become
  items in state `refused` with the reason. The job and all items are created in one transaction and the
  task is enqueued on commit.
- The task takes the `queued` items (and `running` ones whose worker died: older than `ITEM_LEASE`) and
  works them off in a small thread pool (`AUTOTASK_BULK_CONCURRENCY`, default 6: more threads than Autotask's
  3 concurrent requests per endpoint, so that one thread's database work overlaps the others' requests; the
  client's limiter keeps at most 3 in flight per endpoint — benchmarks/autotask_bulk.py), each item inside `budget.background_work(f"bulk job {pk}")` so the shared
  limiter and pacing see it as background work. Items that must run in order share a `group`: the runs of
  one backup job when they share one ticket, the runs of one ticket when resolving. Each item is taken
  with a compare-and-set, so two copies of the task never work on the same item; the task is safe to
  run again (it continues with what is left).
- One item's failure never stops the others. A rate-limit, connection or server failure (or an outcome
  Autotask left unknown) marks the item failed and `retryable`; `retry_job` queues those again.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from integrations.autotask.exceptions import (
    AutotaskConnectionError,
    AutotaskError,
    AutotaskRateLimitError,
    AutotaskServerError,
)
from integrations.autotask.messages import operator_message
from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    BulkAction,
    BulkItemState,
    BulkJob,
    BulkJobItem,
    BulkJobState,
    CompanyMapping,
    TicketState,
)
from runs.models import ATTENTION_STATUSES, Run

from . import ActionRefused
from .budget import background_work
from .mapping import mapping_problem

logger = logging.getLogger(__name__)

#: the most runs one bulk job takes ("select all N matching" is cut to this, with a message)
MAX_BULK_RUNS = 1000
#: a `running` item older than this was left by a worker that died; the next run of the task takes it over.
#: Longer than one item can take (a create is ≤ 3 requests, each bounded by the client's timeout).
ITEM_LEASE = timedelta(minutes=10)
DEFAULT_CONCURRENCY = 6

#: the permission each action needs (besides runs.view_run)
ACTION_PERMISSIONS = {
    BulkAction.CREATE: "autotask.create_ticket",
    BulkAction.RESOLVE: "autotask.resolve_ticket",
    BulkAction.LINK: "autotask.link_ticket",
}
#: failures worth trying again later: nothing proves the request was wrong
RETRYABLE_ERRORS = (AutotaskRateLimitError, AutotaskConnectionError, AutotaskServerError)
UNFINISHED = (BulkItemState.QUEUED, BulkItemState.RUNNING)


def concurrency():
    """Worker threads per bulk job (setting AUTOTASK_BULK_CONCURRENCY, default 6, at least 1)."""
    return max(1, int(getattr(django_settings, "AUTOTASK_BULK_CONCURRENCY", DEFAULT_CONCURRENCY)))


# --- who may do and see what -----------------------------------------------------------------------------


def may_start(user, action):
    """True when `user` may start bulk `action` (runs.view_run + the action's Autotask permission)."""
    perm = ACTION_PERMISSIONS.get(action)
    return bool(
        perm and user is not None and user.is_authenticated and user.has_perms(["runs.view_run", perm])
    )


def may_view(user, job):
    """A job is visible to the user who started it and to staff."""
    return bool(user and user.is_authenticated and (user.is_staff or job.created_by_id == user.pk))


def may_use_bulk_pages(user):
    """The bulk job list is for staff and for users who may start at least one bulk action."""
    return bool(user and user.is_authenticated) and (
        user.is_staff or any(may_start(user, action) for action in ACTION_PERMISSIONS)
    )


# --- starting a job ----------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """One run's item as `start_bulk_action` plans it."""

    run: Run
    position: int
    group: str = ""
    refusal: ActionRefused | None = None


#: the largest id a database integer column holds; a bigger value is refused, never sent to the database
MAX_RUN_ID = 2**63 - 1


def _run_ids(run_ids):
    """The distinct run ids of `run_ids` (ints or their decimal text) in their first order; a repeated id
    counts once. ActionRefused ("bad_run_id", naming the value) for anything that is not a whole number
    between 1 and MAX_RUN_ID — garbage, zero, negative or too large — so a hand-made request is refused
    with a reason instead of being silently trimmed."""
    seen, ids = set(), []
    for value in run_ids or ():
        text = str(value).strip()
        try:
            pk = int(text)
        except (TypeError, ValueError):
            pk = None
        if pk is None or not 0 < pk <= MAX_RUN_ID:
            raise ActionRefused(
                f"“{text[:20]}” is not a run id (run ids are whole numbers from 1 up). Nothing was started.",
                code="bad_run_id",
            )
        if pk not in seen:
            seen.add(pk)
            ids.append(pk)
    return ids


def _id_list(ids, limit=5):
    """ "4, 7 and 9" / "4, 7, 9, 11, 12 and 3 more" — for messages about run ids."""
    ids = list(ids)
    shown = ", ".join(str(pk) for pk in ids[:limit])
    if len(ids) > limit:
        return f"{shown} and {len(ids) - limit:,} more"
    if len(ids) > 1:
        head, _, last = shown.rpartition(", ")
        return f"{head} and {last}"
    return shown


def not_found_text(missing_ids):
    """The one wording for selected run ids with no run: true whether the run was deleted or the id never
    existed (a hand-made request) — the database cannot tell those apart."""
    count = len(missing_ids)
    return (
        f"No run has the id{'s' if count != 1 else ''} {_id_list(missing_ids)} (deleted since the page was "
        "shown, or never existed)."
    )


def _require_active(settings):
    from .linking import _require_active as require_active

    require_active(settings)


def start_bulk_action(*, user, action, run_ids, share_per_job=False, ticket_reference=None):
    """Start a bulk `action` ("create" | "resolve" | "link") for the runs `run_ids`; returns the BulkJob.

    Database only — zero API calls. Refuses the whole action with ActionRefused (nothing stored) when the
    user lacks `runs.view_run` + the action's permission ("permission"), the integration is disabled or
    not usable, `action` is unknown, no selected run exists ("no_runs"), more than MAX_BULK_RUNS are
    selected ("too_many"), or an action-wide setting fails: linking needs compatibility mode and a
    well-formed ticket number or id (`ticket_reference`); resolving needs an internal note visibility.
    Runs that cannot be done on their own become `refused` items with the reason (e.g. "already has
    ticket T…", customer not mapped, no ticket to resolve) — the others still run.

    `share_per_job` (create only): the runs of one backup job share one ticket — the job's open ticket if
    it has one, else the ticket created for its first selected run; the other runs are added to it with an
    internal note (phase 6 storm avoidance).

    Creates the job and one item per run in one transaction and enqueues `run_bulk_job` when it commits.
    Not idempotent by itself (two calls make two jobs), but each run's work is: a run that got its ticket
    from the first job is refused ("already has ticket") or resolved once in the second.
    """
    if action not in ACTION_PERMISSIONS:
        raise ActionRefused(f"Unknown bulk action “{str(action)[:20]}”.", code="bad_action")
    action = BulkAction(action)
    if not may_start(user, action):
        raise ActionRefused(
            f"You do not have permission to {action.label[0].lower() + action.label[1:]}.", code="permission"
        )
    settings = AutotaskSettings.load()
    _require_active(settings)
    env_config = settings.active_environment()
    reference = (ticket_reference or "").strip()
    if action == BulkAction.LINK:
        from .linking import parse_reference

        if not settings.compatibility_mode:
            raise ActionRefused(
                "Linking existing Autotask tickets needs compatibility mode (Autotask settings).",
                code="compatibility_off",
            )
        if not reference:
            raise ActionRefused("Enter the Autotask ticket number to link the runs to.", code="bad_reference")
        parse_reference(reference)
    if action == BulkAction.RESOLVE:
        from .resolution import check_internal_note_settings

        check_internal_note_settings(env_config)

    ids = _run_ids(run_ids)
    if not ids:
        raise ActionRefused("Select at least one run.", code="no_runs")
    if len(ids) > MAX_BULK_RUNS:
        raise ActionRefused(
            f"A bulk action takes at most {MAX_BULK_RUNS:,} runs; {len(ids):,} were selected.",
            code="too_many",
        )
    runs = {run.pk: run for run in Run.objects.select_related("job__customer").filter(pk__in=ids)}
    if not runs:
        raise ActionRefused(f"{not_found_text(ids)} Nothing was started.", code="no_runs")
    plans = [_Plan(run=runs[pk], position=i) for i, pk in enumerate(pk for pk in ids if pk in runs)]
    _plan(action, plans, env_config, settings, share_per_job=share_per_job)
    missing = len(ids) - len(runs)

    now = timezone.now()
    with transaction.atomic():
        job = BulkJob.objects.create(
            action=action,
            created_by=user,
            created_at=now,
            share_per_job=bool(share_per_job) and action == BulkAction.CREATE,
            ticket_reference=reference[:60] if action == BulkAction.LINK else "",
            selection=f"{len(plans)} run{'s' if len(plans) != 1 else ''}",
            message=not_found_text([pk for pk in ids if pk not in runs])[:1000] if missing else "",
        )
        BulkJobItem.objects.bulk_create(
            [
                BulkJobItem(
                    job=job,
                    run=plan.run,
                    position=plan.position,
                    group=plan.group,
                    state=BulkItemState.REFUSED if plan.refusal else BulkItemState.QUEUED,
                    outcome=plan.refusal.code[:30] if plan.refusal else "",
                    message=str(plan.refusal)[:1000] if plan.refusal else "",
                    finished_at=now if plan.refusal else None,
                )
                for plan in plans
            ]
        )
        refused = sum(1 for plan in plans if plan.refusal)
        AuditEvent.record(
            "bulk_job_started",
            user=user,
            environment=env_config.environment,
            message=f"Bulk job {job.pk}: {action.label.lower()} for {len(plans)} runs ({refused} refused at once)",
            bulk_job=job.pk,
            action_name=str(action),
            runs=len(plans),
            refused=refused,
        )
        if refused == len(plans):
            job.state, job.finished_at = BulkJobState.FINISHED, now
            job.save(update_fields=["state", "finished_at"])
        else:
            transaction.on_commit(lambda: enqueue(job.pk))
    return job


def _plan(action, plans, env_config, settings, *, share_per_job):
    """Per-run preconditions from the database in a constant number of queries; sets refusals and groups.

    The service verb checks again when the item runs (this only spares the worker obvious refusals)."""
    from .tickets import tickets_for_runs

    tickets = tickets_for_runs([plan.run.pk for plan in plans])
    if action == BulkAction.CREATE:
        mappings = {
            m.customer_id: m
            for m in CompanyMapping.objects.filter(
                environment=env_config.environment,
                customer_id__in={plan.run.job.customer_id for plan in plans},
            )
        }
        for plan in plans:
            plan.refusal = _create_refusal(plan.run, tickets.get(plan.run.pk), mappings, env_config)
            if share_per_job and plan.refusal is None:
                plan.group = f"job:{plan.run.job_id}"
    elif action == BulkAction.RESOLVE:
        for plan in plans:
            ticket = tickets.get(plan.run.pk)
            if ticket is None:
                plan.refusal = ActionRefused("This run has no Autotask ticket to resolve.", code="no_ticket")
            elif ticket.state != TicketState.CREATED or ticket.ticket_id is None:
                plan.refusal = ActionRefused(
                    f"The run's Autotask ticket is not created yet ({ticket.get_state_display().lower()}).",
                    code="no_ticket",
                )
            else:
                plan.group = f"ticket:{ticket.pk}"
    else:
        for plan in plans:
            ticket = tickets.get(plan.run.pk)
            if ticket is not None:
                plan.refusal = ActionRefused(
                    f"This run already has Autotask ticket {ticket}; a run has at most one ticket.",
                    code="already_has_ticket",
                )


def _create_refusal(run, existing, mappings, env_config):
    """The refusal `create_ticket_for_run` would raise for `run` (database facts already loaded), or None."""
    from .tickets import _refusal_for_existing

    if run.status not in ATTENTION_STATUSES:
        return ActionRefused(
            f"Only warning, error and missed runs get an Autotask ticket; this run's status is "
            f"{run.get_status_display()}.",
            code="status",
        )
    if existing is not None:
        refusal = _refusal_for_existing(existing)
        if refusal is not None:
            return refusal
    customer = run.job.customer
    return mapping_problem(customer, mappings.get(customer.pk), env_config)


def enqueue(job_id):
    """Enqueue `run_bulk_job(job_id)` now (call on commit) and remember the task result id."""
    from integrations.autotask.tasks import run_bulk_job

    result = run_bulk_job.enqueue(job_id)
    BulkJob.objects.filter(pk=job_id).update(task_id=str(getattr(result, "id", "") or "")[:64])
    return result


# --- running a job (the task) -------------------------------------------------------------------------------


@dataclass
class _Unit:
    """Items that run one after another in one thread (a group), in position order."""

    item_ids: list
    state: dict = field(default_factory=dict)


def run_job(job_id):
    """Work off the unfinished items of bulk job `job_id`; returns a JSON-able summary of the job's counts.

    Safe to call again at any time, also concurrently: every item is taken with a compare-and-set and the
    ticket claims of the service verbs make each run's work exactly-once. When the integration is no
    longer active, every unfinished item is refused with the reason and nothing is sent to Autotask.
    API calls: those of the verbs (create 2, add to an open ticket 1, resolve ≤ 4, link 0 per run) plus 1
    lookup per link job.
    """
    from .linking import inactive_reason

    job = BulkJob.objects.select_related("created_by", "link_ticket").filter(pk=job_id).first()
    if job is None:
        return {"status": "missing", "job": job_id}
    reason = inactive_reason()
    if reason:
        _refuse_unfinished(job, reason, "integration_disabled")
        return _summary(job)
    now = timezone.now()
    BulkJob.objects.filter(pk=job.pk).exclude(state=BulkJobState.FINISHED).update(state=BulkJobState.RUNNING)
    BulkJob.objects.filter(pk=job.pk, started_at__isnull=True).update(started_at=now)
    needs_lookup = job.action == BulkAction.LINK and job.link_ticket_id is None and _unfinished(job).exists()
    if needs_lookup and not _look_up_link_ticket(job):
        return _summary(job)
    units = _units(job)
    threads = min(concurrency(), len(units))
    if threads <= 1:
        for unit in units:
            _run_unit(job, unit)
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"bulk-{job.pk}") as pool:
            for future in [pool.submit(_run_unit_in_thread, job, unit) for unit in units]:
                future.result()
    _finish_if_done(job)
    return _summary(job)


def _unfinished(job):
    return BulkJobItem.objects.filter(job_id=job.pk, state__in=UNFINISHED)


def _takeable(job, now=None):
    """Items this run of the task may take: queued ones, and running ones whose worker died."""
    now = now or timezone.now()
    return BulkJobItem.objects.filter(job_id=job.pk).filter(
        Q(state=BulkItemState.QUEUED) | Q(state=BulkItemState.RUNNING, started_at__lt=now - ITEM_LEASE)
    )


def _units(job):
    units, by_group = [], {}
    for pk, group in _takeable(job).order_by("position", "id").values_list("pk", "group"):
        if not group:
            units.append(_Unit([pk]))
        elif group in by_group:
            by_group[group].item_ids.append(pk)
        else:
            by_group[group] = _Unit([pk])
            units.append(by_group[group])
    return units


def _run_unit_in_thread(job, unit):
    try:
        close_old_connections()
        _run_unit(job, unit)
    finally:
        connections.close_all()  # this pool thread's connections


def _take(item_id):
    """Take one item (compare-and-set); returns it with its run, or None when another worker has it."""
    now = timezone.now()
    taken = (
        BulkJobItem.objects.filter(pk=item_id)
        .filter(
            Q(state=BulkItemState.QUEUED) | Q(state=BulkItemState.RUNNING, started_at__lt=now - ITEM_LEASE)
        )
        .update(state=BulkItemState.RUNNING, started_at=now, attempts=F("attempts") + 1)
    )
    if not taken:
        return None
    return BulkJobItem.objects.select_related("run__job__customer").get(pk=item_id)


def _record(item, state, *, outcome="", message="", ticket=None, retryable=False):
    """Store an item's outcome — only while this attempt still owns it (fenced by its start time)."""
    now = timezone.now()
    BulkJobItem.objects.filter(pk=item.pk, state=BulkItemState.RUNNING, started_at=item.started_at).update(
        state=state,
        outcome=outcome[:30],
        message=message[:1000],
        ticket=ticket,
        retryable=retryable,
        finished_at=now,
    )


def _run_unit(job, unit):
    """Run a unit's items in order; each item's outcome is recorded, whatever happens to the others."""
    with background_work(f"bulk job {job.pk}"):
        for item_id in unit.item_ids:
            item = _take(item_id)
            if item is None:
                continue
            blocked = unit.state.get("blocked")
            if blocked:
                _record(
                    item, BulkItemState.FAILED, outcome="not_tried", message=blocked[0], retryable=blocked[1]
                )
                continue
            try:
                outcome, message, ticket = HANDLERS[job.action](job, item, unit)
            except ActionRefused as exc:
                _record(item, BulkItemState.REFUSED, outcome=exc.code or "refused", message=str(exc))
            except Exception as exc:  # one item's failure never stops the others
                if not isinstance(exc, AutotaskError):
                    logger.exception("Bulk job %s: run %s failed unexpectedly", job.pk, item.run_id)
                retryable = _retryable(exc, item)
                _record(
                    item,
                    BulkItemState.FAILED,
                    outcome=type(exc).__name__,
                    message=operator_message(exc),
                    ticket=_ticket_of(item.run_id),
                    retryable=retryable,
                )
                if item.group:  # the group's later runs depend on this one: do not try them now
                    unit.state["blocked"] = (
                        f"Not tried: run {item.run_id} of the same group failed first ({operator_message(exc)})",
                        retryable,
                    )
            else:
                _record(item, BulkItemState.DONE, outcome=outcome, message=message, ticket=ticket)


def _retryable(exc, item):
    if isinstance(exc, RETRYABLE_ERRORS):
        return True
    ticket = _ticket_of(item.run_id)
    return ticket is not None and ticket.state == TicketState.UNKNOWN  # the next attempt reconciles


def _ticket_of(run_id):
    from .tickets import ticket_for_run

    return ticket_for_run(Run(pk=run_id))


# --- the actions, per item (each returns (outcome, message, AutotaskTicket or None)) ----------------------


def _create(job, item, unit):
    from .linking import add_run_to_open_ticket, open_ticket_for_job
    from .tickets import create_ticket_for_run, ticket_for_run

    run, user = item.run, job.created_by
    # An earlier attempt of this item left its claim unknown and it was settled since (e.g. "Reconcile now"
    # on the health page adopted the ticket Autotask had): that ticket is this item's result, not a refusal.
    if item.ticket_id is not None:
        settled = ticket_for_run(run)
        if settled is not None and settled.pk == item.ticket_id and settled.state == TicketState.CREATED:
            unit.state["ticket"] = settled
            return (
                "created",
                f"Created ticket {settled.ticket_number} (confirmed after the failure).",
                settled,
            )
    # A run with a claim of its own (an earlier attempt's outcome is unknown) finishes that claim first:
    # create_ticket_for_run reconciles it by its externalID instead of adding the run to another ticket.
    if job.share_per_job and ticket_for_run(run) is None:
        shared = unit.state.get("ticket") or open_ticket_for_job(run.job)
        if shared is not None:
            result = add_run_to_open_ticket(run, shared, user=user)
            unit.state["ticket"] = result.ticket
            message = f"Added to the job's open ticket {result.ticket.ticket_number} with an internal note."
            if result.note_error:
                message = f"Added to the job's open ticket {result.ticket.ticket_number}; {result.note_error}"
            return "added", message, result.ticket
    ticket = create_ticket_for_run(run, user=user)
    unit.state["ticket"] = ticket
    return "created", f"Created ticket {ticket.ticket_number}.", ticket


def _resolve(job, item, unit):
    from .resolution import resolve_ticket_for_run

    result = resolve_ticket_for_run(item.run, user=job.created_by)
    first = unit.state.setdefault("first_run", item.run_id)
    message = result.message
    if result.repeated and first != item.run_id:
        message = f"Ticket {result.ticket_number} is shared with run {first}: resolved once. {result.message}"
    return result.outcome, message, _ticket_of(item.run_id)


def _link(job, item, unit):
    ticket = job.link_ticket
    _link_known_ticket(item.run, ticket, user=job.created_by)
    return "linked", f"Linked to ticket {ticket.ticket_number}.", ticket


HANDLERS = {BulkAction.CREATE: _create, BulkAction.RESOLVE: _resolve, BulkAction.LINK: _link}


def _look_up_link_ticket(job):
    """The one lookup of a link job: store the ticket on the job. False (items settled) when it fails."""
    from .linking import find_ticket, store_ticket

    try:
        with background_work(f"bulk job {job.pk}"):
            summary = find_ticket(job.ticket_reference)
        settings = AutotaskSettings.load()
        with transaction.atomic():
            ticket, _ = store_ticket(settings.active_environment(), summary, user=job.created_by)
    except ActionRefused as exc:
        _refuse_unfinished(job, str(exc), exc.code or "refused")
        return False
    except AutotaskError as exc:
        _settle_unfinished(
            job,
            BulkItemState.FAILED,
            type(exc).__name__,
            operator_message(exc, "look the ticket up"),
            retryable=isinstance(exc, RETRYABLE_ERRORS),
        )
        return False
    BulkJob.objects.filter(pk=job.pk).update(link_ticket=ticket)
    job.link_ticket = ticket
    return True


def _link_known_ticket(run, ticket, *, user):
    """Link `run` to the stored, already looked-up `ticket` (zero API calls): the checks of
    `linking.link_ticket_to_run` without its lookup. Refuses a run that has a ticket, and a ticket of
    another company than the run's customer's mapped company."""
    from .linking import (
        TicketSummary,
        _attach,
        _require_active,
        company_check,
        company_warning,
        refuse_if_linked,
    )

    settings = AutotaskSettings.load()
    _require_active(settings)
    env_config = settings.active_environment()
    if (ticket.environment, ticket.database_id) != (env_config.environment, env_config.database_id):
        raise ActionRefused(
            "The ticket belongs to another Autotask tenant than the active one.", code="other_tenant"
        )
    refuse_if_linked(run)
    summary = TicketSummary(
        id=ticket.ticket_id,
        number=ticket.ticket_number,
        title=ticket.title,
        company_id=ticket.company_id,
        status_id=ticket.status_id,
        is_complete=ticket.is_complete,
    )
    verdict, mapping = company_check(run, summary, env_config)
    if verdict != "ok":
        raise ActionRefused(
            company_warning(verdict, summary, mapping, run, env_config), code="company_mismatch"
        )
    with transaction.atomic():
        _attach(run, ticket, user)
        AuditEvent.record(
            "ticket_linked",
            user=user,
            environment=env_config.environment,
            message=f"Linked existing ticket {ticket.ticket_number} to the run (bulk)",
            run=run,
            ticket_id=ticket.ticket_id,
            ticket_number=ticket.ticket_number,
            company_id=ticket.company_id,
            company_check=verdict,
            database_id=env_config.database_id,
        )


# --- settling, retrying, counting ------------------------------------------------------------------------------


def _settle_unfinished(job, state, outcome, message, *, retryable=False):
    now = timezone.now()
    _takeable(job, now).update(
        state=state, outcome=outcome[:30], message=message[:1000], retryable=retryable, finished_at=now
    )
    _finish_if_done(job)


def _refuse_unfinished(job, message, code):
    _settle_unfinished(job, BulkItemState.REFUSED, code, message)


def _finish_if_done(job):
    """Mark the job finished when no item is queued or running (another worker may still have some)."""
    if not _unfinished(job).exists():
        now = timezone.now()
        BulkJob.objects.filter(pk=job.pk).exclude(state=BulkJobState.FINISHED).update(
            state=BulkJobState.FINISHED, finished_at=now
        )
        job.refresh_from_db(fields=["state", "finished_at"])


def retry_job(job, *, user):
    """Queue a job's retryable failed items again (and items a dead worker left `running`); returns how
    many. Database only; the task is enqueued on commit. Refused (ActionRefused, nothing changed) when the
    user may not start the action or see the job, the integration is not active, or nothing is left to
    retry. Idempotent: a second call finds nothing to retry."""
    if not (may_view(user, job) and may_start(user, job.action)):
        raise ActionRefused("You may not retry this bulk job.", code="permission")
    _require_active(AutotaskSettings.load())
    now = timezone.now()
    with transaction.atomic():
        count = (
            BulkJobItem.objects.filter(job_id=job.pk)
            .filter(
                Q(state=BulkItemState.FAILED, retryable=True)
                | Q(state=BulkItemState.RUNNING, started_at__lt=now - ITEM_LEASE)
            )
            .update(state=BulkItemState.QUEUED, retryable=False, message="", outcome="", finished_at=None)
        )
        if not count:
            raise ActionRefused("Nothing in this bulk job can be retried.", code="nothing_to_retry")
        BulkJob.objects.filter(pk=job.pk).update(state=BulkJobState.QUEUED, finished_at=None)
        AuditEvent.record(
            "bulk_job_retried",
            user=user,
            message=f"Bulk job {job.pk}: {count} runs queued again",
            bulk_job=job.pk,
        )
        transaction.on_commit(lambda: enqueue(job.pk))
    return count


COUNT_STATES = [state.value for state in BulkItemState]


def _count_annotations(prefix=""):
    return {state: Count(f"{prefix}pk", filter=Q(**{f"{prefix}state": state})) for state in COUNT_STATES} | {
        "retryable": Count(f"{prefix}pk", filter=Q(**{f"{prefix}retryable": True}))
    }


def job_counts(job):
    """{state: count} of the job's items plus "total", "finished" (done+refused+failed), "retryable" and
    "percent" (0–100). One query."""
    counts = BulkJobItem.objects.filter(job_id=job.pk).aggregate(**_count_annotations())
    return _with_totals(counts)


def _with_totals(counts):
    counts = {name: counts.get(name) or 0 for name in [*COUNT_STATES, "retryable"]}
    counts["total"] = sum(counts[state] for state in COUNT_STATES)
    counts["finished"] = counts["done"] + counts["refused"] + counts["failed"]
    counts["percent"] = round(100 * counts["finished"] / counts["total"]) if counts["total"] else 100
    return counts


def visible_jobs(user, limit=50):
    """The newest bulk jobs `user` may see (staff: everyone's), each with `.counts`. One query."""
    jobs = BulkJob.objects.select_related("created_by").order_by("-created_at", "-id")
    if not user.is_staff:
        jobs = jobs.filter(created_by=user)
    jobs = list(jobs.annotate(**{f"n_{k}": v for k, v in _count_annotations("items__").items()})[:limit])
    for job in jobs:
        job.counts = _with_totals({k: getattr(job, f"n_{k}") for k in [*COUNT_STATES, "retryable"]})
    return jobs


#: item rows per page of a bulk job's progress page (and per 2 s poll of it): a poll re-sends at most these
ITEMS_PER_PAGE = 100


def _items(job):
    return (
        BulkJobItem.objects.filter(job_id=job.pk)
        .select_related("run__job__customer", "ticket")
        .defer(*(f"run__{name}" for name in Run.LIST_DEFERRED))
        .order_by("position", "id")
    )


def job_items(job):
    """All the job's items with their runs (job, customer) and tickets, in order. One query."""
    return list(_items(job))


def job_items_page(job, number, total, per_page=None):
    """Page `number` (1-based; out of range → the nearest page, garbage → 1) of the job's items in order,
    `per_page` (default ITEMS_PER_PAGE) at most: a django Page whose object_list is loaded with runs and
    tickets. `total` is the job's item count (job_counts()["total"]), so that no count query is needed.
    One query, whatever the job's size."""
    from django.core.paginator import Paginator

    paginator = Paginator(_items(job), per_page or ITEMS_PER_PAGE)
    paginator.__dict__["count"] = total  # known from job_counts: spares the COUNT query
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    return page


def _summary(job):
    job.refresh_from_db(fields=["state"])
    counts = job_counts(job)
    return {
        "job": job.pk,
        "state": job.state,
        **{k: counts[k] for k in [*COUNT_STATES, "total", "retryable"]},
    }


__all__ = [
    "MAX_BULK_RUNS",
    "start_bulk_action",
    "run_job",
    "retry_job",
    "job_counts",
    "job_items",
    "job_items_page",
    "visible_jobs",
    "may_start",
    "may_view",
]
