"""What the integration adds to core pages through the template slots (backupchecks/extensions.py).

One extension class per capability. Every slot renders from the database only — never an Autotask call —
and list slots bulk-load in `prepare_<slot>` so a page's SQL query count does not grow with its rows.
"""

from django.urls import reverse

from backupchecks.extensions import TemplateExtension, register


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
    """Phase 4: a run's ticket (number, link, state) and the Create Autotask ticket action."""

    name = "Autotask tickets"


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
