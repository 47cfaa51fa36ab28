"""Admin-only template tags of the Autotask integration."""

from django import template
from django.urls import reverse

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.services.configuration import configuration_problems, connection_warning

register = template.Library()


@register.inclusion_tag("admin/autotask/inc/configuration_warning.html", takes_context=True)
def autotask_configuration_warning(context):
    """Staff with the Autotask permission see why an *enabled* integration is unusable (DB reads only)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_staff or not user.has_perm("autotask.manage_autotask"):
        return {"problems": []}
    settings = AutotaskSettings.load()
    if not settings.enabled:
        return {"problems": []}
    return {
        "problems": configuration_problems(settings),
        "connection_warning": connection_warning(settings),
        "settings_url": reverse("admin:autotask_autotasksettings_change", args=[1]),
    }


@register.inclusion_tag("admin/autotask/inc/health_link.html", takes_context=True)
def autotask_health_link(context, as_tool=False):
    """The link to the integration health page, for staff with the Autotask permission (no query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = user is not None and user.is_staff and user.has_perm("autotask.manage_autotask")
    return {"url": reverse("autotask:health") if allowed else "", "as_tool": as_tool}
