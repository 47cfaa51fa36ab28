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
    # the "Ticket" cell of each run row (Run Checks, Job Details), after the manual ticket number: ticket
    # badges and ticket actions; core shows "—" (Job Details) only when neither has anything
    "run_list_badges": "Run",
    "job_detail_panels": "BackupJob",
    "customer_detail_panels": "Customer",
    "customer_list_badges": "Customer",  # inline after the name in each customer list row
    # above the Run Checks table, inside its selection form (checkboxes `runs`, hidden `queue` = the filter's
    # query string, `next`): bulk actions on the checked runs or on every run matching the filter
    "run_checks_bulk_actions": "Page",  # the Run Checks page (page.paginator.count = runs matching)
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


# --- Policies: yes/no questions core views ask integrations ----------------------------------------------
#
# Some core behaviour depends on an integration's state without core importing it (e.g. the Autotask
# integration takes over ticket numbers while it is enabled). Core asks `policy_allows(name, request, obj)`;
# an integration answers by `register_policy(name, func)` in its `AppConfig.ready()`. With nothing
# registered the answer is True: core behaves exactly as without integrations. A policy reads the local
# database only (never a remote API) and costs a constant number of queries.

# Every policy core asks about, and what it is asked with.
POLICIES = {
    # May an operator enter or edit the manual ticket number of this run? Asked when run detail renders
    # (the form is only offered when True) and again on the POST that saves it (refused when False).
    # func(request, run) -> bool
    "manual_ticket_entry_allowed": "Run",
}

_policies: dict[str, list] = {name: [] for name in POLICIES}


def register_policy(name, func):
    """Add `func(request, obj) -> bool` to policy `name` (idempotent for the same function)."""
    if name not in POLICIES:
        raise ValueError(f"Unknown policy {name!r}; known policies: {', '.join(POLICIES)}")
    if func not in _policies[name]:
        _policies[name].append(func)
    return func


def unregister_policy(name, func):
    _policies[name][:] = [f for f in _policies[name] if f is not func]


def registered_policies(name):
    return list(_policies[name])


def policy_allows(name, request, obj):
    """True unless a registered policy answers False. A policy that raises is logged and counts as "allows":
    a broken integration must not take the core (pre-integration) workflow away."""
    if name not in POLICIES:
        raise ValueError(f"Unknown policy {name!r}; known policies: {', '.join(POLICIES)}")
    for func in list(_policies[name]):
        try:
            if not func(request, obj):
                return False
        except Exception:
            logger.exception("Policy %r of %r failed; allowing", name, func)
    return True
