"""The reference-data cache: queues, ticket sources, priorities, statuses, ticket types, note types and
note visibilities of one tenant, read from Autotask's field metadata.

Autotask has no Queues or Sources entities: they are picklists on `Tickets/entityInformation/fields`
(docs/autotask-api.md §6.6); note types and visibility are on `TicketNotes/entityInformation/fields`. One refresh is
therefore zone discovery (cached by the client) + 2 calls — within the budget of 3.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integrations.autotask.exceptions import AutotaskError, AutotaskServerError
from integrations.autotask.models import REFERENCE_FIELDS, AuditEvent, ReferenceKind, ReferenceValue

from .connection import build_client, credentials_for

#: plural labels for counts ("5 queues") — the words the settings page and the commands use
KIND_PLURALS = {
    ReferenceKind.QUEUE: "queues",
    ReferenceKind.SOURCE: "ticket sources",
    ReferenceKind.PRIORITY: "priorities",
    ReferenceKind.STATUS: "ticket statuses",
    ReferenceKind.TICKET_TYPE: "ticket types",
    ReferenceKind.NOTE_TYPE: "note types",
    ReferenceKind.NOTE_PUBLISH: "note visibilities",
}


def count_text(kind, count, inactive=0):
    """ "5 queues (1 inactive)", "1 ticket source" — never the internal kind name."""
    label = ReferenceKind(kind).label.lower() if count == 1 else KIND_PLURALS[kind]
    return f"{count} {label}" + (f" ({inactive} inactive)" if inactive else "")


def counts_text(counts, inactive):
    """One phrase for every kind, in the settings page's order: "5 queues (1 inactive), 3 priorities, …"."""
    return ", ".join(
        count_text(kind, counts[kind], inactive.get(kind, 0)) for kind in ReferenceKind if kind in counts
    )


@dataclass(frozen=True)
class RefreshResult:
    database_id: int
    counts: dict  # kind -> number of values (active + inactive)
    inactive: dict  # kind -> number of inactive values

    @property
    def counts_text(self):
        return counts_text(self.counts, self.inactive)

    def as_dict(self):
        """JSON-friendly, keyed by the words people read ("note visibilities"), not internal kind names."""
        return {
            "database_id": self.database_id,
            "counts": {
                KIND_PLURALS[kind]: {"total": self.counts[kind], "inactive": self.inactive.get(kind, 0)}
                for kind in ReferenceKind
                if kind in self.counts
            },
        }


def parse_picklist(fields, field_name):
    """Picklist values of `field_name` from an entityInformation/fields list.

    Field names compare case-insensitively (Autotask is case-insensitive); picklist values arrive as
    strings (docs/autotask-api.md §3) and are stored as integers.
    """
    for field in fields:
        if str(field.get("name", "")).lower() == field_name.lower():
            values = []
            for raw in field.get("picklistValues") or []:
                try:
                    value = int(str(raw["value"]).strip())
                except (KeyError, TypeError, ValueError):
                    continue  # a non-numeric value cannot be sent back as an id
                values.append(
                    {
                        "value": value,
                        "label": str(raw.get("label") or value),
                        "is_active": bool(raw.get("isActive", True)),
                        "is_default": bool(raw.get("isDefaultValue", False)),
                        "is_system": bool(raw.get("isSystem", False)),
                        "sort_order": int(raw.get("sortOrder") or 0),
                    }
                )
            return values
    return []


def fetch_reference_data(client):
    """Read every picklist Backupchecks uses. Returns (database_id, {kind: [values]})."""
    zone = client.zone_information()
    if zone.database_id is None:
        # The cache is keyed by (environment, database id) so that one tenant's picklist ids are never
        # offered for another; without `ci` (docs/autotask-api.md §1.2) there is nothing safe to key it by.
        raise AutotaskServerError(
            "Autotask's zone discovery answer did not include the database id ('ci'), which Backupchecks "
            "needs to keep each Autotask database's reference data apart.",
            entity="zoneInformation",
            retryable=False,
            hint="report this to the Backupchecks maintainers together with the zone name "
            f"({zone.name or 'unknown'})",
        )
    fields_by_entity = {}
    for entity in sorted({entity for entity, _ in REFERENCE_FIELDS.values()}):
        fields_by_entity[entity] = client.field_info(entity)
    parsed = {
        kind: parse_picklist(fields_by_entity[entity], field)
        for kind, (entity, field) in REFERENCE_FIELDS.items()
    }
    if not parsed["queue"] and not parsed["priority"]:
        raise AutotaskServerError(
            "Autotask returned no ticket picklists; the API user may lack access to Tickets."
        )
    return zone.database_id, parsed


def store_reference_data(environment, database_id, parsed, *, now=None):
    """Replace the cache of one tenant. Values no longer listed are kept but marked not present."""
    now = now or timezone.now()
    with transaction.atomic():
        existing = {
            (v.kind, v.value): v
            for v in ReferenceValue.objects.select_for_update().filter(
                environment=environment, database_id=database_id
            )
        }
        seen = set()
        to_create, to_update = [], []
        for kind, values in parsed.items():
            for item in values:
                key = (kind, item["value"])
                seen.add(key)
                row = existing.get(key)
                if row is None:
                    to_create.append(
                        ReferenceValue(
                            environment=environment,
                            database_id=database_id,
                            kind=kind,
                            fetched_at=now,
                            **item,
                        )
                    )
                    continue
                for attr, val in item.items():
                    setattr(row, attr, val)
                row.is_present = True
                row.fetched_at = now
                to_update.append(row)
        for key, row in existing.items():
            if key not in seen and row.is_present:
                row.is_present = False
                row.fetched_at = now
                to_update.append(row)
        fields = ["label", "is_active", "is_default", "is_system", "sort_order", "is_present", "fetched_at"]
        # An upsert: a concurrent refresh of the same tenant (a double-clicked button) may have inserted
        # some of these rows since the read above; this refresh's values replace them instead of failing.
        ReferenceValue.objects.bulk_create(
            to_create,
            update_conflicts=True,
            unique_fields=["environment", "database_id", "kind", "value"],
            update_fields=fields,
        )
        ReferenceValue.objects.bulk_update(to_update, fields)


def refresh_reference_data_with(credentials, environment, *, user=None):
    """Fetch and cache the picklists of the tenant `credentials` reach, under `environment`.

    For `autotask_refresh_reference --from-env`: stores no credentials and changes no EnvironmentConfig;
    the cache is keyed by (environment, database id), so another tenant's values never mix with the stored
    one's. At most 3 API calls; raises AutotaskError (recorded in the audit log). Idempotent.
    """
    try:
        with build_client(credentials) as client:
            database_id, parsed = fetch_reference_data(client)
    except AutotaskError as exc:
        AuditEvent.record_failure("refresh_reference", exc, user=user, environment=environment)
        raise
    store_reference_data(environment, database_id, parsed)
    return _record_refresh(environment, database_id, parsed, user)


def _record_refresh(environment, database_id, parsed, user):
    counts = {kind: len(values) for kind, values in parsed.items()}
    inactive = {kind: sum(1 for v in values if not v["is_active"]) for kind, values in parsed.items()}
    AuditEvent.record(
        "refresh_reference",
        user=user,
        environment=environment,
        message=f"Cached {sum(counts.values())} values from database {database_id}.",
        database_id=database_id,
        counts=counts,
    )
    return RefreshResult(database_id=database_id, counts=counts, inactive=inactive)


def refresh_reference_data(env_config, *, user=None):
    """Fetch and cache the picklists of `env_config`'s tenant. Idempotent: a second call rewrites the same
    rows. Raises AutotaskError (recorded in the audit log) and then leaves the cache untouched."""
    try:
        with build_client(credentials_for(env_config)) as client:
            database_id, parsed = fetch_reference_data(client)
    except AutotaskError as exc:
        AuditEvent.record_failure("refresh_reference", exc, user=user, environment=env_config.environment)
        raise
    store_reference_data(env_config.environment, database_id, parsed)
    if env_config.database_id != database_id:
        env_config.database_id = database_id
        env_config.save(update_fields=["database_id"])
    return _record_refresh(env_config.environment, database_id, parsed, user)


def cached_counts(environment, database_id):
    """(counts, inactive) of the values the last refresh listed, by kind — the numbers a refresh reported.

    One query; values no longer listed by Autotask (kept for old choices' labels) are not counted.
    """
    counts, inactive, fetched_at = {}, {}, None
    rows = ReferenceValue.objects.filter(
        environment=environment, database_id=database_id, is_present=True
    ).only("kind", "is_active", "fetched_at")
    for row in rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
        if not row.is_active:
            inactive[row.kind] = inactive.get(row.kind, 0) + 1
        fetched_at = max(fetched_at, row.fetched_at) if fetched_at else row.fetched_at
    return counts, inactive, fetched_at


def current_values(environment, database_id, kind, *, active_only=True):
    """Cached values of one kind for one tenant, for dropdowns (inactive ones left out by default)."""
    qs = ReferenceValue.objects.filter(
        environment=environment, database_id=database_id, kind=kind, is_present=True
    )
    if active_only:
        qs = qs.filter(is_active=True)
    return qs
