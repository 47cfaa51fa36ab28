from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from backupchecks.admin_hardening import ProjectAdminMixin
from runs.models import BackupJob

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(ProjectAdminMixin, admin.ModelAdmin):
    list_display = ["name", "is_active", "job_count", "created_at"]
    list_filter = ["is_active"]
    # Also what autocomplete_fields elsewhere (jobs, Autotask company mappings) search.
    search_fields = ["name", "notes"]
    readonly_fields = ["created_at"]
    fields = ["name", "is_active", "notes", "created_at"]

    show_full_result_count = False  # one COUNT per page view, not two

    def get_queryset(self, request):
        # A correlated subquery, not Count("jobs"): no COUNT query per row, and no GROUP BY over every
        # customer before the page's 100 are picked (the subquery runs for the shown rows only).
        jobs = (
            BackupJob.objects.filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(job_count=Coalesce(Subquery(jobs, output_field=IntegerField()), 0))
        )

    @admin.display(description="jobs", ordering="job_count")
    def job_count(self, customer):
        return customer.job_count
