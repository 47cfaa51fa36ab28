from django.contrib import admin
from django.db.models import Count

from backupchecks.admin_hardening import ProjectAdminMixin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(ProjectAdminMixin, admin.ModelAdmin):
    list_display = ["name", "is_active", "job_count", "created_at"]
    list_filter = ["is_active"]
    # Also what autocomplete_fields elsewhere (jobs, Autotask company mappings) search.
    search_fields = ["name", "notes"]
    readonly_fields = ["created_at"]
    fields = ["name", "is_active", "notes", "created_at"]

    def get_queryset(self, request):
        # One annotated query instead of a COUNT per row.
        return super().get_queryset(request).annotate(job_count=Count("jobs"))

    @admin.display(description="jobs", ordering="job_count")
    def job_count(self, customer):
        return customer.job_count
