"""Admin: "Autotask tickets" — a read-only list of the ticket records, and two actions.

The list shows what Backupchecks knows about each ticket (number linking to Autotask's OpenTicketDetail,
state, origin, environment, last known status, completeness, sync problem, resolution, how many runs it
covers). It renders from the database only: a constant number of queries (annotations, no query per row)
and zero Autotask calls. Nobody can add, change or delete a record here (phases 4–6 write them).

Actions (Autotask is called only by these, never while rendering, and never inside a transaction — the
changelist's action POST is not wrapped in one, unlike the change form):

- "Resolve selected tickets in Autotask" (`autotask.resolve_ticket`): `resolve_ticket_for_run` for one run
  of each selected ticket (a shared ticket is resolved once). One message summarises the outcomes.
- "Sync the status of all open tickets now" (`autotask.resolve_ticket`): `sync_ticket_statuses`.

While the integration is disabled both refuse with zero Autotask requests (the services refuse).
"""

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from backupchecks.admin_hardening import ProjectAdminMixin
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import (
    AutotaskTicket,
    EnvironmentConfig,
    ReferenceKind,
    ReferenceValue,
    ResolutionOutcome,
    RunTicket,
)
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.resolution import resolve_ticket_for_run, sync_ticket_statuses
from integrations.autotask.services.tickets import ticket_web_url
from runs.models import Run

RESOLVE_PERMISSION = "autotask.resolve_ticket"
VIEW_PERMISSION = "autotask.view_autotaskticket"
MANAGE_PERMISSION = "autotask.manage_autotask"


def _plural(count, one, many):
    return f"{count} {one if count == 1 else many}"


@admin.register(AutotaskTicket)
class AutotaskTicketAdmin(ProjectAdminMixin, admin.ModelAdmin):
    """Read-only ticket records (staff with `autotask.view_autotaskticket` and `autotask.manage_autotask`:
    the Admin role) and two actions."""

    list_display = (
        "ticket",
        "title",
        "state",
        "origin",
        "environment",
        "last_known_status",
        "is_complete",
        "sync_problem",
        "resolution_outcome",
        "runs_covered",
        "created_by",
        "created_at",
    )
    list_display_links = ("title",)
    # A date filter, not date_hierarchy: the hierarchy reads every ticket's date on each page view.
    list_filter = (
        "state",
        "origin",
        "environment",
        "is_complete",
        "resolution_outcome",
        "sync_problem",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("ticket_number",)
    list_select_related = ("created_by",)
    show_full_result_count = False  # one COUNT per page view, not two
    actions = ["resolve_in_autotask", "sync_statuses_now"]

    class Media:
        css = {"all": ["backupchecks/admin.css"]}

    # -- read-only; for the integration's admins only -----------------------------------------------------

    def has_view_permission(self, request, obj=None):
        # The Operator role has view_autotaskticket for the run pages; a staff Operator still does not see
        # the admin's "Extensions & Integrations" section — that needs the Admin role's manage_autotask.
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and user.has_perm(VIEW_PERMISSION)
            and user.has_perm(MANAGE_PERMISSION)
        )

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resolve_ticket_permission(self, request):
        user = request.user
        return self.has_view_permission(request) and user.has_perm(RESOLVE_PERMISSION)

    # -- list (database only, constant queries) ----------------------------------------------------------

    def get_queryset(self, request):
        status_label = ReferenceValue.objects.filter(
            environment=OuterRef("environment"),
            database_id=OuterRef("database_id"),
            kind=ReferenceKind.STATUS,
            value=OuterRef("status_id"),
        ).values("label")[:1]
        web_url = EnvironmentConfig.objects.filter(environment=OuterRef("environment")).values("web_url")[:1]
        run_count = (
            RunTicket.objects.filter(ticket=OuterRef("pk"))
            .order_by()
            .values("ticket")
            .annotate(n=Count("pk"))
        ).values("n")
        return (
            super()
            .get_queryset(request)
            .annotate(
                # a correlated subquery, not Count("run_links"): no GROUP BY over every ticket before the
                # page's rows are picked, and the COUNT of the list stays a plain count
                run_count=Coalesce(Subquery(run_count, output_field=IntegerField()), 0),
                status_label=Subquery(status_label),
                web_url=Subquery(web_url),
            )
        )

    @admin.display(description="ticket number", ordering="ticket_number")
    def ticket(self, obj):
        url = ticket_web_url(obj, getattr(obj, "web_url", "") or "")
        text = obj.ticket_number or "—"
        if url:
            return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, text)
        return text

    @admin.display(description="last known status", ordering="status_id")
    def last_known_status(self, obj):
        if obj.status_id is None:
            return "—"
        label = getattr(obj, "status_label", None)
        return label or f"status {obj.status_id}"

    @admin.display(description="runs covered", ordering="run_count")
    def runs_covered(self, obj):
        return obj.run_count

    # -- actions (Autotask calls; outside any transaction) -----------------------------------------------

    @admin.action(description="Resolve selected tickets in Autotask", permissions=["resolve_ticket"])
    def resolve_in_autotask(self, request, queryset):
        """One `resolve_ticket_for_run` per selected ticket, with the ticket's first run."""
        tickets = list(queryset.order_by("pk").annotate(first_run_id=Min("run_links__run_id")))
        runs = Run.objects.select_related("job").in_bulk([t.first_run_id for t in tickets if t.first_run_id])
        done = {outcome: [] for outcome in ResolutionOutcome.values}
        repeated, refused, failed = [], [], []
        for ticket in tickets:
            name = ticket.ticket_number or str(ticket)
            run = runs.get(ticket.first_run_id)
            if run is None:
                refused.append(f"{name} (it covers no run)")
                continue
            try:
                result = resolve_ticket_for_run(run, user=request.user)
            except ActionRefused as exc:
                refused.append(f"{name} ({exc})")
            except AutotaskError as exc:
                failed.append(f"{name} ({operator_message(exc)})")
            else:
                (repeated if result.repeated else done[result.outcome]).append(name)
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("Closed", done[ResolutionOutcome.CLOSED]),
                ("Note only, left open (time logged)", done[ResolutionOutcome.NOTE_ONLY]),
                ("Already complete in Autotask", done[ResolutionOutcome.ALREADY_COMPLETE]),
                ("Resolved before (nothing sent)", repeated),
                ("Refused", refused),
                ("Failed", failed),
            )
            if names
        ]
        succeeded = len(tickets) - len(refused) - len(failed)
        level = messages.SUCCESS
        if refused or failed:
            level = messages.WARNING if succeeded else messages.ERROR
        summary = f"Resolved {succeeded} of {_plural(len(tickets), 'ticket', 'tickets')}. "
        self.message_user(request, summary + " · ".join(parts), level)
        return None

    @admin.action(description="Sync the status of all open tickets now", permissions=["resolve_ticket"])
    def sync_statuses_now(self, request, queryset):
        """`sync_ticket_statuses` for every open ticket of the active tenant (not only the selected)."""
        try:
            result = sync_ticket_statuses(user=request.user)
        except ActionRefused as exc:
            self.message_user(request, f"Status sync refused: {exc}", messages.ERROR)
        except AutotaskError as exc:
            self.message_user(request, operator_message(exc, "sync the ticket statuses"), messages.ERROR)
        else:
            self.message_user(request, result.summary, messages.SUCCESS)
        return None
