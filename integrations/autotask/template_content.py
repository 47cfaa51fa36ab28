"""What the integration adds to core pages through the template slots (backupchecks/extensions.py).

One extension class per capability. Every slot renders from the database only — never an Autotask call —
and list slots bulk-load in `prepare_<slot>` so a page's SQL query count does not grow with its rows.
"""

from django.urls import reverse

from backupchecks.extensions import TemplateExtension, register, register_policy


class MappingExtension(TemplateExtension):
    """Phase 3: the customer's company-mapping badge."""

    name = "Autotask company mapping"


class TicketExtension(TemplateExtension):
    """Phase 4: a run's ticket (number, link, state) and the Create Autotask ticket action."""

    name = "Autotask tickets"


class ResolutionExtension(TemplateExtension):
    """Phase 5: the Resolve ticket action and the outcome of a resolution."""

    name = "Autotask ticket resolution"


class LinkingExtension(TemplateExtension):
    """Phase 6: link an existing ticket, the manual-number fallback, the run's Autotask timeline.

    - run_detail_actions: "Link an existing Autotask ticket" (integration active, compatibility mode on,
      `autotask.link_ticket`, the run has no ticket yet);
    - run_detail_panels: the run's linked ticket (and, while the integration is not active, any ticket of
      the run, marked "not live": last known values only), then the timeline of every AuditEvent about the
      run. Constant queries; never an API call.
    """

    name = "Autotask ticket linking"
    #: the most timeline entries shown on the page (the admin audit log has them all)
    TIMELINE_LIMIT = 100

    def _state(self, request):
        """(settings, active) once per request (both slots need it)."""
        cached = getattr(request, "_autotask_linking_state", None)
        if cached is None:
            from integrations.autotask.models import AutotaskSettings
            from integrations.autotask.services.linking import integration_active

            settings = AutotaskSettings.load()
            cached = (settings, integration_active(settings))
            if request is not None:
                request._autotask_linking_state = cached
        return cached

    def run_detail_actions(self, request, run):
        from integrations.autotask.models import RunTicket

        if not request.user.has_perm("autotask.link_ticket"):
            return ""
        settings, active = self._state(request)
        if not (active and settings.compatibility_mode):
            return ""
        if RunTicket.objects.filter(run=run).exists():
            return ""
        return self.render_template("autotask/inc/link_form.html", {"run": run}, request)

    def run_detail_panels(self, request, run):
        from integrations.autotask.audit import action_label
        from integrations.autotask.models import AuditEvent, RunTicket, TicketOrigin
        from integrations.autotask.views.linking import status_label

        settings, active = self._state(request)
        link = RunTicket.objects.filter(run=run).select_related("ticket", "linked_by").first()
        ticket = link.ticket if link else None
        show_ticket = ticket is not None and (ticket.origin == TicketOrigin.LINKED or not active)
        context = {"run": run, "live": active, "ticket": None}
        if show_ticket:
            context.update(
                ticket=ticket,
                link=link,
                status_label=status_label(ticket.environment, ticket.database_id, ticket.status_id)
                if ticket.status_id is not None
                else "",
                other_runs=RunTicket.objects.filter(ticket=ticket).exclude(run=run).count(),
                other_environment=ticket.environment != settings.environment,
            )
        events = list(
            AuditEvent.objects.filter(run=run)
            .select_related("user")
            .order_by("at", "id")[: self.TIMELINE_LIMIT + 1]
        )
        context["events"] = [(event, action_label(event.action)) for event in events[: self.TIMELINE_LIMIT]]
        context["more_events"] = len(events) > self.TIMELINE_LIMIT
        context["audit_url"] = (
            reverse("admin:autotask_auditevent_changelist") + f"?run={run.pk}"
            if request.user.is_staff
            and (
                request.user.has_perm("autotask.manage_autotask")
                or request.user.has_perm("autotask.view_auditevent")
            )
            else ""
        )
        if not show_ticket and not events:
            return ""
        return self.render_template("autotask/inc/run_panel.html", context, request)


EXTENSIONS = (MappingExtension, TicketExtension, ResolutionExtension, LinkingExtension)


def register_all():
    from integrations.autotask.services.linking import manual_ticket_entry_allowed

    for extension_class in EXTENSIONS:
        register(extension_class)
    # Phase 6: manual ticket numbers only while disabled, or enabled with compatibility mode.
    register_policy("manual_ticket_entry_allowed", manual_ticket_entry_allowed)
