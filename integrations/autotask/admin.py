"""Admin: "Extensions & Integrations → Autotask" (one settings page) and a read-only audit log.

The settings page is `admin:autotask_autotasksettings_change` for pk 1; its changelist only redirects
there, and nothing can be added or deleted. Viewing or changing it needs a staff account with
`autotask.manage_autotask` (Admin role); non-staff users are sent to the admin login, staff without the
permission get 403.

The Test connection / Refresh reference data buttons post the settings form to their own URLs. They use
the credentials typed on the page (an empty secret / Tracking Identifier field means the stored one) for
the stored environment; when the test succeeds those credentials are stored (they are proven to work),
when it fails nothing but the failed test result is stored. Other unsaved edits on the page are
discarded — the page reloads.
"""

import logging

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from backupchecks.admin_hardening import ProjectAdminMixin
from backupchecks.auth import PermissionRequired
from customers.models import Customer
from integrations.autotask import audit_text
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.forms import SETTINGS_FIELDS, AutotaskSettingsForm, CredentialsForm
from integrations.autotask.messages import operator_message
from integrations.autotask.models import AuditEvent, AutotaskSettings
from integrations.autotask.services import configuration, connection, reference

logger = logging.getLogger(__name__)

MANAGE_PERMISSION = "autotask.manage_autotask"

# A warning on the admin index when the enabled integration is unusable. Only set when nobody else has
# customised the index template (removing the app restores Django's own index).
if admin.site.index_template is None:
    admin.site.index_template = "admin/autotask/index.html"


#: posted fields an error report (Django's technical 500 page, the admins' error mail) must not show
sensitive_credentials = method_decorator(sensitive_post_parameters("secret", "integration_code"))

#: the ticket-default dropdowns in page order
DEFAULT_FIELD_ORDER = [
    "queue_id",
    "source_id",
    "new_ticket_status_id",
    "ticket_type_id",
    "warning_priority_id",
    "error_priority_id",
    "missed_priority_id",
    "note_type_id",
    "note_publish_id",
    "resolved_status_id",
]


#: the page's fields kept across Test connection / Refresh (never the secret or the Tracking Identifier;
#: not the environment either: the credentials on the page belong to the stored one)
DRAFT_FIELDS = (
    "enabled",
    "base_url",
    "compatibility_mode",
    "username",
    "impersonation_resource_id",
    *DEFAULT_FIELD_ORDER,
)
BOOLEAN_DRAFT_FIELDS = ("enabled", "compatibility_mode")
DRAFT_SESSION_KEY = "autotask_settings_draft"


def settings_url():
    return reverse("admin:autotask_autotasksettings_change", args=[1])


@admin.register(AutotaskSettings)
class AutotaskSettingsAdmin(admin.ModelAdmin):
    form = AutotaskSettingsForm
    change_form_template = "admin/autotask/autotasksettings/change_form.html"
    save_on_top = False

    class Media:
        css = {"all": ["backupchecks/admin.css"]}

    # -- permissions: one permission guards the whole page ---------------------------------------------

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and request.user.has_perm(MANAGE_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # -- a singleton: never a list ---------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        if not self.has_change_permission(request):
            raise PermissionRequired(MANAGE_PERMISSION)  # the 403 page names the role that has it
        AutotaskSettings.load()
        return HttpResponseRedirect(settings_url())

    def get_object(self, request, object_id, from_field=None):
        if str(object_id) != "1":
            return None
        return AutotaskSettings.load()

    def response_change(self, request, obj):
        result = getattr(request, "_autotask_connection_result", None)
        tested = (
            f" Connection tested first: zone {result.zone_name}, database id {result.database_id}."
            if result
            else ""
        )
        messages.success(request, f"The Autotask settings were saved.{tested}")
        return HttpResponseRedirect(settings_url())

    def message_user(self, request, *args, **kwargs):
        # Django's own "… was changed successfully" is replaced by response_change's message.
        return None

    # -- layout ----------------------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        obj = obj or AutotaskSettings.load()
        env_config = obj.active_environment()
        env_name = env_config.get_environment_display()
        panel, has_reference_data = self._connection_panel(request, env_config)
        if has_reference_data:
            defaults_description = (
                f"Chosen from the cached reference data of the {env_name} tenant; inactive values are not "
                "offered."
            )
        else:
            defaults_description = format_html(
                '<span id="autotask-defaults-need-reference-data">No reference data for {} yet: the lists '
                "below are empty until you test the connection and refresh reference data (buttons above)."
                "</span>",
                env_name,
            )
        return [
            (None, {"fields": ["enabled", "environment", "base_url", "compatibility_mode"]}),
            (
                f"{env_name} credentials",
                {
                    "description": "Credentials are kept per environment: switching environment keeps "
                    "the other set. The secret and the Tracking Identifier are stored encrypted and never "
                    "shown again; leave them empty to keep the stored values.",
                    "fields": [
                        "username",
                        # "Clear stored …" only when something is stored (the form has no such field else)
                        ("secret", "clear_secret") if env_config.secret else "secret",
                        ("integration_code", "clear_integration_code")
                        if env_config.integration_code
                        else "integration_code",
                        "impersonation_resource_id",
                    ],
                },
            ),
            (
                f"{env_name} connection and reference data",
                {"description": panel, "fields": []},
            ),
            (
                f"Ticket defaults ({env_name})",
                {"description": defaults_description, "fields": [*DEFAULT_FIELD_ORDER, "ticket_due_hours"]},
            ),
            (
                "API budget",
                {
                    "description": format_html(
                        "Autotask allows about 10,000 API requests per hour per database, shared by every "
                        'integration. See the <a href="{}">integration health page</a> for usage and pacing.',
                        reverse("autotask:health"),
                    ),
                    "fields": ["pacing_ceiling_percent"],
                },
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = list(SETTINGS_FIELDS)
        form_class = super().get_form(request, obj, change, **kwargs)
        results = getattr(request, "_autotask_probe_results", None)
        if results is not None:
            # the live tests already run outside the save transaction (see changeform_view)
            form_class = type(form_class.__name__, (form_class,), {"probe_results": results})
        draft = getattr(request, "_autotask_draft", None)
        if not draft:
            return form_class

        class DraftForm(form_class):
            """The page as the admin left it before Test connection / Refresh (non-secret fields only)."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if not self.is_bound:
                    for name, value in draft.items():
                        # an empty field means nothing was typed: the page's own initial value stays (e.g.
                        # the resolved status preselected once reference data has arrived)
                        if name in self.fields and value != "":
                            self.initial[name] = value

        return DraftForm

    def _connection_panel(self, request, env_config):
        """The panel's HTML and whether the environment has cached (active) reference data."""
        counts, inactive, fetched_at = {}, {}, None
        if env_config.database_id is not None:
            # The same numbers and words as the Refresh message ("5 queues (1 inactive)").
            counts, inactive, fetched_at = reference.cached_counts(
                env_config.environment, env_config.database_id
            )
        html = render_to_string(
            "admin/autotask/inc/connection_panel.html",
            {
                "env_config": env_config,
                "counts": reference.counts_text(counts, inactive),
                "fetched_at": fetched_at,
                "test_url": reverse("admin:autotask_autotasksettings_test_connection"),
                "refresh_url": reverse("admin:autotask_autotasksettings_refresh_reference"),
            },
            request=request,
        )
        return html, bool(counts)

    @sensitive_credentials
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "GET":
            # What the admin had typed when pressing Test connection / Refresh (shown once).
            request._autotask_draft = request.session.pop(DRAFT_SESSION_KEY, None)
        if request.method == "GET" and self.has_change_permission(request):
            for problem in self._problems_if_enabled():
                messages.warning(request, f"Autotask is enabled but cannot create tickets: {problem}")
            warning = configuration.connection_warning(AutotaskSettings.load())
            if warning:
                messages.warning(request, warning)
        env_config = AutotaskSettings.load().active_environment()
        if request.method == "POST" and self.has_change_permission(request) and str(object_id) == "1":
            # Django runs the whole POST (validation included) in one transaction. The live connection test
            # a save may need must not hold it: run it first, outside any transaction; the validation inside
            # the transaction then uses its outcome.
            request._autotask_probe_results = self._probe_before_save(request)
        extra_context = {
            **(extra_context or {}),
            # the Test connection / Refresh buttons, right under the credentials (see change_form.html)
            "connection_buttons": render_to_string(
                "admin/autotask/inc/connection_buttons.html",
                {
                    "env_config": env_config,
                    "test_url": reverse("admin:autotask_autotasksettings_test_connection"),
                    "refresh_url": reverse("admin:autotask_autotasksettings_refresh_reference"),
                },
            ),
            # One page: "Save and continue editing" would do the same as "Save".
            "show_save_and_continue": False,
            # Not "Change Autotask settings" over a second "Autotask settings" heading.
            "title": "Autotask settings",
            "subtitle": None,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    @sensitive_credentials
    def _probe_before_save(self, request):
        """Validate the posted form once without saving and run the live tests it needs: {key: outcome}.

        Outside any transaction (the client refuses to be called inside one). No test is run when the
        save needs none: disabled, or an already enabled configuration whose credentials did not change.
        """
        obj = AutotaskSettings.load()
        form_class = self.get_form(request, obj, change=True)
        deferring = type(form_class.__name__, (form_class,), {"defer_probes": True})
        form = deferring(request.POST, request.FILES, instance=obj)
        form.is_valid()
        return {key: form.run_probe(env_config) for key, env_config in form.wanted_probes.items()}

    def _problems_if_enabled(self):
        settings = AutotaskSettings.load()
        return configuration.configuration_problems(settings) if settings.enabled else []

    # -- saving + audit --------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        request._autotask_connection_result = form.connection_result
        before = AutotaskSettings.load()
        with transaction.atomic():
            obj.updated_by = request.user if request.user.is_authenticated else None
            obj.save()
            env_changed = form.save_environment_config()
            settings_changes = {
                name: [getattr(before, name), getattr(obj, name)]
                for name in SETTINGS_FIELDS
                if getattr(before, name) != getattr(obj, name)
            }
            fields = list(settings_changes) + env_changed
            switched = "environment" in settings_changes
            changes = {
                **settings_changes,
                **{
                    name: getattr(form.env_config, name)
                    for name in env_changed
                    if name in configuration.DEFAULT_FIELDS or name in ("username",)
                },
            }
            message = audit_text.settings_change_message(fields, changes)
            if switched:
                message = (
                    f"Switched to {obj.get_environment_display()} "
                    f"(from {before.get_environment_display()}). {message}"
                )
            AuditEvent.record(
                "settings_changed",
                user=request.user,
                # a switch is recorded under the environment switched to, naming the one left
                environment=obj.environment if switched else form.env_config.environment,
                message=message,
                fields=fields,
                **({"switched_from": before.environment} if switched else {}),
                # values only for non-secret fields; secrets appear by name in `fields` only
                changes=changes,
            )
        logger.info("Autotask settings changed by %s: %s", request.user, ", ".join(fields) or "nothing")

    def construct_change_message(self, request, form, formsets, add=False):
        # Field names only (the admin LogEntry never holds values anyway).
        return [{"changed": {"fields": sorted(form.changed_data)}}] if form.changed_data else []

    # -- Test connection / Refresh reference data ------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="{}_{}_test_connection".format(*info),
            ),
            path(
                "refresh-reference/",
                self.admin_site.admin_view(self.refresh_reference_view),
                name="{}_{}_refresh_reference".format(*info),
            ),
            *super().get_urls(),
        ]

    def _button_prologue(self, request):
        """Shared checks: POST only, permission, a valid credentials form. Returns (env_config, form)."""
        if not self.has_change_permission(request):
            raise PermissionRequired(MANAGE_PERMISSION)
        settings = AutotaskSettings.load()
        stored = settings.active_environment()
        posted_environment = request.POST.get("environment")
        if posted_environment and posted_environment != stored.environment:
            # The credentials on the page belong to the stored environment; testing them "for" the
            # newly chosen one would store them in the wrong set.
            messages.error(
                request,
                f"Nothing was tested: you chose another environment. The credentials on the page are the "
                f"{stored.get_environment_display()} ones — save the environment change first, then enter "
                "and test that environment's credentials.",
            )
            return stored, None
        form = CredentialsForm(request.POST, env_config=stored)
        if not form.is_valid():
            errors = "; ".join(
                f"{form.fields[name].label if name in form.fields else name}: {' '.join(errs)}"
                for name, errs in form.errors.items()
            )
            messages.error(request, f"Nothing was tested: {errors}")
            return stored, None
        return stored, form

    def _test(self, request, stored, form):
        """Test the typed credentials; on success store them (+ the result). Returns the result or None."""
        candidate = form.credentials_applied()
        changed = form.changed_credential_fields(stored, candidate)
        try:
            result = connection.check_connection(candidate, user=request.user)
        except AutotaskError as exc:
            messages.error(
                request,
                f"Connection test failed ({candidate.get_environment_display()}): {operator_message(exc)}",
            )
            return None, candidate
        if changed:
            AuditEvent.record(
                "credentials_changed",
                user=request.user,
                environment=candidate.environment,
                message="Stored after a successful connection test: " + ", ".join(changed),
                fields=changed,
            )
        return result, candidate

    def _keep_draft(self, request):
        """Remember the page's non-secret fields, so the reloaded page shows what the admin typed."""
        draft = {}
        for name in DRAFT_FIELDS:
            if name in BOOLEAN_DRAFT_FIELDS:
                draft[name] = name in request.POST
            elif name in request.POST:
                draft[name] = request.POST.get(name, "")[:1000]
        request.session[DRAFT_SESSION_KEY] = draft

    @sensitive_credentials
    def test_connection_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if self.has_change_permission(request):
            self._keep_draft(request)
        stored, form = self._button_prologue(request)
        if form is not None:
            result, candidate = self._test(request, stored, form)
            if result is not None:
                messages.success(
                    request,
                    format_html(
                        "Connected ({}): zone {}, database id {}, API usage {}.",
                        candidate.get_environment_display(),
                        result.zone_name,
                        result.database_id,
                        result.usage_text,
                    ),
                )
        return HttpResponseRedirect(settings_url())

    @sensitive_credentials
    def refresh_reference_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if self.has_change_permission(request):
            self._keep_draft(request)
        stored, form = self._button_prologue(request)
        if form is None:
            return HttpResponseRedirect(settings_url())
        result, candidate = self._test(request, stored, form)
        if result is None:
            return HttpResponseRedirect(settings_url())
        try:
            refreshed = reference.refresh_reference_data(candidate, user=request.user)
        except AutotaskError as exc:
            messages.error(request, f"Refreshing reference data failed: {operator_message(exc)}")
            return HttpResponseRedirect(settings_url())
        messages.success(
            request,
            f"Reference data refreshed ({candidate.get_environment_display()}): zone {result.zone_name}, "
            f"database id {refreshed.database_id}, API usage {result.usage_text}. "
            f"Cached {refreshed.counts_text}.",
        )
        return HttpResponseRedirect(settings_url())


class AuditActionFilter(admin.SimpleListFilter):
    """Filter by action, offering the codes that occur (one query) under their readable labels."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = AuditEvent.objects.order_by().values_list("action", flat=True).distinct()
        return sorted(
            ((code, audit_text.action_label(code)) for code in codes), key=lambda pair: pair[1].lower()
        )

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class RunListFilter(admin.SimpleListFilter):
    """Filter by run (`?run=<id>`, e.g. from a run's timeline). Runs are too many to list: the filter
    shows the chosen run only."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request, model_admin):
        # Django applies a filter only when it has choices: always offer the chosen value (an invalid one
        # then matches nothing instead of being ignored).
        value = self.value()
        return [(value, f"Run {value}")] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit() or int(value) > 2**63 - 1:
            return queryset.none()
        return queryset.filter(run_id=int(value))


class CustomerListFilter(admin.SimpleListFilter):
    """Filter by customer (`?customer__id__exact=<id>`, e.g. from the "about" column). Customers are too many
    to list (2,000 options in the sidebar): the filter shows the chosen customer only; search finds the
    others by name."""

    title = "customer"
    parameter_name = "customer__id__exact"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return []
        customer = (
            Customer.objects.filter(pk=int(value)).only("name").first()
            if value.isdigit() and int(value) <= 2**63 - 1
            else None
        )
        return [(value, customer.name if customer else f"Customer {value}")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit() or int(value) > 2**63 - 1:
            return queryset.none()
        return queryset.filter(customer_id=int(value))


class OutcomeFilter(admin.SimpleListFilter):
    """Filter by outcome from a fixed list (not SELECT DISTINCT over the whole audit log)."""

    title = "outcome"
    parameter_name = "outcome"
    OUTCOMES = tuple((o, o) for o in ("ok", "failed", "refused", "adopted", "started"))

    def lookups(self, request, model_admin):
        return self.OUTCOMES

    def queryset(self, request, queryset):
        return queryset.filter(outcome=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ProjectAdminMixin, admin.ModelAdmin):
    """Read-only: who did what with the integration, when, about which customer/run, and what came of it.

    Filterable by action (readable labels, audit_text.py), outcome, environment, customer, user and run;
    `?ticket_id=<Autotask ticket id>&environment__exact=<environment>` lists every event about one ticket
    (the "about" column links it).
    """

    # Few, compact columns so the message (the part people read) keeps its width next to the sidebar;
    # environment and outcome sit in the event column and remain filters.
    list_display = ("when", "user", "event", "subject", "message")
    list_display_links = ("when",)
    # No date_hierarchy and no "related only" filters: each read the whole log on every page view
    # (SELECT DISTINCT day / customer / user); the users are few, the customers are searched.
    list_filter = (
        AuditActionFilter,
        OutcomeFilter,
        "environment",
        ("at", admin.DateFieldListFilter),
        CustomerListFilter,
        ("user", admin.RelatedFieldListFilter),
        RunListFilter,
    )
    search_fields = ("message", "customer__name")
    show_full_result_count = False  # one COUNT per page view, not two
    fields = (
        "at",
        "user",
        "event_name",
        "environment",
        "outcome",
        "message",
        "customer",
        "run",
        "ticket_id",
        "details",
    )
    readonly_fields = fields
    list_select_related = ("user", "customer", "run")

    class Media:
        css = {"all": ["backupchecks/admin.css"]}

    @admin.display(description="when", ordering="at")
    def when(self, obj):
        return timezone.localtime(obj.at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="event", ordering="action")
    def event(self, obj):
        label = audit_text.action_label(obj.action)
        environment = f" ({obj.get_environment_display()})" if obj.environment else ""
        if obj.outcome == "ok":
            return f"{label}{environment}"
        return format_html("{}{} — <strong>{}</strong>", label, environment, obj.outcome)

    @admin.display(description="action")
    def event_name(self, obj):
        return audit_text.action_label(obj.action)

    @admin.display(description="details")
    def details(self, obj):
        return audit_text.data_html(obj.data)

    @admin.display(description="about")
    def subject(self, obj):
        parts = []
        if obj.customer_id:
            parts.append(
                format_html('<a href="?customer__id__exact={}">{}</a>', obj.customer_id, obj.customer.name)
            )
        if obj.run_id:
            parts.append(
                format_html(
                    '<a href="{}">run {}</a>', reverse("runs:run_detail", args=[obj.run_id]), obj.run_id
                )
            )
        if obj.ticket_id:
            # every event about this Autotask ticket (of this environment), from any run or none
            parts.append(
                format_html(
                    '<a href="?ticket_id={}&amp;environment__exact={}">ticket id {}</a>',
                    obj.ticket_id,
                    obj.environment,
                    obj.ticket_id,
                )
            )
        return format_html_join(" · ", "{}", ((part,) for part in parts)) if parts else "—"

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and (user.has_perm(MANAGE_PERMISSION) or user.has_perm("autotask.view_auditevent"))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Phase 3: the Customer admin with the Autotask company mapping (re-registers customers.admin.CustomerAdmin);
# phases 4–6: the read-only ticket records with the Resolve / Sync actions (admin_tickets.py).
from integrations.autotask import admin_mapping, admin_tickets  # noqa: E402,F401
