"""Phase 5: resolving tickets — the confirmation page and the action behind it.

GET renders from the database only (zero Autotask calls): the run, its ticket's last known status and the
outcome that will happen when stored data already tells it. POST calls `resolve_ticket_for_run` and tells
the operator what happened through a message; the run page then shows the stored outcome.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from backupchecks.auth import require_perms
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import AutotaskSettings, ReferenceKind, ReferenceValue, TicketState
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.configuration import configuration_problems
from integrations.autotask.services.resolution import (
    MAX_REMARK_LENGTH,
    predicted_outcome,
    resolve_ticket_for_run,
    ticket_for_run_link,
)
from runs.models import Run

RESOLVE_PERMISSION = "autotask.resolve_ticket"


class ResolveTicketForm(forms.Form):
    remark = forms.CharField(
        label="Remark (optional)",
        required=False,
        max_length=MAX_REMARK_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added to the internal note, e.g. what fixed the backup.",
    )


def _safe_next(request, default):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_http_methods(["GET", "POST"])
@login_required
def resolve_ticket(request, pk):
    require_perms(request.user, "runs.view_run", RESOLVE_PERMISSION)
    run = get_object_or_404(Run.objects.select_related("job__customer"), pk=pk)
    form = ResolveTicketForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            _resolve(request, run, form.cleaned_data["remark"])
            return redirect(_safe_next(request, run.get_absolute_url()))
        return _render_confirm(request, run, form, status=400)
    return _render_confirm(request, run, form)


def _resolve(request, run, remark):
    try:
        result = resolve_ticket_for_run(run, user=request.user, remark=remark)
    except ActionRefused as exc:
        messages.error(request, f"Could not resolve the ticket: {exc}")
    except AutotaskError as exc:
        messages.error(request, operator_message(exc, "resolve the ticket"))
    else:
        (messages.info if result.repeated else messages.success)(request, result.message)


def _render_confirm(request, run, form, status=200):
    ticket = ticket_for_run_link(run)
    has_ticket = ticket is not None and ticket.state == TicketState.CREATED and ticket.ticket_id is not None
    settings = AutotaskSettings.load()
    problems = configuration_problems(settings)
    prediction = predicted_outcome(ticket) if has_ticket else (None, "")
    status_label = ""
    if has_ticket and ticket.status_id is not None:
        row = ReferenceValue.objects.filter(
            environment=ticket.environment,
            database_id=ticket.database_id,
            kind=ReferenceKind.STATUS,
            value=ticket.status_id,
        ).first()
        status_label = row.label if row else f"status {ticket.status_id}"
    context = {
        "run": run,
        "job": run.job,
        "customer": run.job.customer,
        "ticket": ticket if has_ticket else None,
        "status_label": status_label,
        "problems": problems,
        "prediction_code": prediction[0],
        "prediction": prediction[1],
        "form": form,
        "next": _safe_next(request, run.get_absolute_url()),
        "can_submit": has_ticket and not problems and prediction[0] != "resolved",
    }
    return render(request, "autotask/resolve_confirm.html", context, status=status)


urlpatterns = [
    path("runs/<int:pk>/resolve/", resolve_ticket, name="resolve_ticket"),
]
