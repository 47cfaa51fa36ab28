"""What the integration adds to core pages through the template slots (backupchecks/extensions.py).

One extension class per capability. Every slot renders from the database only — never an Autotask call —
and list slots bulk-load in `prepare_<slot>` so a page's SQL query count does not grow with its rows.
"""

from django.urls import reverse

from backupchecks.extensions import TemplateExtension, register, register_policy


class MappingExtension(TemplateExtension):
    """Phase 3: the customer's company-mapping badge (read-only) on the customer list and detail pages.

    Shown only while the integration is enabled. `prepare_customer_list_badges` loads the settings and the
    page's mappings in three queries; each row then renders from what it loaded.
    """

    name = "Autotask company mapping"
    _REQUEST_CACHE = "_autotask_mapping_badges"

    def _load(self, request, customers):
        """Settings + the mappings of `customers` in the active environment (3 queries), kept on the request."""
        from integrations.autotask.models import CompanyMapping
        from integrations.autotask.services.mapping import active_tenant

        tenant = active_tenant()  # never writes: these are GET pages
        loaded = {"enabled": tenant.enabled, "customer_ids": {c.pk for c in customers}, "mappings": {}}
        if tenant.enabled:
            loaded["database_id"] = tenant.database_id
            loaded["environment"] = tenant.environment_label
            loaded["mappings"] = {
                m.customer_id: m
                for m in CompanyMapping.objects.filter(
                    environment=tenant.environment, customer__in=loaded["customer_ids"]
                )
            }
        if request is not None:
            setattr(request, self._REQUEST_CACHE, loaded)
        return loaded

    def _badge(self, request, customer, template):
        from integrations.autotask.services.mapping import effective_status

        loaded = getattr(request, self._REQUEST_CACHE, None)
        if loaded is None or customer.pk not in loaded["customer_ids"]:
            loaded = self._load(request, [customer])  # not prepared for this customer: load it alone
        if not loaded["enabled"]:
            return ""
        mapping = loaded["mappings"].get(customer.pk)
        status = effective_status(mapping, loaded["database_id"])
        user = getattr(request, "user", None)
        can_map = bool(user and user.is_staff and user.has_perm("autotask.map_company"))
        return self.render_template(
            template,
            {
                "customer": customer,
                "mapping": mapping,
                "status": status,
                "status_label": status.label if status else "",
                "environment": loaded["environment"],
                "change_url": reverse("admin:customers_customer_change", args=[customer.pk])
                if can_map
                else "",
            },
            request,
        )

    def prepare_customer_list_badges(self, request, customers):
        self._load(request, customers)

    def customer_list_badges(self, request, customer):
        return self._badge(request, customer, "autotask/inc/mapping_badge.html")

    def prepare_customer_detail_panels(self, request, customers):
        self._load(request, customers)

    def customer_detail_panels(self, request, customer):
        return self._badge(request, customer, "autotask/inc/mapping_panel.html")


class TicketExtension(TemplateExtension):
    """Phase 4: a run's ticket (number, link, state) and the Create Autotask ticket action.

    Database only. Each page loads, once: the settings, the environments' web URLs and the tickets of the
    rows shown (`prepare_*`), so its query count does not depend on the number of rows.
    """

    name = "Autotask tickets"

    # -- bulk loading -------------------------------------------------------------------------------

    def _page(self, request, runs=None):
        """Per-request cache: {"enabled", "web_urls", "tickets": {run id: ticket}}."""
        from integrations.autotask.services import tickets

        page = getattr(request, "_autotask_ticket_page", None)
        if page is None:
            enabled, web_urls = tickets.page_state()
            page = {
                "enabled": enabled,
                "web_urls": web_urls,
                "tickets": {},
                "loaded": set(),
            }
            if request is not None:
                request._autotask_ticket_page = page
        if runs is not None:
            missing = [run.pk for run in runs if run.pk not in page["loaded"]]
            if missing:
                page["tickets"].update(tickets.tickets_for_runs(missing))
                page["loaded"].update(missing)
        return page

    def _context(self, request, run):
        from integrations.autotask.services import tickets
        from runs.models import ATTENTION_STATUSES

        page = self._page(request, [run])
        ticket = page["tickets"].get(run.pk)
        user = getattr(request, "user", None)
        can_create = bool(
            page["enabled"]
            and user is not None
            and user.has_perm("autotask.create_ticket")
            and run.status in ATTENTION_STATUSES
        )
        state = None
        if ticket is not None:
            if ticket.state == "created":
                state = "created"
            elif tickets.claim_is_fresh(ticket):
                state = "pending"
            else:
                state = "checking"
        return {
            "run": run,
            "ticket": ticket,
            "state": state,
            "web_url": tickets.ticket_web_url(
                ticket, page["web_urls"].get(getattr(ticket, "environment", ""))
            ),
            # a new ticket, or finishing an attempt whose outcome is unknown
            "can_create": can_create and state in (None, "checking"),
            "request": request,
        }

    def prepare_run_list_badges(self, request, runs):
        self._page(request, runs)

    def prepare_run_detail_panels(self, request, runs):
        self._page(request, runs)

    def prepare_run_detail_actions(self, request, runs):
        self._page(request, runs)

    # -- slots --------------------------------------------------------------------------------------

    def run_list_badges(self, request, run):
        context = self._context(request, run)
        if context["ticket"] is None and not context["can_create"]:
            return ""
        return self.render_template("autotask/inc/run_list_ticket.html", context, request)

    def run_detail_actions(self, request, run):
        context = self._context(request, run)
        if not context["can_create"]:
            return ""
        return self.render_template("autotask/inc/run_detail_ticket_action.html", context, request)

    def run_detail_panels(self, request, run):
        context = self._context(request, run)
        if context["ticket"] is None:
            return ""
        return self.render_template("autotask/inc/run_detail_ticket_panel.html", context, request)


class ResolutionExtension(TemplateExtension):
    """Phase 5: the Resolve ticket action and the outcome of a resolution.

    Renders stored data only: the outcome on the shared ticket record (so every run of a shared ticket
    shows it), the last known Autotask status from the status sync, and an unfinished attempt's progress.
    `prepare_*` bulk-loads the runs' tickets in one query per page (kept on the request).
    """

    name = "Autotask ticket resolution"

    def _data(self, request, runs):
        from integrations.autotask.models import RunTicket, TicketState
        from integrations.autotask.services.configuration import configuration_problems

        holder = request if request is not None else type("Holder", (), {})()
        data = getattr(holder, "_autotask_resolution", None)
        if data is None:
            data = {"tickets": {}, "loaded": set(), "shared": {}}
            holder._autotask_resolution = data
        missing = [run.pk for run in runs if run.pk not in data["loaded"]]
        if missing:
            links = RunTicket.objects.filter(
                run_id__in=missing, ticket__state=TicketState.CREATED, ticket__ticket_id__isnull=False
            ).select_related("ticket__resolved_by")
            for link in links:
                data["tickets"][link.run_id] = link.ticket
            data["loaded"].update(missing)
        if "can_resolve" not in data:
            user = getattr(request, "user", None)
            data["can_resolve"] = bool(user and user.has_perm("autotask.resolve_ticket"))
        if "usable" not in data and data["can_resolve"] and data["tickets"]:
            data["usable"] = not configuration_problems()
        return data

    def _context(self, request, run):
        data = self._data(request, [run])
        ticket = data["tickets"].get(run.pk)
        if ticket is None:
            return None
        can_act = data["can_resolve"] and data.get("usable", False) and not ticket.resolution_outcome
        return {"run": run, "ticket": ticket, "can_resolve": can_act, "request": request}

    def prepare_run_list_badges(self, request, runs):
        self._data(request, runs)

    def prepare_run_detail_actions(self, request, runs):
        self._data(request, runs)

    def prepare_run_detail_panels(self, request, runs):
        from django.db.models import Count

        from integrations.autotask.models import RunTicket

        data = self._data(request, runs)
        ticket_ids = {t.pk for t in data["tickets"].values()}
        if ticket_ids:
            counts = (
                RunTicket.objects.filter(ticket_id__in=ticket_ids)
                .values("ticket_id")
                .annotate(n=Count("id"))
                .values_list("ticket_id", "n")
            )
            data["shared"].update(dict(counts))
        statuses = {t.status_id for t in data["tickets"].values() if t.status_id is not None}
        if statuses:
            from integrations.autotask.models import ReferenceKind, ReferenceValue

            rows = ReferenceValue.objects.filter(kind=ReferenceKind.STATUS, value__in=statuses)
            data["status_labels"] = {(r.environment, r.database_id, r.value): r.label for r in rows}

    def run_list_badges(self, request, run):
        context = self._context(request, run)
        if context is None:
            return ""
        return self.render_template("autotask/inc/resolution_badge.html", context, request)

    def run_detail_actions(self, request, run):
        context = self._context(request, run)
        if context is None or not context["can_resolve"]:
            return ""
        return self.render_template("autotask/inc/resolution_action.html", context, request)

    def run_detail_panels(self, request, run):
        context = self._context(request, run)
        if context is None:
            return ""
        data = self._data(request, [run])
        ticket = context["ticket"]
        context["runs_on_ticket"] = data["shared"].get(ticket.pk, 1)
        context["status_label"] = data.get("status_labels", {}).get(
            (ticket.environment, ticket.database_id, ticket.status_id), ""
        )
        return self.render_template("autotask/inc/resolution_panel.html", context, request)


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
