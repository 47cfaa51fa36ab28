import secrets

from django.contrib import admin, messages
from django.utils.html import format_html

from backupchecks.admin_hardening import ProjectAdminMixin
from customers.models import Customer

from .examples import curl_line, example_payload
from .models import BackupJob, IngestToken, Run, hash_token
from .pagination import AdminLeanPaginator


@admin.register(BackupJob)
class BackupJobAdmin(ProjectAdminMixin, admin.ModelAdmin):
    list_display = ["name", "customer", "backup_software", "job_type", "schedule", "is_active", "created_at"]
    list_filter = ["is_active", "backup_software", "job_type"]
    search_fields = ["name", "customer__name"]
    list_select_related = ["customer"]
    show_full_result_count = False  # one COUNT per page view, not two
    autocomplete_fields = ["customer"]
    readonly_fields = ["created_at"]


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "Reviewed"), ("no", "Not reviewed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(reviewed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(reviewed_at__isnull=True)
        return queryset


@admin.register(Run)
class RunAdmin(ProjectAdminMixin, admin.ModelAdmin):
    list_display = ["started_at", "job", "status", "finished_at", "reviewed_at", "manual_ticket_number"]
    # A date filter, not date_hierarchy: the hierarchy reads every run's date on each page view
    # (SELECT DISTINCT month/day over the whole table: 650 ms at 100,000 runs on SQLite).
    list_filter = [
        "status",
        ReviewedFilter,
        ("started_at", admin.DateFieldListFilter),
        "job__backup_software",
    ]
    search_fields = [
        "job__name",
        "job__customer__name",
        "summary",
        "source_external_id",
        "manual_ticket_number",
    ]
    list_select_related = ["job__customer"]  # Run.job's __str__ shows the customer's name
    autocomplete_fields = ["job"]
    raw_id_fields = ["reviewed_by"]
    readonly_fields = ["created_at"]
    list_per_page = 50
    # The run table grows without bound: skip the extra unfiltered COUNT(*) on every changelist page, and
    # count the filtered list only up to COUNT_LIMIT (runs/pagination.py; the list then says "10,000+").
    show_full_result_count = False
    paginator = AdminLeanPaginator

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # Changing the external id of a stored run would break idempotent ingestion for it.
            return [*self.readonly_fields, "source_external_id"]
        return self.readonly_fields


@admin.register(IngestToken)
class IngestTokenAdmin(ProjectAdminMixin, admin.ModelAdmin):
    """Tokens for POST /api/runs/. The raw token is generated on save and shown once, in a message.

    Only its SHA-256 (`token_hash`) is stored; the hash is never shown. The message travels in Django's
    message storage (signed cookie, or the session if too large) only until the next page displays it.
    """

    list_display = ["name", "prefix", "is_active", "created_at", "last_used_at"]

    class Media:
        js = ["backupchecks/app.js"]  # the copy buttons of the one-time token message
        css = {"all": ["backupchecks/admin.css"]}

    list_filter = ["is_active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["deactivate"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "is_active"]
        return ["name", "is_active", "prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        raw_token = None
        if not change:
            # Same format as IngestToken.issue(): "bc_" + 43 URL-safe characters.
            raw_token = "bc_" + secrets.token_urlsafe(32)
            obj.prefix = raw_token[:10]
            obj.token_hash = hash_token(raw_token)
        super().save_model(request, obj, form, change)
        if raw_token is not None:
            messages.warning(request, self.token_message(request, obj, raw_token))

    def token_message(self, request, token, raw_token):
        """The one-time message: the token and the exact curl line to use it, each with a copy button
        (static/backupchecks/app.js; no inline script)."""
        customer = Customer.objects.filter(is_active=True).order_by("name").only("name").first()
        base_url = request.build_absolute_uri("/")
        example = curl_line(
            base_url, raw_token, example_payload(customer.name if customer else "Your customer")
        )
        return format_html(
            "Copy the token for “{}” now — it is not stored and will not be shown again:"
            '<div class="ingest-token-once">'
            '<code id="new-ingest-token">{}</code> '
            '<button type="button" class="button" data-copy-target="#new-ingest-token" '
            'data-copied-label="Copied">Copy token</button>'
            "<p>Send a run with it ({}):</p>"
            '<pre id="new-ingest-curl">{}</pre>'
            '<button type="button" class="button" data-copy-target="#new-ingest-curl" '
            'data-copied-label="Copied">Copy curl line</button></div>',
            token.name,
            raw_token,
            "the customer must exist; external_id is required"
            if customer
            else "create the customer first: runs are only accepted for existing customers",
            example,
        )

    @admin.action(description="Deactivate selected tokens", permissions=["change"])
    def deactivate(self, request, queryset):
        updated = queryset.update(is_active=False)
        self.message_user(request, f"Deactivated {updated} token(s).", messages.SUCCESS)
