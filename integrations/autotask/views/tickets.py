"""Phase 4: ticket preview (GET, database only) and creation (POST) for one run.

Both need `autotask.create_ticket` (Operators and Admins); anyone else gets 403. The POST is CSRF
protected; whatever happens the operator lands on the run's page with one message saying what happened
(Autotask's own text through `messages.operator_message`). When an earlier run of the job has an open
ticket, the preview offers adding this run to it (`choice=link`, the default: `linking.add_run_to_open_ticket`,
one API call) or creating a new ticket (`choice=create`).
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from backupchecks.auth import require_perms
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import TicketState
from integrations.autotask.services import ActionRefused, tickets
from runs.models import Run

PERMISSION = "autotask.create_ticket"


def _next_url(request, run):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return run.get_absolute_url()


@login_required
@require_http_methods(["GET", "POST"])
def create_ticket(request, pk):
    """GET: the preview of exactly what will be sent (zero API calls). POST: create it."""
    require_perms(request.user, PERMISSION)
    run = get_object_or_404(Run.objects.select_related("job__customer"), pk=pk)
    if request.method == "POST":
        return _create(request, run)
    try:
        draft = tickets.preview_ticket(run)
        refusal = None
    except ActionRefused as exc:
        draft, refusal = None, exc
    existing = tickets.ticket_for_run(run) if refusal is not None else None
    existing_url = open_ticket_url = ""
    if existing is not None:
        existing_url = tickets.ticket_web_url(existing, tickets.web_urls().get(existing.environment, ""))
    open_ticket = draft.extra.get("open_ticket") if draft is not None else None
    if open_ticket is not None:  # ticket-storm avoidance: offered as the default choice
        open_ticket_url = tickets.ticket_web_url(
            open_ticket, tickets.web_urls().get(open_ticket.environment, "")
        )
    return render(
        request,
        "autotask/ticket_preview.html",
        {
            "run": run,
            "job": run.job,
            "customer": run.job.customer,
            "draft": draft,
            "refusal": refusal,
            "existing": existing,
            "existing_url": existing_url,
            "open_ticket_url": open_ticket_url,
            "payload_json": json.dumps(draft.payload, indent=2, ensure_ascii=False) if draft else "",
            "next": _next_url(request, run),
        },
    )


def _add_to_open_ticket(request, run, target):
    """The storm-avoidance choice of the preview: add the run to the job's open ticket (one API call)."""
    from integrations.autotask.models import AutotaskTicket
    from integrations.autotask.services import linking

    ticket = AutotaskTicket.objects.filter(pk=request.POST.get("open_ticket") or None).first()
    if ticket is None:
        messages.error(request, "That ticket no longer exists; nothing was sent to Autotask.")
        return redirect(target)
    try:
        result = linking.add_run_to_open_ticket(run, ticket, user=request.user)
    except ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect(target)
    if result.note_error:
        messages.warning(
            request,
            f"Added the run to ticket {ticket.ticket_number}, but the internal note failed: {result.note_error}",
        )
    else:
        messages.success(request, f"Added the run to ticket {ticket.ticket_number} with an internal note.")
    return redirect(target)


def _create(request, run):
    target = _next_url(request, run)
    if request.POST.get("choice") == "link":
        return _add_to_open_ticket(request, run, target)
    try:
        record = tickets.create_ticket_for_run(run, user=request.user)
    except ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect(target)
    except AutotaskError as exc:
        text = operator_message(exc, "create the Autotask ticket")
        record = tickets.ticket_for_run(run)
        if record is not None and record.state == TicketState.UNKNOWN:
            text += (
                " Autotask may have the ticket anyway: the next attempt checks Autotask for it first "
                "and never creates a second one."
            )
        messages.error(request, text)
        return redirect(target)
    messages.success(request, f"Created Autotask ticket {record.ticket_number}.")
    return redirect(target)


urlpatterns = [
    path("runs/<int:pk>/ticket/", create_ticket, name="create_ticket"),
]
