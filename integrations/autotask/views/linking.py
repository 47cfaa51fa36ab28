"""Phase 6: linking an existing Autotask ticket to a run (compatibility mode).

Two POSTs (a lookup costs an API call, so it is never a GET page render):
- `link_lookup`: one lookup → a confirmation page with the ticket's title, company and status (told when
  it is Complete) and a warning when the company is not the customer's mapped company;
- `link_ticket`: links it (one more lookup, no Autotask write) and returns to the run.
Both need `runs.view_run` and `autotask.link_ticket`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from backupchecks.auth import require_perms
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import (
    AutotaskSettings,
    CompanyMapping,
    ReferenceKind,
    ReferenceValue,
    RunTicket,
)
from integrations.autotask.services import ActionRefused, linking
from runs.models import Run

LINK_PERMISSIONS = ("runs.view_run", "autotask.link_ticket")


def _run(request, pk):
    require_perms(request.user, *LINK_PERMISSIONS)
    return get_object_or_404(Run.objects.select_related("job__customer"), pk=pk)


def status_label(environment, database_id, status_id):
    """The cached label of a ticket status ("Complete"), or "status <id>". One query."""
    if status_id is None:
        return "unknown status"
    row = (
        ReferenceValue.objects.filter(
            environment=environment, database_id=database_id, kind=ReferenceKind.STATUS, value=status_id
        )
        .only("label")
        .first()
    )
    return row.label if row else f"status {status_id}"


def company_label(environment, database_id, company_id):
    """A company's name if any customer is mapped to it in this tenant (database only — no extra API call),
    else "Autotask company <id>"."""
    if company_id is None:
        return "no company"
    mapping = CompanyMapping.objects.filter(
        environment=environment, database_id=database_id, company_id=company_id
    ).first()
    return f"{mapping.company_name} ({company_id})" if mapping else f"Autotask company {company_id}"


@require_POST
@login_required
def link_lookup(request, pk):
    """Look the typed ticket up (one API call) and show it for confirmation."""
    run = _run(request, pk)
    reference = request.POST.get("reference", "")
    settings = AutotaskSettings.load()
    try:
        if not settings.compatibility_mode:
            raise ActionRefused(
                "Linking existing Autotask tickets needs compatibility mode (Autotask settings).",
                code="compatibility_off",
            )
        linking.refuse_if_linked(run)
        summary = linking.find_ticket(reference)
    except ActionRefused as exc:
        messages.error(request, f"Could not look the ticket up: {exc}")
        return redirect(run)
    except AutotaskError as exc:
        messages.error(request, operator_message(exc, "look the ticket up"))
        return redirect(run)
    env_config = settings.active_environment()
    verdict, mapping = linking.company_check(run, summary, env_config)
    context = {
        "run": run,
        "job": run.job,
        "customer": run.job.customer,
        "summary": summary,
        "status_label": status_label(env_config.environment, env_config.database_id, summary.status_id),
        "company_label": company_label(env_config.environment, env_config.database_id, summary.company_id),
        "company_ok": verdict == "ok",
        "company_verdict": verdict,
        "company_warning": linking.company_warning(verdict, summary, mapping, run, env_config),
        "environment": env_config.get_environment_display(),
        "already_linked_runs": linking_count(env_config, summary.id),
    }
    return render(request, "autotask/link_confirm.html", context)


def linking_count(env_config, ticket_id):
    """How many runs already point at this ticket (one query)."""
    return RunTicket.objects.filter(
        ticket__environment=env_config.environment,
        ticket__database_id=env_config.database_id,
        ticket__ticket_id=ticket_id,
    ).count()


@require_POST
@login_required
def link_ticket(request, pk):
    """Link the confirmed ticket (posted as its id) to the run."""
    run = _run(request, pk)
    try:
        ticket = linking.link_ticket_to_run(
            run,
            request.POST.get("ticket_id", ""),
            user=request.user,
            allow_company_mismatch=request.POST.get("allow_company_mismatch") == "1",
        )
    except ActionRefused as exc:
        messages.error(request, f"Nothing was linked: {exc}")
        return redirect(run)
    except AutotaskError as exc:
        messages.error(request, operator_message(exc, "link the ticket"))
        return redirect(run)
    text = f"Linked Autotask ticket {ticket.ticket_number} to this run."
    if ticket.is_complete:
        text += " It is Complete in Autotask."
    messages.success(request, text)
    return redirect(run)


urlpatterns = [
    path("runs/<int:pk>/link/lookup/", link_lookup, name="link_lookup"),
    path("runs/<int:pk>/link/", link_ticket, name="link_ticket"),
]
