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
from django.utils import timezone

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


#: characters a base URL may contain (RFC 3986 path characters; no quotes, angle brackets, spaces or
#: backslashes: the URL is written into every ticket and into links)
_BASE_URL_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&()*+,;=:@/%]*")
_BASE_URL_HOST_CHARS = re.compile(r"[A-Za-z0-9\-.:\[\]]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def normalise_base_url(value):
    """Return the base URL without trailing slashes, or raise ValidationError.

    A real http(s) origin plus an optional path: scheme http or https, a valid host name or IP address, an
    optional port 1–65535, no user name or password, no query string or fragment, and only RFC 3986 path
    characters (no `<`, `>`, `"`, `'`, spaces or backslashes; `%` only as a %XX escape). "" stays "".
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
    if (
        not _BASE_URL_HOST_CHARS.fullmatch(parts.netloc)
        or not _BASE_URL_PATH_CHARS.fullmatch(parts.path)
        or _BAD_PERCENT.search(value)
    ):
        raise ValidationError(
            "The base URL may only contain letters, digits and - . _ ~ ! $ & ( ) * + , ; = : @ / and %XX "
            "escapes (no spaces, quotes or angle brackets).",
            code="characters",
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValidationError("The port must be a number from 1 to 65535.", code="port")
    URLValidator(schemes=["http", "https"])(value)
    return value.rstrip("/")


# --- note visibility ------------------------------------------------------------------------------------

_WORDS = re.compile(r"\w+")
#: words that say "internal" (English, German, Dutch, Scandinavian, French, Spanish, Italian, Portuguese)
_INTERNAL_WORDS = frozenset(
    [
        "internal",
        "intern",
        "interne",
        "internen",
        "interner",
        "internes",
        "internal",
        "interno",
        "interna",
        "internos",
        "internas",
        "internt",
        "interni",
    ]
)
#: words that say someone outside the MSP's own staff reads the note
_OUTWARD_WORDS = frozenset(
    [
        "customer",
        "customers",
        "client",
        "clients",
        "portal",
        "contact",
        "contacts",
        "public",
        "external",
        "everyone",
        "everybody",
        "comanaged",
        "kunde",
        "kunden",
        "kund",
        "kunder",
        "klant",
        "klanten",
        "cliente",
        "clientes",
        "contacto",
        "contactos",
        "kontakt",
        "kontakte",
        "öffentlich",
        "publico",
        "público",
        "publique",
        "pubblico",
        "extern",
        "externe",
        "externo",
        "externa",
    ]
)
#: words that say "all" / "everyone": fine only next to an internal word ("All internal users")
_ALL_WORDS = frozenset(
    ["all", "alle", "allen", "todos", "todas", "tous", "toutes", "tutti", "tutte", "iedereen", "jeder"]
)
#: Autotask's system value for internal-only notes (docs/autotask-api.md §6.3)
INTERNAL_PUBLISH_VALUE = 2


def is_customer_visible_publish(label, value=None):
    """True unless a note visibility (TicketNotes.publish) is clearly internal-only.

    The values are a tenant picklist whose labels the tenant may rename or translate, and Autotask's "All
    Autotask Users" (usually 1) *is* visible to customers (docs/autotask-api.md §6.3). So the rule is
    inverted — everything is refused unless it is clearly internal:

    - a label that says who else reads the note — customers, clients, contacts, the portal, the public,
      external or co-managing users (the customer's own IT staff), or "all"/"everyone" without an
      internal word — is customer-visible, whatever its value;
    - otherwise a label with an internal word ("Internal Only", "Nur intern", "Solo interno",
      "Interne uniquement", "All internal users") is internal;
    - otherwise only Autotask's system value for internal, ``value == 2``, counts as internal.

    Used by the settings form, ``default_problems()`` and (phase 5) again when a note is written.
    """
    text = (label or "").casefold().replace("co-managed", "comanaged").replace("co managed", "comanaged")
    words = set(_WORDS.findall(text))
    internal_word = bool(words & _INTERNAL_WORDS)
    if words & _OUTWARD_WORDS or (words & _ALL_WORDS and not internal_word):
        return True
    if internal_word:
        return False
    return value != INTERNAL_PUBLISH_VALUE


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
        elif kind == ReferenceKind.NOTE_PUBLISH and is_customer_visible_publish(row.label, row.value):
            problems[field] = (
                f"Notes published to “{row.label}” may be visible to customers: only a visibility whose "
                "label clearly says internal-only is allowed. Choose one such as “Internal Only”."
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


def connection_warning(settings=None):
    """A warning sentence when the integration is enabled but its last connection test failed, else None.

    Not a configuration problem (Autotask may only be down for a while, and saving the settings does not
    need it): ticket actions are still attempted. Database only.
    """
    settings = settings or AutotaskSettings.load()
    if not settings.enabled:
        return None
    env_config = settings.active_environment()
    if env_config.last_test_ok is not False:
        return None
    when = (
        timezone.localtime(env_config.last_tested_at).strftime("%Y-%m-%d %H:%M")
        if env_config.last_tested_at
        else "recently"
    )
    return (
        f"Autotask is enabled, but the last connection test ({env_config.get_environment_display()}, {when}) "
        f"failed: {env_config.last_test_message} Ticket actions will fail until Autotask answers again; "
        "use Test connection on the Autotask settings page to check."
    )


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

    internal = [
        r for r in of(ReferenceKind.NOTE_PUBLISH) if not is_customer_visible_publish(r.label, r.value)
    ]
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
