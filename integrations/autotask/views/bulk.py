"""Issue 14: bulk actions from Run Checks and their progress pages (docs/autotask-bulk.md).

- `bulk_start` (POST, from the Run Checks form): the checked runs (group-by-job view: the runs counted in the
  checked jobs' rows) — or, with `select_all_matching`, every
  run of the posted queue filter (resolved here on the server, cut to MAX_BULK_RUNS with a message) — and
  the action → `services.bulk.start_bulk_action` → the progress page. Refusals return to Run Checks with
  the reason. Needs runs.view_run + the action's Autotask permission (403 otherwise).
- `bulk_job` (GET): counts, progress bar and each run's outcome; while the job is not finished, htmx polls
  `bulk_job_progress` (the same fragment) every 2 s and stops when it is; while background work is
  slowed or paused by the hourly API threshold it shows why (budget.pacing_status), and a queued job says
  what it waits for (earlier jobs, or no task worker). Reload-safe (all from the
  database). `bulk_jobs` (GET) lists the recent jobs so a finished one can be re-opened.
- `bulk_retry` (POST): queue the retryable failures (and items a dead worker left) again.
A job is visible to the user who started it and to staff (403 for users who may not use bulk actions at
all, 404 for other users). Every page is database
only (zero API calls) and renders in a constant number of queries.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from backupchecks.auth import PermissionRequired
from integrations.autotask.models import BulkAction, BulkJob, BulkJobState
from integrations.autotask.services import ActionRefused, budget, bulk
from integrations.autotask.services.tickets import ticket_web_url, web_urls

#: seconds between two htmx polls of a running job's progress
POLL_SECONDS = 2

#: shown on the 403 page to a user who may start no bulk action
BULK_PAGES_REFUSAL = (
    "Bulk Autotask jobs are for staff and for users who may create, resolve or link Autotask tickets."
)


def _back(request):
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("runs:run_checks")


def selected_run_ids(request):
    """(run ids, note) from the POST: the checked `runs`; from the group-by-job view (the posted `queue`
    has group=job) the runs counted in the checked jobs' rows (`groups`, "<job id>:<highest run id
    shown>", exactly what Mark reviewed takes there: runs.queue.Queue.runs_of_groups); or with
    `select_all_matching` the runs of the posted `queue` (Run Checks' filter) in the queue's order, at most
    MAX_BULK_RUNS — `note` then says how many matched (and that the rest were left out). ActionRefused
    for a malformed group selection. At most two queries."""
    from runs.forms import BulkReviewGroupsForm
    from runs.queue import Queue
    from runs.views import matching_run_ids  # the same "all matching" Mark reviewed takes

    if request.POST.get("select_all_matching"):
        limit = bulk.MAX_BULK_RUNS
        ids, total = matching_run_ids(request.POST.get("queue", "")[:2000], limit=limit)
        if total is not None:
            return ids, (
                f"{total:,} runs match the filter; a bulk action takes at most {limit:,}, so the first "
                f"{limit:,} in the list's order were taken. Run it again for the rest."
            )
        return ids, f"All {len(ids):,} run{'s' if len(ids) != 1 else ''} matching the filter."
    if "groups" in request.POST or Queue.from_query_string(request.POST.get("queue", "")[:2000]).grouped:
        form = BulkReviewGroupsForm(request.POST)
        if not form.is_valid():
            errors = form.errors.get("groups") or form.errors.get("queue") or ["Invalid selection."]
            raise ActionRefused(" ".join(errors) + " Nothing was started.", code="bad_groups")
        bounds = form.cleaned_data["groups"]
        queue = Queue.from_query_string(form.cleaned_data["queue"])
        ids = sorted(queue.runs_of_groups(bounds))
        if not ids:
            raise ActionRefused(
                "None of the checked jobs has a run needing review under this filter any more (reviewed "
                "since the page was shown, or no such job). Nothing was started.",
                code="no_runs",
            )
        jobs = len(bounds)
        return ids, (
            f"{len(ids):,} run{'s' if len(ids) != 1 else ''} of {jobs:,} checked job{'s' if jobs != 1 else ''}."
        )
    return request.POST.getlist("runs"), ""


@require_POST
@login_required
def bulk_start(request):
    """Start a bulk action from Run Checks and go to its progress page."""
    if not bulk.may_use_bulk_pages(request.user):
        raise PermissionDenied(BULK_PAGES_REFUSAL)
    action = request.POST.get("action", "")
    if action not in bulk.ACTION_PERMISSIONS:
        messages.error(request, "Choose a bulk action.")
        return redirect(_back(request))
    if not bulk.may_start(request.user, action):
        raise PermissionRequired("runs.view_run", bulk.ACTION_PERMISSIONS[action])
    try:
        run_ids, note = selected_run_ids(request)
        job = bulk.start_bulk_action(
            user=request.user,
            action=action,
            run_ids=run_ids,
            share_per_job=bool(request.POST.get("share_per_job")),
            ticket_reference=request.POST.get("ticket_reference"),
        )
    except ActionRefused as exc:
        messages.error(request, f"{BulkAction(action).label}: {exc}")
        return redirect(_back(request))
    if note:
        BulkJob.objects.filter(pk=job.pk).update(selection=note[:300])
        if "at most" in note:
            messages.warning(request, note)
    return redirect("autotask:bulk_job", pk=job.pk)


def _visible_job(request, pk):
    """The job, for its creator and staff: 403 for users without any bulk permission, 404 for others."""
    if not bulk.may_use_bulk_pages(request.user):
        raise PermissionDenied(BULK_PAGES_REFUSAL)
    job = get_object_or_404(BulkJob.objects.select_related("created_by", "link_ticket"), pk=pk)
    if not bulk.may_view(request.user, job):
        raise Http404("No such bulk job.")
    return job


def _background_pacing(job):
    """The shared pacing state while `job` still has work and background work is slowed or paused (so the
    progress page says why nothing moves), else None. Database only (budget.pacing_status)."""
    if job.is_finished:
        return None
    pacing = budget.pacing_status()
    return pacing if pacing.state in ("slowed", "paused") else None


#: a queued job nobody took for this long (seconds) probably has no task worker at all
NO_WORKER_AFTER_SECONDS = 30


def _waiting_note(job):
    """Why a queued job has not started (operator text), or "". Jobs are taken in order by the task
    workers, so a slow (paced) earlier job keeps the next ones queued; with no job ahead and nothing taken
    after NO_WORKER_AFTER_SECONDS, no worker seems to be running. One query while queued, none otherwise."""
    if job.state != BulkJobState.QUEUED:
        return ""
    ahead = (
        BulkJob.objects.filter(
            state__in=(BulkJobState.QUEUED, BulkJobState.RUNNING), created_at__lte=job.created_at
        )
        .exclude(pk=job.pk)
        .count()
    )
    if ahead:
        return (
            f"Waiting for a task worker: {ahead:,} earlier bulk job{'s are' if ahead != 1 else ' is'} not "
            f"finished yet, and workers take jobs in order (an administrator can run more task workers: "
            f"docs/deployment.md)."
        )
    if (timezone.now() - job.created_at).total_seconds() > NO_WORKER_AFTER_SECONDS:
        return (
            "No task worker has taken this job yet. Is one running (manage.py db_worker; make run starts "
            "one)? The job starts as soon as a worker runs."
        )
    return ""


def _progress_context(request, job):
    """The page's and the poll's context: counts, and ONE page of item rows (`?page=`, ITEMS_PER_PAGE), so
    a poll of a 1,000-run job re-sends at most 100 rows. Constant queries."""
    counts = bulk.job_counts(job)
    items_page = bulk.job_items_page(job, request.GET.get("page"), counts["total"])
    urls = web_urls()
    rows = [
        (item, ticket_web_url(item.ticket, urls.get(getattr(item.ticket, "environment", ""), "")))
        for item in items_page.object_list
    ]
    return {
        "job": job,
        "counts": counts,
        "rows": rows,
        "page": items_page,
        "poll_seconds": POLL_SECONDS,
        "can_retry": bulk.may_start(request.user, job.action),
        "pacing": _background_pacing(job),
        "waiting": _waiting_note(job),
    }


@require_GET
@login_required
def bulk_job(request, pk):
    """The progress page of one bulk job (database only)."""
    job = _visible_job(request, pk)
    return render(request, "autotask/bulk/job.html", _progress_context(request, job))


@require_GET
@login_required
def bulk_job_progress(request, pk):
    """The progress fragment htmx polls (the same markup the page renders)."""
    job = _visible_job(request, pk)
    return render(request, "autotask/bulk/inc/progress.html", _progress_context(request, job))


@require_GET
@login_required
def bulk_jobs(request):
    """The newest bulk jobs (staff: everyone's; others: their own)."""
    if not bulk.may_use_bulk_pages(request.user):
        raise PermissionDenied(BULK_PAGES_REFUSAL)
    return render(request, "autotask/bulk/jobs.html", {"jobs": bulk.visible_jobs(request.user)})


@require_POST
@login_required
def bulk_retry(request, pk):
    """Queue a job's retryable failures again."""
    job = _visible_job(request, pk)
    if not bulk.may_start(request.user, job.action):
        raise PermissionRequired("runs.view_run", bulk.ACTION_PERMISSIONS[job.action])
    try:
        count = bulk.retry_job(job, user=request.user)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{count} run{'s' if count != 1 else ''} queued again.")
    return redirect("autotask:bulk_job", pk=job.pk)


urlpatterns = [
    path("bulk/", bulk_jobs, name="bulk_jobs"),
    path("bulk/start/", bulk_start, name="bulk_start"),
    path("bulk/<int:pk>/", bulk_job, name="bulk_job"),
    path("bulk/<int:pk>/progress/", bulk_job_progress, name="bulk_job_progress"),
    path("bulk/<int:pk>/retry/", bulk_retry, name="bulk_retry"),
]
