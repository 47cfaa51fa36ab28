"""What the integration adds to core pages through the template slots (backupchecks/extensions.py).

One extension class per capability. Every slot renders from the database only — never an Autotask call —
and list slots bulk-load in `prepare_<slot>` so a page's SQL query count does not grow with its rows.
"""

from backupchecks.extensions import TemplateExtension, register


class MappingExtension(TemplateExtension):
    """Phase 3: the customer's company-mapping badge."""

    name = "Autotask company mapping"


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
    """Phase 5: the Resolve ticket action and the outcome of a resolution."""

    name = "Autotask ticket resolution"


class LinkingExtension(TemplateExtension):
    """Phase 6: link an existing ticket, the manual-number fallback, the run's Autotask timeline."""

    name = "Autotask ticket linking"


EXTENSIONS = (MappingExtension, TicketExtension, ResolutionExtension, LinkingExtension)


def register_all():
    for extension_class in EXTENSIONS:
        register(extension_class)
