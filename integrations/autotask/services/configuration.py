"""Is the Autotask configuration usable? Validation rules shared by the settings form, the demo set-up and
(phase 4) ticket creation.

`configuration_problems()` is the contract for callers that are about to talk to Autotask on behalf of a
run: an empty list means "configured and usable"; otherwise each string is a complete sentence an operator
can act on (ticket creation refuses with it). It reads the database only — never the API — so it is cheap
enough for page renders (a constant handful of queries).
"""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from integrations.autotask.models import AutotaskSettings, ReferenceKind, ReferenceValue

#: ticket-default fields of EnvironmentConfig → the picklist they are chosen from
REQUIRED_DEFAULTS = {
    "queue_id": ReferenceKind.QUEUE,
    "source_id": ReferenceKind.SOURCE,
    "new_ticket_status_id": ReferenceKind.STATUS,
    "warning_priority_id": ReferenceKind.PRIORITY,
    "error_priority_id": ReferenceKind.PRIORITY,
    "note_type_id": ReferenceKind.NOTE_TYPE,
    "note_publish_id": ReferenceKind.NOTE_PUBLISH,
    "resolved_status_id": ReferenceKind.STATUS,
}
#: may stay empty: Missed runs then use the Error priority; no ticket type = Autotask's default
OPTIONAL_DEFAULTS = {
    "missed_priority_id": ReferenceKind.PRIORITY,
    "ticket_type_id": ReferenceKind.TICKET_TYPE,
}
DEFAULT_FIELDS = {**REQUIRED_DEFAULTS, **OPTIONAL_DEFAULTS}

CREDENTIAL_LABELS = {
    "username": "API username",
    "secret": "API secret",
    "integration_code": "Tracking Identifier",
}


# --- Backupchecks base URL ----------------------------------------------------------------------------


def normalise_base_url(value):
    """Return the base URL without trailing slashes, or raise ValidationError.

    Absolute http/https URL with a host, no user name or password, no query string and no fragment
    ("" stays "").
    """
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            "Enter an absolute http:// or https:// URL, e.g. https://backupchecks.example.com.",
            code="scheme",
        )
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValidationError(
            "The base URL may not contain a query string (?…) or a fragment (#…).", code="query"
        )
    if "@" in parts.netloc:
        # It ends up in every ticket: a user name or password there would be shown to every reader.
        raise ValidationError("The base URL may not contain a user name or password.", code="userinfo")
    URLValidator(schemes=["http", "https"])(value)
    return value.rstrip("/")


# --- note visibility ------------------------------------------------------------------------------------

_WORDS = re.compile(r"[a-z]+")


def is_customer_visible_publish(label):
    """True when a note-visibility (TicketNotes.publish) label may show notes to customers.

    Autotask's "All Autotask Users" (usually publish=1) *is* visible to customers and in the client portal
    (reference §6.3); the values are tenant picklists, so we judge by label, case-insensitively:
    refused are labels with the word "all" (unless they also say "internal", e.g. "All internal users"),
    and labels mentioning the client portal, customers, clients or contacts. "Internal Only",
    "Internal Users Only", "Internal Project Team" and "Internal & Co-Managed" are allowed.
    """
    words = set(_WORDS.findall((label or "").lower()))
    if "internal" in words:
        return False
    if "all" in words:
        return True
    return bool(words & {"portal", "customer", "customers", "client", "clients", "contact", "contacts"})


# --- ticket defaults ------------------------------------------------------------------------------------


def reference_rows(environment, database_id):
    """{(kind, value): ReferenceValue} of one tenant's cache (one query)."""
    if database_id is None:
        return {}
    return {
        (row.kind, row.value): row
        for row in ReferenceValue.objects.filter(environment=environment, database_id=database_id)
    }


def describe_value(kind, value, row):
    name = ReferenceKind(kind).label.lower()
    if row is None:
        return f"{name} {value}"
    return f"{name} “{row.label}” ({value})"


def default_problems(environment, database_id, chosen, *, require=True, rows=None):
    """Problems with ticket defaults: {field name: message}.

    `chosen` maps DEFAULT_FIELDS names to ids (None = not chosen). With `require`, every required default
    must be chosen. Every chosen id must be a present, active value of this tenant's cache; a note
    visibility customers can see is always refused.
    """
    rows = reference_rows(environment, database_id) if rows is None else rows
    problems = {}
    for field, kind in DEFAULT_FIELDS.items():
        value = chosen.get(field)
        if value is None:
            if require and field in REQUIRED_DEFAULTS:
                problems[field] = f"Choose a {ReferenceKind(kind).label.lower()} (required to enable)."
            continue
        row = rows.get((kind, value))
        if row is None or not row.is_present:
            problems[field] = (
                f"The {describe_value(kind, value, row)} no longer exists in Autotask: choose another."
            )
        elif not row.is_active:
            problems[field] = (
                f"The {describe_value(kind, value, row)} is inactive in Autotask: choose another."
            )
        elif kind == ReferenceKind.NOTE_PUBLISH and is_customer_visible_publish(row.label):
            problems[field] = (
                f"Notes published to “{row.label}” are visible to customers. "
                "Choose an internal visibility such as “Internal Only”."
            )
    return problems


def env_defaults(env_config):
    return {field: getattr(env_config, field) for field in DEFAULT_FIELDS}


# --- the whole configuration ----------------------------------------------------------------------------


def configuration_problems(settings=None, *, env_config=None, rows=None):
    """Why the integration cannot be used right now, as operator-facing sentences; [] when usable.

    Checks (database only, never the API): enabled; complete credentials of the selected environment;
    the base URL; a tenant (database id) known from a connection test; and every ticket default a present,
    active, internal value of that tenant's cached reference data. Pages that already loaded the active
    `env_config` and its `reference_rows()` pass them to save the queries.
    """
    settings = settings or AutotaskSettings.load()
    if not settings.enabled:
        return ["The Autotask integration is disabled."]
    env_config = env_config or settings.active_environment()
    env_name = env_config.get_environment_display()
    problems = []
    missing = [label for field, label in CREDENTIAL_LABELS.items() if not getattr(env_config, field)]
    if missing:
        problems.append(f"The {env_name} credentials are incomplete: {', '.join(missing)} missing.")
    if not settings.base_url:
        problems.append("The Backupchecks base URL is not set.")
    if env_config.database_id is None:
        problems.append(
            f"The {env_name} connection has never been tested: test it and refresh reference data."
        )
    else:
        for message in default_problems(
            env_config.environment, env_config.database_id, env_defaults(env_config), rows=rows
        ).values():
            problems.append(f"Ticket defaults ({env_name}): {message}")
    return problems


# --- sensible defaults (demo set-up) ----------------------------------------------------------------------


def _pick(values, *preferred_labels, fallback_default=True, fallback_first=True):
    by_label = {v.label.lower(): v for v in values}
    for label in preferred_labels:
        if label.lower() in by_label:
            return by_label[label.lower()].value
    if fallback_default:
        for v in values:
            if v.is_default:
                return v.value
    if fallback_first and values:
        return values[0].value
    return None


def suggested_defaults(env_config):
    """Sensible ticket defaults from the cached reference data of `env_config`'s tenant, by label.

    Used by the demo set-up; returns {field: id or None}. Never picks a customer-visible note visibility.
    """
    rows = [
        row
        for row in ReferenceValue.objects.filter(
            environment=env_config.environment,
            database_id=env_config.database_id,
            is_present=True,
            is_active=True,
        )
    ]

    def of(kind):
        return [r for r in rows if r.kind == kind]

    internal = [r for r in of(ReferenceKind.NOTE_PUBLISH) if not is_customer_visible_publish(r.label)]
    internal_only = [r for r in internal if "only" in r.label.lower()] or internal
    statuses = of(ReferenceKind.STATUS)
    complete = _pick(statuses, "Complete", fallback_default=False, fallback_first=False)
    if complete is None and any(r.value == 5 for r in statuses):
        complete = 5
    return {
        "queue_id": _pick(of(ReferenceKind.QUEUE), "Backup Checks", "Monitoring Alerts", "Service Desk"),
        "source_id": _pick(of(ReferenceKind.SOURCE), "Backup Monitoring", "Monitoring Alert", "Monitoring"),
        "new_ticket_status_id": _pick(statuses, "New"),
        "warning_priority_id": _pick(of(ReferenceKind.PRIORITY), "Medium", "Normal"),
        "error_priority_id": _pick(of(ReferenceKind.PRIORITY), "High", fallback_default=True),
        "missed_priority_id": None,
        "ticket_type_id": _pick(
            of(ReferenceKind.TICKET_TYPE), "Alert", "Incident", fallback_default=False, fallback_first=False
        ),
        "note_type_id": _pick(of(ReferenceKind.NOTE_TYPE), "Backup Alert Note", "Task Notes"),
        "note_publish_id": internal_only[0].value if internal_only else None,
        "resolved_status_id": complete,
    }


def default_resolved_status(environment, database_id):
    """The id of the status labelled "Complete" (else 5 if cached), for pre-selecting the resolved status."""
    statuses = list(
        ReferenceValue.objects.filter(
            environment=environment,
            database_id=database_id,
            kind=ReferenceKind.STATUS,
            is_present=True,
            is_active=True,
        )
    )
    for row in statuses:
        if row.label.strip().lower() == "complete":
            return row.value
    return 5 if any(row.value == 5 for row in statuses) else None
