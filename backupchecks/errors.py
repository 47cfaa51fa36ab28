"""Error pages in the site layout: 403 (incl. CSRF failures), 404 and 500.

Wired in backupchecks/urls.py (`handler403`, `handler500`) and settings.CSRF_FAILURE_VIEW; 404 uses Django's
own handler with templates/404.html. Every page renders from the request and the local database only
(never an integration's API), shows no exception detail beyond a refusal's own operator-readable message,
and works with DEBUG off.
"""

import logging

from django.contrib.auth.models import Group
from django.db.models import Count, Q
from django.http import HttpResponseForbidden, HttpResponseServerError
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme

logger = logging.getLogger(__name__)

#: the built-in roles (runs/roles.py), least to most privileged; other groups follow by name
ROLE_ORDER = ("Viewer", "Operator", "Admin")

FALLBACK_500 = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Server error · Backupchecks</title>"
    "</head><body><h1>Something went wrong on our side</h1><p>The error was logged. Try again in a minute; "
    "if it keeps happening, tell your administrator the time it happened.</p><p><a href='/'>Run Checks</a>"
    "</p></body></html>"
)


def roles_granting(permissions):
    """Names of the groups (roles) holding every one of `permissions` ("app_label.codename"), least
    privileged first (ROLE_ORDER, then by name). One query; [] for no permissions."""
    if not permissions:
        return []
    wanted = Q()
    for dotted in permissions:
        app_label, _, codename = dotted.partition(".")
        wanted |= Q(permissions__content_type__app_label=app_label, permissions__codename=codename)
    names = (
        Group.objects.filter(wanted)
        .annotate(matched=Count("permissions", filter=wanted, distinct=True))
        .filter(matched=len(set(permissions)))
        .values_list("name", flat=True)
    )

    def rank(name):
        return (ROLE_ORDER.index(name), "") if name in ROLE_ORDER else (len(ROLE_ORDER), name)

    return sorted(names, key=rank)


def _back_url(request):
    """The page the user came from when it is on this site, else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return ""


def _user_roles(user):
    if not user.is_authenticated:
        return []
    return sorted(user.groups.values_list("name", flat=True), key=lambda n: (n not in ROLE_ORDER, n))


#: Django admin URL names end in the view's action; the model permission each one asks for first
#: (`ModelAdmin.changelist_view` and friends raise a bare PermissionDenied without naming it)
_ADMIN_VIEW_PERMISSION = {
    "changelist": "view",
    "change": "view",
    "history": "view",
    "add": "add",
    "delete": "delete",
}


def admin_permissions_for(request):
    """The model permission a refused Django admin page asked for, from its URL name
    (`admin:<app_label>_<model>_<action>`): ("customers.view_customer",) for the customer list, change
    page and history, `add_…` / `delete_…` for those pages, `change_…` for a POST to a change page.
    () when the request is not an admin model page."""
    from django.apps import apps

    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != "admin" or not match.url_name:
        return ()
    for app_config in apps.get_app_configs():
        prefix = f"{app_config.label}_"
        if not match.url_name.startswith(prefix):
            continue
        model_name, _, action = match.url_name[len(prefix) :].rpartition("_")
        if action not in _ADMIN_VIEW_PERMISSION or model_name not in app_config.models:
            continue
        verb = "change" if action == "change" and request.method == "POST" else _ADMIN_VIEW_PERMISSION[action]
        return (f"{app_config.label}.{verb}_{model_name}",)
    return ()


def permission_denied(request, exception=None):
    """handler403: which role the refused page or action needs (when the refusal names its permissions,
    see `backupchecks.auth.PermissionRequired`, or it is a Django admin model page, see
    `admin_permissions_for`), the user's own roles, and a way back."""
    permissions = getattr(exception, "permissions", ()) or admin_permissions_for(request)
    message = exception.args[0] if exception is not None and exception.args else ""
    context = {
        "message": message if isinstance(message, str) else "",
        "needed_roles": roles_granting(permissions),
        "names_permissions": bool(permissions),
        "user_roles": _user_roles(request.user) if hasattr(request, "user") else [],
        "back_url": _back_url(request),
    }
    template = loader.get_template("403.html")
    return HttpResponseForbidden(template.render(context, request))


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: the form was stale (or cookies are off). The reason is logged by Django,
    not shown."""
    context = {"back_url": _back_url(request), "cookie_missing": "CSRF cookie not set" in reason}
    template = loader.get_template("403_csrf.html")
    return HttpResponseForbidden(template.render(context, request))


def server_error(request):
    """handler500: the layout without a request context, user or database (any of them may be what
    failed); a plain page if even the template cannot render."""
    try:
        html = loader.get_template("500.html").render({})
    except Exception:  # the error page must never fail itself
        logger.exception("The 500 page could not be rendered")
        html = FALLBACK_500
    return HttpResponseServerError(html)
