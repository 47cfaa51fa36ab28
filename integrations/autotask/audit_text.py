"""The audit log in words: action names, field names and values as the settings page shows them.

Used by the audit log admin (list, filter, detail), the run's Autotask timeline and when recording
settings changes. Add a label here when you add an action code. Events written by
any phase may carry an action this module does not know; those fall back to "Action name" from the code.
"""

from django.utils.html import format_html, format_html_join

from .models import Environment

ACTION_LABELS = {
    # settings page and commands
    "settings_changed": "Settings changed",
    "environment_switched": "Environment switched",
    "credentials_changed": "Credentials stored",
    "test_connection": "Connection tested",
    "refresh_reference": "Reference data refreshed",
    "demo_setup": "Demo set-up",
    # phase 3: company mapping
    "map_company": "Customer mapped to a company",
    "unmap_company": "Company mapping removed",
    "acknowledge_rename": "Company rename acknowledged",
    "check_mappings": "Company mappings checked",
    "mapping_status": "Mapping status changed",
    # phase 4: tickets
    "create_ticket": "Ticket creation",
    # phase 5: resolution and status sync
    "resolve_ticket": "Ticket resolution",
    "ticket_status_changed": "Ticket status changed",
    "sync_ticket_statuses": "Ticket statuses synced",
    # phase 6: linking
    "ticket_linked": "Existing ticket linked",
    "ticket_linked_open": "Run added to an open ticket",
    "ticket_note_added": "Internal note added",
    "manual_ticket_linked": "Manual ticket number linked",
    # issue 14: bulk actions
    "bulk_job_started": "Bulk job started",
    "bulk_job_retried": "Bulk job retried",
}

FIELD_LABELS = {
    "enabled": "Enabled",
    "environment": "Environment",
    "base_url": "Backupchecks base URL",
    "compatibility_mode": "Compatibility mode",
    "username": "API username",
    "secret": "API secret",
    "integration_code": "Tracking Identifier",
    "impersonation_resource_id": "Impersonation resource id",
    "queue_id": "Queue",
    "source_id": "Ticket source",
    "new_ticket_status_id": "Status for new tickets",
    "ticket_type_id": "Ticket type",
    "warning_priority_id": "Priority for Warning runs",
    "error_priority_id": "Priority for Error runs",
    "missed_priority_id": "Priority for Missed runs",
    "note_type_id": "Note type",
    "note_publish_id": "Note visibility",
    "resolved_status_id": "Status that means resolved",
    "database_id": "Autotask database id",
    "switched_from": "Switched from",
    "fields": "Fields",
    "changes": "Changes",
    "counts": "Cached values",
    "error": "Error",
}

#: fields whose values are never recorded (only that they changed)
SECRET_FIELDS = ("secret", "integration_code")


def action_label(action):
    """The label of an action code; unknown codes are humanised ("ticket_reopened" → "Ticket reopened")."""
    text = str(action or "").replace("_", " ").replace("-", " ").strip()
    return ACTION_LABELS.get(action) or (text[:1].upper() + text[1:] if text else "—")


def field_label(name):
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


def value_text(name, value):
    """One recorded value as the settings page would show it: on/off, Sandbox, (empty)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return "(empty)"
    if name in ("environment", "switched_from") and value in Environment.values:
        return Environment(value).label
    return str(value)


def change_text(name, change):
    """ "Enabled: on → off" for a [before, after] pair; "Queue: 29700102" for a new value."""
    if isinstance(change, list | tuple) and len(change) == 2:
        before, after = change
        return f"{field_label(name)}: {value_text(name, before)} → {value_text(name, after)}"
    return f"{field_label(name)}: {value_text(name, change)}"


def settings_change_message(fields, changes):
    """The audit message of a settings save: each change in words, secrets by name only."""
    if not fields:
        return "Saved without changes."
    parts = []
    for name in fields:
        if name in changes:
            parts.append(change_text(name, changes[name]))
        else:
            parts.append(f"{field_label(name)} changed")
    return "Changed: " + "; ".join(parts) + "."


def data_rows(data):
    """[(label, text)] for an event's data (the detail page), never raw JSON."""
    rows = []
    for name, value in (data or {}).items():
        if name == "changes" and isinstance(value, dict):
            text = "; ".join(change_text(field, change) for field, change in value.items()) or "—"
        elif name == "fields" and isinstance(value, list):
            text = ", ".join(field_label(field) for field in value) or "—"
        elif name == "counts" and isinstance(value, dict):
            text = ", ".join(f"{field_label(kind)}: {count}" for kind, count in value.items())
        elif isinstance(value, dict):
            text = "; ".join(f"{field_label(key)}: {value_text(key, item)}" for key, item in value.items())
        elif isinstance(value, list):
            text = ", ".join(value_text(name, item) for item in value) or "—"
        else:
            text = value_text(name, value)
        rows.append((field_label(name), text))
    return rows


def data_html(data):
    rows = data_rows(data)
    if not rows:
        return "—"
    return format_html(
        '<dl class="autotask-audit-data">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
    )
