"""Issue 14: the integration health page (`/autotask/health/`, staff with `autotask.manage_autotask`).

Renders from the database only — zero Autotask calls, a constant number of SQL queries whatever the size
of the call log, the usage samples or the claims: hourly usage and its trend (ThresholdInformation
samples), pacing state, the per-endpoint limiter, the last 100 API calls, ticket claims left `unknown` or
stale `pending` (each with a "Reconcile now" POST), and each scheduled task's last failure and success
(django-tasks-db's results).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import ApiCall, AutotaskSettings, AutotaskTicket, UsageSample
from integrations.autotask.services import ActionRefused, budget, tickets

MANAGE_PERMISSION = "autotask.manage_autotask"
#: the API calls shown (the log keeps budget.CALL_LOG_KEEP)
CALLS_SHOWN = 100
#: usage samples in the trend (newest first)
SAMPLES_SHOWN = 48
#: claims listed (the count above the list is exact)
CLAIMS_SHOWN = 50
#: the scheduled tasks whose last failure the page shows
SCHEDULED_TASKS = (
    ("integrations.autotask.tasks.check_mappings_task", "Company mapping check"),
    ("integrations.autotask.tasks.sync_ticket_statuses_task", "Ticket status sync"),
)


def _staff_required(view):
    """Logged in (else the login page), staff with autotask.manage_autotask (else 403)."""

    @login_required
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm(MANAGE_PERMISSION)):
            raise PermissionDenied("The integration health page is for the integration's admins.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _last_line(text):
    """The exception line of a stored traceback (operator text of our errors; never a secret)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def scheduled_task_status():
    """[{name, path, last_failure_at, last_error, last_success_at}] for SCHEDULED_TASKS (2 queries each)."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another task backend: nothing stored here
        return []
    rows = []
    for task_path, name in SCHEDULED_TASKS:
        results = DBTaskResult.objects.filter(task_path=task_path).order_by("-finished_at")
        failure = results.filter(status="FAILED").only("finished_at", "traceback").first()
        success = results.filter(status="SUCCESSFUL").values_list("finished_at", flat=True).first()
        rows.append(
            {
                "name": name,
                "path": task_path,
                "last_failure_at": failure.finished_at if failure else None,
                "last_error": _last_line(failure.traceback) if failure else "",
                "last_success_at": success,
            }
        )
    return rows


@require_GET
@_staff_required
def health(request):
    settings = AutotaskSettings.objects.filter(pk=1).first()
    pacing = budget.pacing_status()
    samples = list(UsageSample.objects.order_by("-measured_at", "-id")[:SAMPLES_SHOWN])
    claims_qs = tickets.unresolved_claims()
    claims = list(claims_qs.prefetch_related("run_links")[:CLAIMS_SHOWN])
    context = {
        "enabled": bool(settings and settings.enabled),
        "pacing": pacing,
        "usage_percent": None if pacing.usage_ratio is None else round(pacing.usage_ratio * 100, 1),
        "ceiling_percent": round(pacing.ceiling * 100),
        "samples": samples,
        "trend": _trend(samples),
        "endpoints": budget.limiter_status(),
        "calls": list(ApiCall.objects.order_by("-at", "-id")[:CALLS_SHOWN]),
        "claims": claims,
        "claim_count": claims_qs.count(),
        "lease_minutes": int(tickets.CLAIM_LEASE.total_seconds() // 60),
        "scheduled": scheduled_task_status(),
        "now": timezone.now(),
    }
    return render(request, "autotask/health/page.html", context)


def _trend(samples):
    """'rising', 'falling' or 'steady' from the newest sample against the one an hour (or less) older."""
    if len(samples) < 2 or not samples[0].threshold:
        return ""
    newest = samples[0]
    older = next(
        (s for s in samples[1:] if (newest.measured_at - s.measured_at).total_seconds() >= 3600), samples[-1]
    )
    delta = (newest.used - older.used) / newest.threshold
    if delta > 0.02:
        return "rising"
    if delta < -0.02:
        return "falling"
    return "steady"


@require_POST
@_staff_required
def reconcile_claim(request, pk):
    """ "Reconcile now": settle one claim by externalID (tickets.reconcile_claim). Refused while disabled
    (zero API calls); always returns to the health page with a message."""
    ticket = AutotaskTicket.objects.filter(pk=pk).first()
    if ticket is None:
        messages.warning(request, "This ticket claim no longer exists (it was settled meanwhile).")
        return redirect("autotask:health")
    try:
        result = tickets.reconcile_claim(ticket, user=request.user)
    except ActionRefused as exc:
        messages.warning(request, str(exc))
    except AutotaskError as exc:
        messages.error(request, operator_message(exc, "check the claim in Autotask"))
    else:
        messages.success(request, result.message)
    return redirect("autotask:health")


urlpatterns = [
    path("health/", health, name="health"),
    path("health/claims/<int:pk>/reconcile/", reconcile_claim, name="reconcile_claim"),
]
