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


class TicketPage:
    """What the ticket slots of one page need, loaded ONCE per request and shared by every slot and row.

    Queries (never an API call, never a write): the settings with the environments' web URLs (1); the
    shown runs' ticket links with their tickets and users (1, per `load` of new rows); only while the
    integration is enabled and something depends on it: the active environment (1) and its reference data
    (1), to know whether the integration is usable ("live"). Run detail adds the count of runs sharing the
    ticket (1) and the run's timeline (1).
    """

    ATTR = "_autotask_ticket_page"

    def __init__(self, request):
        from integrations.autotask.services import tickets

        self.request = request
        self.user = getattr(request, "user", None)
        self.settings, self.web_urls = tickets.page_settings()
        self.enabled = bool(self.settings is not None and self.settings.enabled)
        self.links = {}  # run id → RunTicket (with .ticket)
        self.loaded = set()
        self.customer_of = {}  # run id → customer id of every loaded run
        self._mapped_customers = None
        self._active = None
        self._env_config = None
        self._rows = None

    @classmethod
    def for_request(cls, request, runs=()):
        page = getattr(request, cls.ATTR, None) if request is not None else None
        if page is None:
            page = cls(request)
            if request is not None:
                setattr(request, cls.ATTR, page)
        page.load(runs)
        return page

    def load(self, runs):
        from integrations.autotask.models import RunTicket

        missing = [run.pk for run in runs if run.pk not in self.loaded]
        for run in runs:
            self.customer_of[run.pk] = run.job.customer_id
        if missing:
            links = RunTicket.objects.filter(run_id__in=missing).select_related(
                "ticket__created_by", "ticket__claimed_by", "ticket__resolved_by", "linked_by"
            )
            self.links.update((link.run_id, link) for link in links)
            self.loaded.update(missing)

    @property
    def active(self):
        """Enabled and usable (linking.integration_active), from at most two more queries."""
        if self._active is None:
            self._active = False
            if self.enabled:
                from integrations.autotask.models import EnvironmentConfig
                from integrations.autotask.services.configuration import (
                    configuration_problems,
                    reference_rows,
                )

                env_config = EnvironmentConfig.objects.filter(environment=self.settings.environment).first()
                if env_config is not None:  # no row: never configured (and a page never creates it)
                    self._env_config = env_config
                    self._rows = reference_rows(env_config.environment, env_config.database_id)
                    self._active = not configuration_problems(
                        self.settings, env_config=env_config, rows=self._rows
                    )
        return self._active

    def customer_is_mapped(self, run):
        """Whether the run's customer has a usable company mapping (ok/renamed) in the active tenant —
        one query for all loaded rows, asked only once a Create action could be offered (integration
        live). Without it "Create ticket" would lead to a refusal the operator cannot fix."""
        if self._mapped_customers is None:
            from integrations.autotask.models import USABLE_MAPPING_STATUSES, CompanyMapping

            env = self._env_config
            self._mapped_customers = set(
                CompanyMapping.objects.filter(
                    customer_id__in=set(self.customer_of.values()),
                    environment=env.environment,
                    database_id=env.database_id,
                    status__in=USABLE_MAPPING_STATUSES,
                ).values_list("customer_id", flat=True)
            )
        return self.customer_of.get(run.pk) in self._mapped_customers

    def has_perm(self, permission):
        return bool(self.user is not None and self.user.has_perm(permission))

    def status_label(self, ticket):
        """The cached label of the ticket's last known status ("" when unknown)."""
        from integrations.autotask.models import ReferenceKind, ReferenceValue

        if ticket.status_id is None:
            return ""
        env = self._env_config
        if (
            self._rows is not None
            and env.environment == ticket.environment
            and env.database_id == ticket.database_id
        ):
            row = self._rows.get((ReferenceKind.STATUS, ticket.status_id))
            return row.label if row else ""
        row = (
            ReferenceValue.objects.filter(
                environment=ticket.environment,
                database_id=ticket.database_id,
                kind=ReferenceKind.STATUS,
                value=ticket.status_id,
            )
            .only("label")
            .first()
        )
        return row.label if row else ""

    def context(self, run):
        """The one description of `run`'s ticket and the actions applicable to it, for every slot."""
        from integrations.autotask.models import TicketState
        from integrations.autotask.services import tickets
        from runs.models import ATTENTION_STATUSES

        self.load([run])
        link = self.links.get(run.pk)
        ticket = link.ticket if link else None
        state = None
        if ticket is not None:
            if ticket.state == TicketState.CREATED:
                state = "created"
            elif tickets.claim_is_fresh(ticket):
                state = "pending"
            else:
                state = "checking"
        may_create = self.has_perm("autotask.create_ticket") and run.status in ATTENTION_STATUSES
        may_resolve = self.has_perm("autotask.resolve_ticket") and state == "created"
        may_link = self.has_perm("autotask.link_ticket") and ticket is None
        # "live" is only worth its two queries when a ticket is shown or an action may be offered
        live = self.active if (ticket is not None or may_create or may_resolve or may_link) else False
        return {
            "run": run,
            "link": link,
            "ticket": ticket,
            "state": state,
            "live": live,
            "web_url": tickets.ticket_web_url(ticket, self.web_urls.get(getattr(ticket, "environment", ""))),
            # a new ticket (for a customer mapped to a company), or finishing an attempt whose outcome is
            # unknown (the preview explains any refusal)
            "can_create": live
            and may_create
            and (state == "checking" or (state is None and self.customer_is_mapped(run))),
            "unmapped": live and may_create and state is None and not self.customer_is_mapped(run),
            "can_resolve": live and may_resolve and not ticket.resolution_outcome,
            "can_link": live and may_link and self.settings.compatibility_mode,
            "request": self.request,
        }


class TicketExtension(TemplateExtension):
    """Phases 4–6: a run's Autotask ticket, shown ONCE per place, and its actions.

    - run_list_badges (Run Checks and Job Details rows): one badge — the ticket number linking to
      Autotask's OpenTicketDetail, a small state marker (being created / checking Autotask… / closed /
      completed / missing / not live) — and the applicable Create / Resolve buttons; where Create cannot be
      offered because the customer has no usable company mapping, a "No Autotask company" hint instead.
    - run_detail_actions: Create ticket / Resolve ticket / Link an existing ticket, as applicable.
    - run_detail_panels: one ticket panel (number and link, origin, state, last known status, sync
      problem, resolution, runs sharing it, "not live") and the run's Autotask timeline: the run's own
      audit events and every event about its current ticket (same Autotask ticket id and environment)
      wherever recorded — resolved from another run sharing it, the status sync's changes, notes and links
      of other runs — the newest TIMELINE_LIMIT, shown oldest first, one query. An event of another run says
      "from run #N" with a link to it.
    All from one shared per-request load (`TicketPage`): database only, constant queries.
    """

    name = "Autotask tickets"
    #: the most timeline entries shown on the page (the admin audit log has them all)
    TIMELINE_LIMIT = 100

    def prepare_run_list_badges(self, request, runs):
        TicketPage.for_request(request, runs)

    def prepare_run_detail_panels(self, request, runs):
        TicketPage.for_request(request, runs)

    def prepare_run_detail_actions(self, request, runs):
        TicketPage.for_request(request, runs)

    def run_list_badges(self, request, run):
        context = TicketPage.for_request(request).context(run)
        if context["ticket"] is None and not (context["can_create"] or context["unmapped"]):
            return ""
        return self.render_template("autotask/inc/run_list_ticket.html", context, request)

    def run_detail_actions(self, request, run):
        context = TicketPage.for_request(request).context(run)
        if not (
            context["can_create"] or context["can_resolve"] or context["can_link"] or context["unmapped"]
        ):
            return ""
        return self.render_template("autotask/inc/run_ticket_actions.html", context, request)

    @staticmethod
    def timeline_filter(run, ticket):
        """Which audit events make `run`'s timeline: its own, and — once its ticket exists in Autotask —
        every event about that ticket in the ticket's environment (resolved from another run sharing it,
        the status sync, storm-avoidance notes and links of other runs, reconciles). A pending/unknown
        claim has no ticket id yet: then only the run's own events. One Q for one query, served by the
        run_id index OR audit_ticket_idx (ticket_id, environment)."""
        from django.db.models import Q

        from integrations.autotask.models import TicketState

        own = Q(run_id=run.pk)
        if ticket is None or ticket.ticket_id is None or ticket.state != TicketState.CREATED:
            return own
        return own | Q(ticket_id=ticket.ticket_id, environment=ticket.environment)

    @staticmethod
    def _from_run_url(event, run):
        """The run detail URL of the run an event came from, when that is another run ("" otherwise)."""
        if event.run_id is None or event.run_id == run.pk:
            return ""
        return reverse("runs:run_detail", args=[event.run_id])

    def run_detail_panels(self, request, run):
        from integrations.autotask.audit_text import action_label
        from integrations.autotask.models import AuditEvent, RunTicket

        page = TicketPage.for_request(request)
        context = page.context(run)
        ticket = context["ticket"]
        if ticket is not None:
            context["status_label"] = page.status_label(ticket)
            context["other_runs"] = RunTicket.objects.filter(ticket=ticket).exclude(run=run).count()
            context["other_environment"] = (
                page.settings is not None and ticket.environment != page.settings.environment
            )
        # the newest TIMELINE_LIMIT (a long-shared ticket's resolution must not fall off), shown oldest first
        events = list(
            AuditEvent.objects.filter(self.timeline_filter(run, ticket))
            .select_related("user")
            .order_by("-at", "-id")[: self.TIMELINE_LIMIT + 1]
        )
        context["events"] = [
            (event, action_label(event.action), self._from_run_url(event, run))
            for event in reversed(events[: self.TIMELINE_LIMIT])
        ]
        context["more_events"] = len(events) > self.TIMELINE_LIMIT
        user = page.user
        context["audit_url"] = (
            reverse("admin:autotask_auditevent_changelist") + f"?run={run.pk}"
            if user is not None
            and user.is_staff
            and (user.has_perm("autotask.manage_autotask") or user.has_perm("autotask.view_auditevent"))
            else ""
        )
        context["ticket_audit_url"] = (
            reverse("admin:autotask_auditevent_changelist")
            + f"?ticket_id={ticket.ticket_id}&environment__exact={ticket.environment}"
            if context["audit_url"]
            and ticket is not None
            and ticket.ticket_id
            and context["state"] == "created"
            else ""
        )
        if ticket is None and not events:
            return ""
        return self.render_template("autotask/inc/run_ticket_panel.html", context, request)


class BulkActionsExtension(TemplateExtension):
    """Issue 14: Run Checks' bulk Autotask actions (create / resolve / link for the checked runs — in the
    group-by-job view the runs counted in the checked jobs' rows — or for all runs matching the filter). Shown only while the integration is active, with the buttons the user's
    permissions allow (link also needs compatibility mode). Reuses the page's TicketPage load: no query of
    its own when the page has rows."""

    name = "Autotask bulk actions"

    def run_checks_bulk_actions(self, request, page):
        from integrations.autotask.services.bulk import ACTION_PERMISSIONS, MAX_BULK_RUNS

        ticket_page = TicketPage.for_request(request)
        user = ticket_page.user
        if user is None or not user.has_perm("runs.view_run") or not ticket_page.active:
            return ""
        allowed = {action: user.has_perm(perm) for action, perm in ACTION_PERMISSIONS.items()}
        context = {
            "can_create": allowed["create"],
            "can_resolve": allowed["resolve"],
            "can_link": allowed["link"] and ticket_page.settings.compatibility_mode,
            "matching": page.paginator.count if page is not None else 0,
            # Run Checks' paginator stops counting at 10,000 ("10,000+"); a plain Paginator has no count_text
            "matching_text": getattr(page.paginator, "count_text", None) if page is not None else None,
            "max_runs": MAX_BULK_RUNS,
            # the group-by-job view posts checked jobs (`groups`); Create then defaults to one ticket per job
            "grouped": request is not None and request.GET.get("group") == "job",
            # Run Checks renders the "all N matching" box itself next to Mark reviewed; without that row
            # (no runs.review_run) the bar brings its own
            "own_select_all": not user.has_perm("runs.review_run"),
        }
        if not (context["can_create"] or context["can_resolve"] or context["can_link"]):
            return ""
        return self.render_template("autotask/inc/bulk_actions.html", context, request)


EXTENSIONS = (MappingExtension, TicketExtension, BulkActionsExtension)


def register_all():
    from integrations.autotask.services.linking import manual_ticket_entry_allowed

    for extension_class in EXTENSIONS:
        register(extension_class)
    # Phase 6: manual ticket numbers only while disabled, or enabled with compatibility mode.
    register_policy("manual_ticket_entry_allowed", manual_ticket_entry_allowed)
