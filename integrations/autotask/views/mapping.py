"""Phase 3: company search and mapping pages (staff with `autotask.map_company`).

The customer's admin change page (admin_mapping.py) shows the mapping panel; its search box and buttons
call these views, which are outside the admin's change-form transaction, so no Autotask call ever runs
inside a database transaction. Thin: parse, call the service verb, turn ActionRefused / AutotaskError into
a message (integrations.autotask.messages).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from customers.models import Customer
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.services import ActionRefused
from integrations.autotask.services import mapping as mapping_service

MAP_PERMISSION = "autotask.map_company"
#: longest search text accepted (Autotask company names are at most 100 characters)
MAX_QUERY_CHARS = 100


def _mapper_required(view):
    """Logged in (else the login page), staff with autotask.map_company (else 403)."""

    @login_required
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm(MAP_PERMISSION)):
            raise PermissionDenied("Mapping customers to Autotask companies needs the Admin role.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def _back(request, customer):
    """Where a button returns to: a safe `next`, else the customer's admin change page."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(
        reverse("admin:customers_customer_change", args=[customer.pk]) + "#autotask-mapping"
    )


@require_GET
@_mapper_required
def company_search(request, customer_pk):
    """Search-as-you-type results (an htmx fragment; a plain page without JavaScript). One API call."""
    customer = get_object_or_404(Customer, pk=customer_pk)
    text = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    include_inactive = request.GET.get("include_inactive") in ("1", "on", "true")
    context = {
        "customer": customer,
        "q": text,
        "include_inactive": include_inactive,
        "limit": mapping_service.SEARCH_LIMIT,
        "matches": [],
        "message": "",
        "error": False,
    }
    if len(text) < mapping_service.SEARCH_MIN_CHARS:
        context["message"] = f"Type at least {mapping_service.SEARCH_MIN_CHARS} characters to search."
    else:
        try:
            matches = mapping_service.search_companies(text, include_inactive=include_inactive)
        except ActionRefused as exc:
            context.update(message=str(exc), error=True)
        except AutotaskError as exc:
            context.update(message=operator_message(exc, "search Autotask companies"), error=True)
        else:
            context["matches"] = matches
            context.update(_taken(customer, matches))
    template = (
        "autotask/mapping/search_results.html" if _is_htmx(request) else "autotask/mapping/search_page.html"
    )
    return render(request, template, context)


def _taken(customer, matches):
    """Which of `matches` are mapped in the active tenant, and to whom (one query)."""
    settings = AutotaskSettings.load()
    env_config = settings.active_environment()
    rows = CompanyMapping.objects.filter(
        environment=settings.environment,
        database_id=env_config.database_id,
        company_id__in=[m.id for m in matches],
    ).select_related("customer")
    taken = {row.company_id: row.customer for row in rows}
    current = next((row.company_id for row in rows if row.customer_id == customer.pk), None)
    return {"taken": taken, "current_company_id": current}


@require_POST
@_mapper_required
def map_customer(request, customer_pk):
    """Save the chosen company as the customer's mapping (one API call: the company is read once)."""
    customer = get_object_or_404(Customer, pk=customer_pk)
    raw = request.POST.get("company_id", "").strip()
    mapping, error = None, ""
    if not raw.isdigit() or len(raw) > 18:
        error = "Choose an Autotask company from the search results."
    else:
        try:
            mapping = mapping_service.map_customer(customer, int(raw), user=request.user)
        except ActionRefused as exc:
            error = str(exc)
        except AutotaskError as exc:
            error = operator_message(exc, "map the customer")
    if _is_htmx(request):
        return render(
            request,
            "autotask/mapping/mapped_fragment.html",
            {"customer": customer, "mapping": mapping, "error": error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            f"{customer.name} is now mapped to Autotask company {mapping.company_name} ({mapping.company_id}).",
        )
    return _back(request, customer)


@require_POST
@_mapper_required
def unmap_customer(request, customer_pk):
    """Remove the customer's mapping in the active environment (no API call)."""
    customer = get_object_or_404(Customer, pk=customer_pk)
    mapping = mapping_service.mapping_for(customer)
    mapping_service.unmap_customer(customer, user=request.user)
    if mapping is not None:
        messages.success(
            request, f"{customer.name} is no longer mapped to {mapping.company_name} ({mapping.company_id})."
        )
    return _back(request, customer)


@require_POST
@_mapper_required
def acknowledge_rename(request, customer_pk):
    """Forget the old name of a company renamed in Autotask (no API call)."""
    customer = get_object_or_404(Customer, pk=customer_pk)
    mapping = mapping_service.acknowledge_rename(customer, user=request.user)
    if mapping is not None:
        messages.success(request, f"Rename acknowledged: the company is now called {mapping.company_name}.")
    return _back(request, customer)


@require_POST
@_mapper_required
def check_mapping(request, customer_pk):
    """Check this customer's mapping now (one API call)."""
    customer = get_object_or_404(Customer, pk=customer_pk)
    try:
        mapping_service.check_mappings([customer], user=request.user)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    except AutotaskError as exc:
        messages.error(request, operator_message(exc, "check the mapping"))
    else:
        mapping = mapping_service.mapping_for(customer)
        if mapping is None:
            messages.info(request, f"{customer.name} has no Autotask mapping to check.")
        else:
            messages.success(
                request,
                f"Checked: {mapping.company_name} ({mapping.company_id}) is {mapping.get_status_display()}.",
            )
    return _back(request, customer)


urlpatterns = [
    path("customers/<int:customer_pk>/companies/", company_search, name="company_search"),
    path("customers/<int:customer_pk>/map/", map_customer, name="map_customer"),
    path("customers/<int:customer_pk>/unmap/", unmap_customer, name="unmap_customer"),
    path("customers/<int:customer_pk>/acknowledge-rename/", acknowledge_rename, name="acknowledge_rename"),
    path("customers/<int:customer_pk>/check/", check_mapping, name="check_mapping"),
]
