"""Customer list and detail. Latest statuses come from subqueries, so each page runs a fixed number of
SQL queries however many customers, jobs and runs there are."""

from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from backupchecks.extensions import prepare_slot
from runs.models import BackupJob, Run, RunStatus
from runs.views import view_required

from .models import Customer

CUSTOMERS_PER_PAGE = 50


def _latest_run(**outer_filter):
    return Run.objects.filter(**outer_filter).order_by("-started_at", "-id")


def _count(queryset, outer_field):
    """COUNT(*) of `queryset` correlated on `outer_field`, as a subquery.

    A subquery rather than `Count()` so counts never multiply through joins, and so the paginator's
    COUNT query can drop these annotations (an aggregate annotation would force it to evaluate them all).
    """
    counted = queryset.order_by().values(outer_field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _open_run_count(**outer_filter):
    """Unreviewed warning/error/missed runs (those on Run Checks)."""
    (outer_field,) = outer_filter
    runs = Run.objects.needing_review().filter(**outer_filter)
    return _count(runs, outer_field)


@require_GET
@view_required
def customer_list(request):
    customers = (
        Customer.objects.only("pk", "name", "is_active")
        .annotate(
            job_count=_count(BackupJob.objects.filter(customer=OuterRef("pk")), "customer"),
            latest_status=Subquery(_latest_run(job__customer=OuterRef("pk")).values("status")[:1]),
            latest_started_at=Subquery(_latest_run(job__customer=OuterRef("pk")).values("started_at")[:1]),
            open_runs=_open_run_count(job__customer=OuterRef("pk")),
        )
        .order_by("name")
    )
    query = request.GET.get("q", "").strip()[:200]
    if query:
        customers = customers.filter(name__icontains=query)
    page = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    page_customers = list(page.object_list)
    prepare_slot("customer_list_badges", request, page_customers)
    return render(
        request,
        "customers/customer_list.html",
        {"page": page, "customers": page_customers, "query": query, "statuses": RunStatus},
    )


@require_GET
@view_required
def customer_detail(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    latest = _latest_run(job=OuterRef("pk"))
    jobs = list(
        BackupJob.objects.filter(customer=customer)
        .annotate(
            latest_run_id=Subquery(latest.values("pk")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
            latest_started_at=Subquery(latest.values("started_at")[:1]),
            latest_summary=Subquery(latest.values("summary")[:1]),
            open_runs=_open_run_count(job=OuterRef("pk")),
        )
        .order_by("-is_active", "name")
    )
    prepare_slot("customer_detail_panels", request, [customer])
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "jobs": jobs,
            "open_runs": sum(job.open_runs for job in jobs),
            "statuses": RunStatus,
        },
    )
