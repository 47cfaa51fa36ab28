"""Operator pages: Run Checks (the landing page), run detail with its edits, and Job Details.

Every page needs `runs.view_run` (all three roles have it; a user without a role gets 403). Writes need
`runs.review_run` or `runs.edit_manual_ticket_number` and are POST-only with CSRF. Each page renders a
constant number of SQL queries whatever the table sizes: list pages paginate and `select_related`, and
template slots are prepared once per page (`backupchecks.extensions.prepare_slot`).
"""

import functools
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Case, Value, When
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from backupchecks.auth import require_perms
from backupchecks.extensions import policy_allows, prepare_slot
from customers.models import Customer

from .forms import (
    MAX_REVIEW_ALL_MATCHING,
    BulkReviewForm,
    BulkReviewGroupsForm,
    ManualTicketNumberForm,
    ReviewToggleForm,
)
from .models import BackupJob, Run, RunStatus
from .pagination import LeanPaginator
from .queue import STATUS_BY_SEVERITY, Queue
from .signals import run_reviewed

logger = logging.getLogger(__name__)

RUNS_PER_PAGE = 50
STRIP_LENGTH = 30


def view_required(view):
    """Login (anonymous users go to the login page), then `runs.view_run` (users without a role get 403)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        require_perms(request.user, "runs.view_run")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _require_perm(request, perm):
    """403 naming `perm` (the error page says which role grants it)."""
    require_perms(request.user, perm)


def _safe_next(request, default):
    target = request.POST.get("next") or ""
    # Only a path on this site: redirect() would treat a bare word such as "x" as a URL name (a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def set_reviewed(run_ids, user, reviewed):
    """Mark the runs with `run_ids` reviewed (or not) by `user`; returns the runs whose state changed.

    Runs already in the requested state are left alone. `run_reviewed` is sent once, on commit, with the
    changed runs only — and not at all when nothing changed.
    """
    now = timezone.now()
    with transaction.atomic():
        candidates = Run.objects.select_for_update(of=("self",)).filter(pk__in=run_ids)
        candidates = candidates.filter(reviewed_at__isnull=reviewed)
        changed = list(candidates.select_related("job__customer").order_by("pk"))
        if not changed:
            return []
        fields = (
            {"reviewed_by": user, "reviewed_at": now}
            if reviewed
            else {"reviewed_by": None, "reviewed_at": None}
        )
        Run.objects.filter(pk__in=[run.pk for run in changed]).update(**fields)
        for run in changed:
            run.reviewed_by, run.reviewed_at = fields["reviewed_by"], fields["reviewed_at"]
        transaction.on_commit(lambda: _send_run_reviewed(changed, user, reviewed))
    logger.info(
        "%s marked %d run(s) %s: %s",
        user.get_username(),
        len(changed),
        "reviewed" if reviewed else "not reviewed",
        ",".join(str(run.pk) for run in changed),
    )
    return changed


def _send_run_reviewed(runs, user, reviewed):
    # send_robust: the review is committed; a broken receiver must not hide it from the other receivers
    # or turn the operator's click into a server error.
    for receiver, response in run_reviewed.send_robust(sender=Run, runs=runs, user=user, reviewed=reviewed):
        if isinstance(response, Exception):
            logger.error(
                "run_reviewed receiver %r failed for run(s) %s",
                receiver,
                ",".join(str(run.pk) for run in runs),
                exc_info=(type(response), response, response.__traceback__),
            )


@require_GET
@view_required
def run_checks(request):
    """Unreviewed warning/error/missed runs, filtered, sorted (newest first by default) and paginated.

    `group=job` collapses each job's runs into one row (count, worst status, newest run).
    """
    queue = Queue(request.GET)
    context = {
        "form": queue.form,
        "queue": queue,
        "sort_links": queue.sort_links(),
        "can_review": request.user.has_perm("runs.review_run"),
        "max_review_all": MAX_REVIEW_ALL_MATCHING,
        "grouped_query": queue.with_params(group="job" if not queue.grouped else None),
    }
    if queue.grouped:
        paginator = LeanPaginator(queue.groups(), RUNS_PER_PAGE, count_queryset=queue.group_count_queryset())
        page = paginator.get_page(request.GET.get("page"))
        groups = queue.add_newest_runs(list(page.object_list))
        for group in groups:
            group["worst_status"] = STATUS_BY_SEVERITY[group["worst"]]
            group["worst_label"] = RunStatus(group["worst_status"]).label
        context.update(page=page, groups=groups, runs=[], run_count=sum(g["run_count"] for g in groups))
    else:
        runs = queue.runs().select_related("job__customer").defer(*Run.LIST_DEFERRED)
        paginator = LeanPaginator(runs, RUNS_PER_PAGE, count_queryset=queue.count_queryset())
        page = paginator.get_page(request.GET.get("page"))
        page_runs = list(page.object_list)
        prepare_slot("run_list_badges", request, page_runs)
        context.update(page=page, runs=page_runs)
    return render(request, "runs/run_checks.html", context)


#: the most suggestions the Run Checks customer search returns
CUSTOMER_SUGGESTIONS = 20


@require_GET
@view_required
def customer_search(request):
    """Suggestions for the Run Checks customer filter (an htmx fragment): at most CUSTOMER_SUGGESTIONS
    customers whose name contains `customer_name` (case-insensitive), names starting with it first.

    One query (plus the session's), whatever the number of customers; an empty text returns no list.
    """
    text = request.GET.get("customer_name", "").strip()[:200]
    customers, more = [], False
    if text:
        matches = (
            Customer.objects.filter(name__icontains=text)
            .annotate(prefix=Case(When(name__istartswith=text, then=Value(0)), default=Value(1)))
            .order_by("prefix", Lower("name"), "pk")
            .only("pk", "name", "is_active")
        )
        customers = list(matches[: CUSTOMER_SUGGESTIONS + 1])
        more = len(customers) > CUSTOMER_SUGGESTIONS
        customers = customers[:CUSTOMER_SUGGESTIONS]
    return render(
        request,
        "runs/inc/customer_suggestions.html",
        {"customers": customers, "more": more, "text": text, "limit": CUSTOMER_SUGGESTIONS},
    )


def matching_run_ids(query_string, limit=MAX_REVIEW_ALL_MATCHING):
    """(run ids, total) for "all N runs matching the filter": the runs of the Run Checks queue described by
    `query_string` (its filters; grouping does not change which runs match), in the list's order, at most
    `limit` of them. `total` is how many matched when more than `limit` did (else None). Two queries at
    most, whatever the queue's size beyond the limit is counted by the database."""
    queue = Queue.from_query_string(query_string)
    ids = list(queue.runs().values_list("pk", flat=True)[: limit + 1])
    if len(ids) > limit:
        return ids[:limit], queue.count_queryset().count()
    return ids, None


def _review_all_matching(request):
    """ "Mark reviewed" with "all N runs matching the filter" ticked (list or group view): every run of the
    posted queue, capped at MAX_REVIEW_ALL_MATCHING with a message; the checked rows do not matter."""
    query_string = request.POST.get("queue", "")[:2000]
    run_ids, total = matching_run_ids(query_string)
    changed = set_reviewed(run_ids, request.user, reviewed=True)
    if total is not None:
        messages.warning(
            request,
            f"{total:,} runs match the filter; Mark reviewed takes at most {MAX_REVIEW_ALL_MATCHING:,} at a "
            f"time, so the first {MAX_REVIEW_ALL_MATCHING:,} in the list's order were taken. Press it again "
            "for the rest.",
        )
    if changed:
        messages.success(
            request,
            f"Marked {len(changed):,} run{'s' if len(changed) != 1 else ''} reviewed: all runs matching the "
            "filter" + (f" (the first {MAX_REVIEW_ALL_MATCHING:,})." if total is not None else "."),
        )
    else:
        messages.info(request, "No run matching the filter needs review any more. Nothing was changed.")
    return redirect(_safe_next(request, "runs:run_checks"))


@require_POST
@view_required
def review_runs(request):
    """Bulk "Mark reviewed" from Run Checks: the checked runs, or with `select_all_matching` every run of the
    posted queue (`matching_run_ids`)."""
    _require_perm(request, "runs.review_run")
    if request.POST.get("select_all_matching"):
        return _review_all_matching(request)
    form = BulkReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("runs", ["Invalid selection."])))
        return redirect(_safe_next(request, "runs:run_checks"))
    changed = set_reviewed(form.cleaned_data["runs"], request.user, reviewed=True)
    _report_bulk_review(request, changed)
    return redirect(_safe_next(request, "runs:run_checks"))


def _report_bulk_review(request, changed):
    if changed:
        messages.success(request, f"Marked {len(changed)} run{'s' if len(changed) != 1 else ''} reviewed.")
    else:
        messages.info(request, "The selected runs were already reviewed.")


@require_POST
@view_required
def review_groups(request):
    """ "Mark reviewed" in the group-by-job view: every run of the chosen groups under the posted filters
    (or, with `select_all_matching`, every run matching them).

    Each group is posted as "<job id>:<highest run id shown>", so runs that arrived after the page was
    shown stay on Run Checks.
    """
    _require_perm(request, "runs.review_run")
    if request.POST.get("select_all_matching"):
        return _review_all_matching(request)
    form = BulkReviewGroupsForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("groups", ["Invalid selection."])))
        return redirect(_safe_next(request, "runs:run_checks"))
    queue = Queue.from_query_string(form.cleaned_data["queue"])
    run_ids = queue.runs_of_groups(form.cleaned_data["groups"])
    changed = set_reviewed(run_ids, request.user, reviewed=True)
    _report_bulk_review(request, changed)
    return redirect(_safe_next(request, "runs:run_checks"))


def _run_for_detail(pk):
    return get_object_or_404(Run.objects.select_related("job__customer", "reviewed_by"), pk=pk)


def _render_run_detail(request, run, ticket_form=None, status=200):
    prepare_slot("run_detail_panels", request, [run])
    prepare_slot("run_detail_actions", request, [run])
    # No integration policy against manual numbers (e.g. Autotask enabled without compatibility mode: its
    # tickets replace them; an existing manual number stays visible either way).
    manual_numbers_used = policy_allows("manual_ticket_entry_allowed", request, run)
    can_edit_ticket = manual_numbers_used and request.user.has_perm("runs.edit_manual_ticket_number")
    context = {
        # the Run Checks list this run was opened from (filters, sort), for "and next" and the way back
        "queue_query": Queue(request.GET).query_string,
        "run": run,
        # an empty manual number is not shown while an integration's tickets replace manual numbers
        "show_manual_ticket_number": manual_numbers_used or bool(run.manual_ticket_number),
        "job": run.job,
        "customer": run.job.customer,
        "can_review": request.user.has_perm("runs.review_run"),
        "can_edit_ticket": can_edit_ticket,
        "ticket_form": (ticket_form or ManualTicketNumberForm(instance=run)) if can_edit_ticket else None,
    }
    return render(request, "runs/run_detail.html", context, status=status)


@require_GET
@view_required
def run_detail(request, pk):
    return _render_run_detail(request, _run_for_detail(pk))


@require_POST
@view_required
def run_ticket_number(request, pk):
    """Save the manual ticket number of a run (empty clears it)."""
    _require_perm(request, "runs.edit_manual_ticket_number")
    run = _run_for_detail(pk)
    if not policy_allows("manual_ticket_entry_allowed", request, run):
        # Enforced here too, not only hidden on the page: a form left open since before the switch (or a
        # crafted POST) changes nothing.
        messages.error(
            request,
            "Manual ticket numbers cannot be entered right now: an integration manages this run's tickets. "
            "Nothing was changed.",
        )
        return redirect(run, permanent=False)
    old_value = run.manual_ticket_number
    form = ManualTicketNumberForm(request.POST, instance=run)
    if not form.is_valid():
        run.manual_ticket_number = old_value  # the form may have set the invalid value on the instance
        return _render_run_detail(request, run, ticket_form=form, status=400)
    new_value = form.cleaned_data["manual_ticket_number"]
    # Update just this column: a full save() could overwrite a review made since the page was loaded.
    Run.objects.filter(pk=run.pk).update(manual_ticket_number=new_value)
    logger.info("%s set the manual ticket number of run %s", request.user.get_username(), run.pk)
    if new_value:
        messages.success(request, f"Saved ticket number {new_value}.")
    elif old_value:
        messages.success(request, "Cleared the ticket number.")
    return redirect(run)


@require_POST
@view_required
def run_review(request, pk):
    """Review or un-review one run (`reviewed=1|0`)."""
    _require_perm(request, "runs.review_run")
    run = _run_for_detail(pk)
    form = ReviewToggleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Invalid review request.")
        return redirect(run)
    reviewed = form.cleaned_data["reviewed"]
    if set_reviewed([run.pk], request.user, reviewed=reviewed):
        messages.success(request, "Marked the run reviewed." if reviewed else "Marked the run not reviewed.")
    queue = Queue.from_query_string(form.cleaned_data["queue"])
    suffix = f"?{queue.query_string}" if queue.query_string else ""
    if reviewed and form.cleaned_data["and_next"]:
        following = queue.next_after(run)
        if following is None:
            messages.info(request, "Nothing left to review with these filters.")
            return redirect(reverse("runs:run_checks") + suffix)
        return redirect(following.get_absolute_url() + suffix)
    return redirect(_safe_next(request, run.get_absolute_url() + suffix))


@require_GET
@view_required
def job_detail(request, pk):
    """One job and its run history: a strip of the last runs, then a paginated table. Tickets link here."""
    job = get_object_or_404(BackupJob.objects.select_related("customer").defer("customer__notes"), pk=pk)
    history = job.runs.select_related("reviewed_by").defer("details").order_by("-started_at", "-id")
    strip = list(
        job.runs.only("pk", "job_id", "status", "started_at").order_by("-started_at", "-id")[:STRIP_LENGTH]
    )
    strip.reverse()  # oldest left, newest right
    page = LeanPaginator(history, RUNS_PER_PAGE, count_queryset=job.runs.all()).get_page(
        request.GET.get("page")
    )
    page_runs = list(page.object_list)  # the related manager sets run.job = job: no query per row
    prepare_slot("job_detail_panels", request, [job])
    prepare_slot("run_list_badges", request, page_runs)
    return render(
        request,
        "runs/job_detail.html",
        {
            "job": job,
            "customer": job.customer,
            "strip": strip,
            "page": page,
            "runs": page_runs,
            "statuses": RunStatus,
        },
    )
