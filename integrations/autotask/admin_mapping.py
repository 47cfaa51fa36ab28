"""Admin: the Autotask company mapping on the customer pages (phase 3).

`customers` never imports the integration, so the integration re-registers the Customer admin with a
subclass of `customers.admin.CustomerAdmin` that adds: a mapping-status column and filter on the list, a
mapping panel on the change page (search as you type, map, unmap, acknowledge a rename, check now), and
the actions "Check Autotask mappings", "Acknowledge Autotask renames" and "Suggest Autotask companies".

Every page here renders from the database only; Autotask is called only by the explicit buttons, the
search box and the actions — never inside the admin's change-form transaction (the buttons post to the
integration's own views under /autotask/, see views/mapping.py).
"""

from django.contrib import admin, messages
from django.db.models import Case, Exists, F, FilteredRelation, OuterRef, Q, Value, When
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from customers.admin import CustomerAdmin
from customers.models import Customer
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import (
    AutotaskSettings,
    CompanyMapping,
    Environment,
    EnvironmentConfig,
    MappingStatus,
)
from integrations.autotask.services import ActionRefused
from integrations.autotask.services import mapping as mapping_service

MAP_PERMISSION = "autotask.map_company"
UNMAPPED = "unmapped"

#: Bootstrap-free colours the admin's own CSS understands (the admin has no Bootstrap)
STATUS_STYLE = {
    MappingStatus.OK: "ok",
    MappingStatus.RENAMED: "warn",
    MappingStatus.INACTIVE: "bad",
    MappingStatus.MISSING: "bad",
    MappingStatus.INVALID: "bad",
    UNMAPPED: "none",
}


def active_tenant():
    """(environment, database id or None) of the active Autotask environment. Two queries, no writes."""
    tenant = mapping_service.active_tenant()
    return tenant.environment, tenant.database_id


def can_map(user):
    return bool(user.is_active and user.is_staff and user.has_perm(MAP_PERMISSION))


def status_badge(status, company_name="", previous_name=""):
    """The mapping badge for the admin (escaped; `status` None = unmapped)."""
    if status is None:
        return mark_safe('<span class="autotask-mapping autotask-mapping-none">Unmapped</span>')
    status = MappingStatus(status)
    title = f"previously “{previous_name}”" if previous_name else ""
    return format_html(
        '<span class="autotask-mapping autotask-mapping-{}" title="{}">{}</span>{}',
        STATUS_STYLE[status],
        title,
        status.label,
        format_html(" {}", company_name) if company_name else "",
    )


class MappingStatusFilter(admin.SimpleListFilter):
    """Filter customers by their mapping in the active environment (unmapped included)."""

    title = "Autotask mapping"
    parameter_name = "autotask_mapping"

    def lookups(self, request, model_admin):
        return [(status.value, status.label) for status in MappingStatus] + [(UNMAPPED, "Unmapped")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        environment, database_id = active_tenant()
        mappings = CompanyMapping.objects.filter(customer=OuterRef("pk"), environment=environment)
        if value == UNMAPPED:
            return queryset.filter(~Exists(mappings))
        if value == MappingStatus.INVALID:
            stale = Q(status=MappingStatus.INVALID)
            if database_id is not None:
                stale |= ~Q(database_id=database_id)
            return queryset.filter(Exists(mappings.filter(stale)))
        if value in MappingStatus.values:
            if database_id is not None:
                mappings = mappings.filter(database_id=database_id)
            return queryset.filter(Exists(mappings.filter(status=value)))
        return queryset


class MappedCustomerAdmin(CustomerAdmin):
    change_form_template = "admin/autotask/customer/change_form.html"

    class Media:
        css = {"all": ["autotask/mapping.css"]}

    list_display = [*CustomerAdmin.list_display, "autotask_mapping"]
    list_filter = [*CustomerAdmin.list_filter, MappingStatusFilter]
    actions = [
        *(CustomerAdmin.actions or []),
        "check_autotask_mappings",
        "acknowledge_autotask_renames",
        "suggest_autotask_companies",
    ]

    # -- list ------------------------------------------------------------------------------------------

    def get_queryset(self, request):
        # One LEFT JOIN on the active environment's mapping (at most one per customer): the column costs
        # no query per row.
        environment, database_id = active_tenant()
        stale = (
            Case(When(active_mapping__database_id=database_id, then=Value(False)), default=Value(True))
            if database_id is not None
            else Value(False)
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_mapping=FilteredRelation(
                    "autotask_mappings", condition=Q(autotask_mappings__environment=environment)
                ),
                autotask_status=F("active_mapping__status"),
                autotask_company=F("active_mapping__company_name"),
                autotask_previous_name=F("active_mapping__previous_name"),
                autotask_stale=stale,
            )
        )

    @admin.display(description="Autotask mapping", ordering="autotask_status")
    def autotask_mapping(self, customer):
        status = getattr(customer, "autotask_status", None)
        if status is None:
            return status_badge(None)
        if customer.autotask_stale:  # stored for another database id than the active tenant's
            status = MappingStatus.INVALID
        return status_badge(status, customer.autotask_company, customer.autotask_previous_name)

    # -- change page -----------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        customer = self.get_object(request, object_id)
        if customer is not None:
            extra_context["autotask"] = mapping_panel_context(request, customer)
        return super().change_view(request, object_id, form_url, extra_context)

    # -- actions ---------------------------------------------------------------------------------------

    def has_map_company_permission(self, request):
        return can_map(request.user)

    @admin.action(
        description="Check Autotask mappings of the selected customers", permissions=["map_company"]
    )
    def check_autotask_mappings(self, request, queryset):
        try:
            result = mapping_service.check_mappings(queryset, user=request.user)
        except ActionRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        except AutotaskError as exc:
            self.message_user(request, operator_message(exc, "check the mappings"), messages.ERROR)
            return None
        level = messages.SUCCESS if result.counts["ok"] == result.checked else messages.WARNING
        self.message_user(
            request,
            f"Checked {result.checked} Autotask mapping{pluralize(result.checked)} in {result.api_calls} "
            f"Autotask call{pluralize(result.api_calls)}: {result.summary_line()}.",
            level,
        )
        return None

    @admin.action(
        description="Acknowledge Autotask renames of the selected customers", permissions=["map_company"]
    )
    def acknowledge_autotask_renames(self, request, queryset):
        acknowledged = 0
        for customer in queryset:
            mapping = mapping_service.mapping_for(customer)
            if mapping is not None and mapping.previous_name:
                mapping_service.acknowledge_rename(customer, user=request.user)
                acknowledged += 1
        self.message_user(request, f"Acknowledged {acknowledged} Autotask rename(s).", messages.SUCCESS)
        return None

    @admin.action(
        description="Suggest Autotask companies for the selected unmapped customers",
        permissions=["map_company"],
    )
    def suggest_autotask_companies(self, request, queryset):
        try:
            suggestions = mapping_service.suggest_companies(list(queryset.order_by("name")))
        except ActionRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        except AutotaskError as exc:
            self.message_user(request, operator_message(exc, "look up suggestions"), messages.ERROR)
            return None
        if not suggestions:
            self.message_user(request, "Every selected customer is already mapped.", messages.INFO)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Autotask company suggestions",
            "opts": self.model._meta,
            "rows": list(suggestions.items()),
            "skipped": queryset.count() - len(suggestions),
        }
        return TemplateResponse(request, "admin/autotask/customer/suggestions.html", context)


def mapping_panel_context(request, customer):
    """What the customer's change page shows about its mappings. Database only (a few queries)."""
    # Read only (a GET page): the settings rows are not created here.
    settings = AutotaskSettings.objects.filter(pk=1).first() or AutotaskSettings()
    env_config = EnvironmentConfig.objects.filter(
        environment=settings.environment
    ).first() or EnvironmentConfig(environment=settings.environment)
    mappings = {
        m.environment: m for m in CompanyMapping.objects.filter(customer=customer).select_related("mapped_by")
    }
    active = mappings.get(settings.environment)
    others = [
        (Environment(env).label, m) for env, m in sorted(mappings.items()) if env != settings.environment
    ]
    return {
        "customer": customer,
        "environment": env_config.get_environment_display(),
        "database_id": env_config.database_id,
        "mapping": active,
        "status": mapping_service.effective_status(active, env_config.database_id),
        "other_mappings": others,
        "problems": mapping_service.mapping_problems(settings, env_config),
        "can_map": can_map(request.user),
        # the mapping's buttons disappear while the integration is disabled (phase 6); it stays visible
        "enabled": settings.enabled,
        "min_chars": mapping_service.SEARCH_MIN_CHARS,
    }


admin.site.unregister(Customer)
admin.site.register(Customer, MappedCustomerAdmin)
