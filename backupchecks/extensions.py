"""Template slot registry: how integrations add content to core pages without core importing them.

Core templates contain `{% render_extensions "run_detail_panels" run %}`. An integration subclasses
`TemplateExtension`, implements only the slots it needs, and calls `register()` from its
`AppConfig.ready()`. The tag (backupchecks/templatetags/extensions.py) skips extensions that do not
implement a slot and turns an exception into a small error box, so a broken integration never takes a
core page down. Extensions render **local database data only** — never a live API call.

List pages render one slot per row. To keep the SQL query count independent of the row count, the view
calls `prepare_slot()` once with all rows before rendering; an extension bulk-loads there
(`prepare_<slot>`) and then renders each row from what it loaded.
"""

import logging

logger = logging.getLogger(__name__)

# Every slot a core template offers, and the object it is rendered for.
SLOTS = {
    "run_detail_panels": "Run",
    "run_detail_actions": "Run",
    "run_list_badges": "Run",  # one cell in each Run Checks row
    "job_detail_panels": "BackupJob",
    "customer_detail_panels": "Customer",
    "customer_list_badges": "Customer",  # inline after the name in each customer list row
}


class TemplateExtension:
    """Base class. Implement a method named after a slot: `def run_detail_panels(self, request, obj)`
    returning HTML (a SafeString, e.g. from `render_to_string`) or "" for nothing.

    For list slots, optionally implement `prepare_<slot>(self, request, objects)` to bulk-load data.
    """

    #: shown in the error box when the extension fails
    name = "extension"

    def render_template(self, template_name, context, request):
        from django.template.loader import render_to_string

        return render_to_string(template_name, context, request=request)


_registry: list[TemplateExtension] = []


def register(extension_class):
    """Register an extension class (idempotent: registering the same class twice keeps one)."""
    if any(type(existing) is extension_class for existing in _registry):
        return extension_class
    _registry.append(extension_class())
    return extension_class


def unregister(extension_class):
    _registry[:] = [e for e in _registry if type(e) is not extension_class]


def registered():
    return list(_registry)


def implementing(slot):
    if slot not in SLOTS:
        raise ValueError(f"Unknown template slot {slot!r}; known slots: {', '.join(SLOTS)}")
    return [e for e in _registry if callable(getattr(e, slot, None))]


def prepare_slot(slot, request, objects):
    """Let each extension of `slot` bulk-load what it needs for `objects` (called once per page)."""
    objects = list(objects)
    for extension in implementing(slot):
        prepare = getattr(extension, f"prepare_{slot}", None)
        if not callable(prepare):
            continue
        try:
            prepare(request, objects)
        except Exception:
            # A failing prepare must not break the page; each row's render will show the error box.
            logger.exception("Template extension %s failed to prepare slot %s", extension.name, slot)
