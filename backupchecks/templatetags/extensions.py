"""`{% render_extensions "slot" obj %}` — the fail-safe tag behind the template slot registry."""

import logging

from django import template
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from backupchecks import extensions

register = template.Library()
logger = logging.getLogger("backupchecks.extensions")


@register.simple_tag(takes_context=True)
def render_extensions(context, slot, obj=None):
    request = context.get("request")
    parts = []
    for extension in extensions.implementing(slot):
        try:
            html = getattr(extension, slot)(request, obj)
        except Exception:
            # Never let an integration break a core page: log it and show a small box instead.
            logger.exception("Template extension %s failed in slot %s", extension.name, slot)
            html = render_to_string(
                "backupchecks/inc/extension_error.html", {"extension_name": extension.name, "slot": slot}
            )
        if html:
            parts.append(conditional_escape(html))
    return mark_safe("".join(parts))  # noqa: S308 - each part is escaped or already safe
