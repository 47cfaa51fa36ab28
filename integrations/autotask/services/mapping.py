"""Phase 3: customer ↔ Autotask company mapping (by company id; the name is only a cached label).

Public API (fixed): search_companies, map_customer, unmap_customer, mapping_for, check_mappings.
Also: acknowledge_rename, suggest_companies, mapping_problems, effective_status.

Rules (docs/autotask-mapping.md):
- The Autotask company id is leading. `company_name` is a cached label that a check refreshes; a rename in
  Autotask never breaks a mapping, and a Backupchecks customer's own name is never changed.
- A mapping is made only by a person's explicit choice (`map_customer`); nothing here maps automatically.
  `suggest_companies` only proposes.
- A mapping belongs to one tenant: the active environment and the database id its last successful
  connection test recorded. A mapping stored for another database id is `invalid`.
- Every verb checks its preconditions first and raises `ActionRefused` (zero Autotask requests) when one
  fails: the integration disabled (no Autotask call while disabled), credentials incomplete, or the
  connection never tested (no database id). No Autotask call runs inside a database transaction.
"""

import difflib
import logging
import re
import unicodedata
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from integrations.autotask.client import IN_LIST_LIMIT, PAGE_SIZE
from integrations.autotask.exceptions import AutotaskConfigurationError, AutotaskError
from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    CompanyMapping,
    MappingStatus,
)

from . import ActionRefused
from .connection import build_client, credentials_for

logger = logging.getLogger(__name__)

#: most results a search returns (the customer screen shows at most 25)
SEARCH_LIMIT = 25
#: shortest search text (shorter texts would match a large part of the tenant)
SEARCH_MIN_CHARS = 2
#: company ids per check query: every id of an `in` list is one OR condition, Autotask allows 500 per
#: query (reference §4.2) and the check query has no other OR condition
CHECK_BATCH_SIZE = IN_LIST_LIMIT
#: the Companies fields each operation reads (IncludeFields; the client always adds `id`)
SEARCH_FIELDS = ["id", "companyName", "isActive", "city", "phone", "companyType"]
CHECK_FIELDS = ["id", "companyName", "isActive"]


@dataclass(frozen=True)
class CompanyMatch:
    """One Autotask company as a search shows it. `city`/`phone` are "" when Autotask has none."""

    id: int
    name: str
    is_active: bool
    city: str
    phone: str = ""
    #: Companies.companyType picklist value (1 Customer, 3 Prospect, 7 Vendor …), None when absent
    company_type: int | None = None
    #: for suggestions: "exact" (same name, ignoring case and spacing) or "close"
    match: str = ""

    @property
    def detail(self):
        """The distinguishing detail shown next to the name: city, else phone."""
        return self.city or self.phone


@dataclass
class MappingCheckResult:
    """What a check found. `counts` has every MappingStatus value as a key (zeros included)."""

    counts: dict = field(default_factory=lambda: {status.value: 0 for status in MappingStatus})
    #: mappings whose status was determined (the invalid ones included)
    checked: int = 0
    #: mappings whose status, cached name or previous name changed
    changed: int = 0
    #: Autotask requests made (zone discovery not counted)
    api_calls: int = 0

    def summary_line(self):
        """`ok N · renamed N · inactive N · missing N · invalid N`"""
        return " · ".join(f"{status.value} {self.counts[status.value]}" for status in MappingStatus)


# --- preconditions ----------------------------------------------------------------------------------


def mapping_problems(settings=None, env_config=None):
    """Why mappings cannot be searched, made or checked now, as operator sentences; [] when they can.

    Database only (never the API): the integration enabled, the active environment's credentials
    complete, and a database id known from a successful connection test. Ticket defaults do not matter
    for mapping.
    """
    settings = settings or AutotaskSettings.load()
    if not settings.enabled:
        return [
            "The Autotask integration is disabled: enable it under Extensions & Integrations → Autotask "
            "(no Autotask call is made while it is disabled)."
        ]
    env_config = env_config or settings.active_environment()
    env_name = env_config.get_environment_display()
    if not env_config.has_credentials:
        return [
            f"The {env_name} Autotask credentials are incomplete: complete them in the Autotask settings."
        ]
    if env_config.database_id is None:
        return [
            f"The {env_name} Autotask connection has never been tested successfully: test it in the "
            "Autotask settings first (the test tells which Autotask database the mappings belong to)."
        ]
    return []


def _tenant():
    """(settings, env_config) of the active environment, or ActionRefused. Database only."""
    settings = AutotaskSettings.load()
    problems = mapping_problems(settings)
    if problems:
        code = "disabled" if not settings.enabled else "not_configured"
        raise ActionRefused(problems[0], code=code)
    return settings, settings.active_environment()


def _verify_tenant(client, env_config):
    """Refuse to work on another tenant than the one the mappings were made for.

    Zone discovery is cached by the client (0 calls when warm, 1 unauthenticated call when cold). When
    Autotask does not report the database id (`ci`), the stored one is trusted.
    """
    zone = client.zone_information()
    if zone.database_id is not None and zone.database_id != env_config.database_id:
        raise AutotaskConfigurationError(
            f"The {env_config.get_environment_display()} credentials now reach Autotask database "
            f"{zone.database_id}, but the last connection test recorded database {env_config.database_id}.",
            hint="test the connection again in the Autotask settings; mappings of the old database then "
            "show as invalid",
        )


def _customer_label(customer):
    return f"“{customer.name}”"


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveTenant:
    """What pages need to know about the active Autotask tenant, read without writing anything."""

    enabled: bool
    environment: str
    environment_label: str
    #: from the last successful connection test; None = never tested
    database_id: int | None


def active_tenant():
    """The active environment and its database id. Two queries, no writes (safe for GET pages: unlike
    `AutotaskSettings.load()` it never creates the settings rows)."""
    from integrations.autotask.models import Environment, EnvironmentConfig

    settings = AutotaskSettings.objects.filter(pk=1).first() or AutotaskSettings()
    env_config = EnvironmentConfig.objects.filter(environment=settings.environment).first()
    return ActiveTenant(
        enabled=settings.enabled,
        environment=settings.environment,
        environment_label=Environment(settings.environment).label,
        database_id=env_config.database_id if env_config else None,
    )


def mapping_for(customer):
    """The customer's CompanyMapping in the active environment, or None (unmapped). No API call.

    The mapping may be unusable (status inactive/missing/invalid, or stored for another database id than
    the active tenant's): callers that act on it check `mapping.is_usable` and the database id.
    """
    environment = AutotaskSettings.load().environment
    return CompanyMapping.objects.filter(customer=customer, environment=environment).first()


def mapping_problem(customer, mapping, env_config):
    """Why `customer`'s company `mapping` (from `mapping_for`, may be None) cannot be used in the active
    tenant `env_config`, as an ActionRefused to raise — or None when it is usable (status ok/renamed and
    stored for the active database id). Database only, no query.

    The ONE wording of a mapping state for every action (create, link, bulk and single; resolve does not
    depend on the mapping): codes "unmapped", "mapping_unusable" (status inactive/missing/invalid) and
    "mapping_other_tenant" (stored for another Autotask database: shown as invalid, as the mapping badge
    shows it — `effective_status`).
    """
    env_name = env_config.get_environment_display()
    if mapping is None or mapping.environment != env_config.environment:
        return ActionRefused(
            f"Customer “{customer.name}” is not mapped to an Autotask company in {env_name}: map it on the "
            "customer's page first.",
            code="unmapped",
        )
    prefix = (
        f"The Autotask company mapping of customer “{customer.name}” ({mapping.company_name}, "
        f"id {mapping.company_id}) is not usable"
    )
    if env_config.database_id is not None and mapping.database_id != env_config.database_id:
        return ActionRefused(
            f"{prefix} (invalid: it belongs to Autotask database {mapping.database_id}, but {env_name} is "
            f"database {env_config.database_id}): map the customer again on the customer's page.",
            code="mapping_other_tenant",
        )
    if not mapping.is_usable:
        return ActionRefused(
            f"{prefix} ({mapping.get_status_display().lower()}): check the mapping on the customer's page.",
            code="mapping_unusable",
        )
    return None


def effective_status(mapping, database_id):
    """The status to show for `mapping` when the active tenant is `database_id` (None = unknown).

    A mapping stored for another database id is invalid even before a check has said so. Database only.
    """
    if mapping is None:
        return None
    if database_id is not None and mapping.database_id != database_id:
        return MappingStatus.INVALID
    return MappingStatus(mapping.status)


def _casefold(text):
    return unicodedata.normalize("NFKC", text).casefold()


def _to_match(item, match=""):
    company_type = item.get("companyType")
    try:
        company_type = int(company_type) if company_type is not None else None
    except (TypeError, ValueError):
        company_type = None
    return CompanyMatch(
        id=int(item["id"]),
        name=str(item.get("companyName") or ""),
        is_active=bool(item.get("isActive", True)),
        city=str(item.get("city") or ""),
        phone=str(item.get("phone") or ""),
        company_type=company_type,
        match=match,
    )


def _rank(text, name):
    """Sort key: the exact name first, then names starting with the text, then words starting with it."""
    needle, hay = _casefold(text), _casefold(name)
    if hay == needle:
        return 0
    if hay.startswith(needle):
        return 1
    if any(word.startswith(needle) for word in hay.split()):
        return 2
    return 3


def search_companies(text, *, include_inactive=False, limit=SEARCH_LIMIT):
    """Autotask companies whose name contains `text` (case-insensitive), best matches first.

    Returns at most `limit` (1–500) CompanyMatch: the exact name first, then names starting with the text,
    then names with a word starting with it, then the rest, each group by name. Active companies only
    unless `include_inactive`. The text is sent exactly as typed (stripped of surrounding spaces) in the
    JSON body: `&`, `<`, quotes, accents and non-Latin letters are never escaped.

    Cost: one API call (one page of up to 500 matches, ranked here; Autotask itself orders by id), plus
    zone discovery when the client's zone cache is cold. Read-only, so safe to repeat.
    Raises ActionRefused (zero calls) when the text is shorter than 2 characters or the integration is
    disabled or not configured; AutotaskError when Autotask fails.
    """
    text = (text or "").strip()
    if len(text) < SEARCH_MIN_CHARS:
        raise ActionRefused(f"Type at least {SEARCH_MIN_CHARS} characters to search.", code="text_too_short")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {PAGE_SIZE}")
    _, env_config = _tenant()
    filters = [{"op": "contains", "field": "companyName", "value": text}]
    if not include_inactive:
        filters.append({"op": "eq", "field": "isActive", "value": True})
    with build_client(credentials_for(env_config)) as client:
        _verify_tenant(client, env_config)
        items = list(client.query("Companies", filters, include_fields=SEARCH_FIELDS, max_records=PAGE_SIZE))
    matches = [_to_match(item) for item in items if isinstance(item, dict) and item.get("id") is not None]
    matches.sort(key=lambda m: (_rank(text, m.name), _casefold(m.name), m.id))
    return matches[:limit]


# --- mapping ----------------------------------------------------------------------------------------


def _conflict(environment, database_id, company_id, customer):
    """The other customer's mapping of this company in this tenant, or None."""
    return (
        CompanyMapping.objects.filter(environment=environment, database_id=database_id, company_id=company_id)
        .exclude(customer=customer)
        .select_related("customer")
        .first()
    )


def _already_mapped(other, company_id):
    return ActionRefused(
        f"Autotask company {other.company_name} ({company_id}) is already mapped to customer "
        f"{_customer_label(other.customer)}. Unmap it there first.",
        code="already_mapped",
    )


def map_customer(customer, company_id, *, user=None):
    """Map `customer` to Autotask company `company_id` in the active environment; returns the mapping.

    Reads the company once (its name, whether it is active) and stores company id, name, environment,
    database id, who and when; status `ok`, or `inactive` for an inactive company. Replaces the customer's
    earlier mapping in this environment (audited with the old company id); mappings of the other
    environment are kept.

    Idempotent: mapping to the same company again refreshes the cached name (one read each time).
    Cost: one API call (+ zone discovery when the zone cache is cold), made outside any transaction.
    Raises ActionRefused — the integration disabled or not configured, an invalid id, or the company
    already mapped to another customer in this tenant (zero calls); or the company does not exist or is
    not visible to the API user (after the one read). AutotaskError when Autotask fails (audited).
    """
    if isinstance(company_id, bool) or not isinstance(company_id, int) or company_id < 0:
        raise ActionRefused("An Autotask company id is a whole number.", code="invalid_company_id")
    _, env_config = _tenant()
    environment, database_id = env_config.environment, env_config.database_id
    other = _conflict(environment, database_id, company_id, customer)
    if other is not None:
        raise _already_mapped(other, company_id)

    try:
        with build_client(credentials_for(env_config)) as client:
            _verify_tenant(client, env_config)
            items = list(
                client.query(
                    "Companies",
                    [{"op": "eq", "field": "id", "value": company_id}],
                    include_fields=SEARCH_FIELDS,
                    max_records=1,
                )
            )
    except AutotaskError as exc:
        AuditEvent.record_failure(
            "map_company", exc, user=user, environment=environment, customer=customer, company_id=company_id
        )
        raise
    if not items:
        AuditEvent.record(
            "map_company",
            user=user,
            environment=environment,
            outcome="refused",
            message=f"Autotask company {company_id} does not exist.",
            customer=customer,
            company_id=company_id,
            database_id=database_id,
        )
        raise ActionRefused(
            f"Autotask company {company_id} does not exist (or the API user cannot see it).",
            code="company_not_found",
        )
    company = _to_match(items[0])
    now = timezone.now()
    try:
        with transaction.atomic():
            mapping = (
                CompanyMapping.objects.select_for_update()
                .filter(customer=customer, environment=environment)
                .first()
            )
            replaced = None
            if mapping is None:
                mapping = CompanyMapping(customer=customer, environment=environment)
            elif (mapping.database_id, mapping.company_id) != (database_id, company_id):
                replaced = {"company_id": mapping.company_id, "database_id": mapping.database_id}
            mapping.database_id = database_id
            mapping.company_id = company_id
            mapping.company_name = company.name[:255]
            mapping.previous_name = ""
            mapping.status = MappingStatus.OK if company.is_active else MappingStatus.INACTIVE
            mapping.last_checked_at = now
            mapping.mapped_by = user if getattr(user, "is_authenticated", False) else None
            mapping.mapped_at = now
            mapping.save()
            AuditEvent.record(
                "map_company",
                user=user,
                environment=environment,
                message=f"Mapped to Autotask company {company.name} ({company_id}).",
                customer=customer,
                company_id=company_id,
                company_name=company.name,
                database_id=database_id,
                status=mapping.status,
                replaced=replaced,
            )
    except IntegrityError:
        # Another person mapped this company to another customer between the check above and now.
        other = _conflict(environment, database_id, company_id, customer)
        if other is None:
            raise
        raise _already_mapped(other, company_id) from None
    return mapping


def unmap_customer(customer, *, user=None):
    """Remove the customer's mapping in the active environment (the other environment's is kept).

    No API call, so allowed while the integration is disabled. Idempotent: unmapping an unmapped customer
    does nothing (and records nothing). Audited with the company id and name.
    """
    environment = AutotaskSettings.load().environment
    with transaction.atomic():
        mapping = (
            CompanyMapping.objects.select_for_update()
            .filter(customer=customer, environment=environment)
            .first()
        )
        if mapping is None:
            return None
        mapping.delete()
        AuditEvent.record(
            "unmap_company",
            user=user,
            environment=environment,
            message=f"Unmapped from Autotask company {mapping.company_name} ({mapping.company_id}).",
            customer=customer,
            company_id=mapping.company_id,
            company_name=mapping.company_name,
            database_id=mapping.database_id,
        )
    return None


def acknowledge_rename(customer, *, user=None):
    """A person has seen that the mapped company was renamed in Autotask: forget the old name.

    Status `renamed` becomes `ok`; for another status only the remembered old name is cleared. No API
    call. Returns the mapping, or None when the customer has none in the active environment. Idempotent:
    nothing to acknowledge → nothing changes, nothing is recorded.
    """
    environment = AutotaskSettings.load().environment
    with transaction.atomic():
        mapping = (
            CompanyMapping.objects.select_for_update()
            .filter(customer=customer, environment=environment)
            .first()
        )
        if mapping is None or not mapping.previous_name:
            return mapping
        old_name = mapping.previous_name
        mapping.previous_name = ""
        if mapping.status == MappingStatus.RENAMED:
            mapping.status = MappingStatus.OK
        mapping.save(update_fields=["previous_name", "status"])
        AuditEvent.record(
            "acknowledge_rename",
            user=user,
            environment=environment,
            message=f"Rename acknowledged: {old_name} → {mapping.company_name}.",
            customer=customer,
            company_id=mapping.company_id,
            old_name=old_name,
            new_name=mapping.company_name,
        )
    return mapping


# --- checking ---------------------------------------------------------------------------------------


def _status_for(found, previous_name):
    if found is None:
        return MappingStatus.MISSING
    if not found["is_active"]:
        return MappingStatus.INACTIVE
    return MappingStatus.RENAMED if previous_name else MappingStatus.OK


def _apply(mapping, found, now):
    """Update `mapping` in memory from what Autotask said; returns the audit data of a change or None."""
    before = (mapping.status, mapping.company_name, mapping.previous_name)
    if found is not None:
        name = found["name"][:255]
        if name != mapping.company_name:
            if name == mapping.previous_name:
                mapping.previous_name = ""  # renamed back to the acknowledged-or-not old name
            elif not mapping.previous_name:
                mapping.previous_name = mapping.company_name
            mapping.company_name = name
    mapping.status = _status_for(found, mapping.previous_name)
    mapping.last_checked_at = now
    after = (mapping.status, mapping.company_name, mapping.previous_name)
    if after == before:
        return None
    return {
        "company_id": mapping.company_id,
        "from_status": before[0],
        "to_status": after[0],
        "from_name": before[1],
        "to_name": after[1],
    }


def _record_batch(batch, found_by_id, now, user, environment):
    """Store one batch's outcome in one short transaction; returns (statuses, changes)."""
    statuses = []
    with transaction.atomic():
        # Re-read under lock: a person may have unmapped or re-mapped a customer meanwhile; only rows that
        # still point at the company we asked about are updated.
        current = {
            m.pk: m
            for m in CompanyMapping.objects.select_for_update()
            .filter(pk__in=[m.pk for m in batch])
            .select_related("customer")
        }
        changed, checked_pks = [], []
        for asked in batch:
            mapping = current.get(asked.pk)
            if mapping is None or (mapping.company_id, mapping.database_id) != (
                asked.company_id,
                asked.database_id,
            ):
                continue
            change = _apply(mapping, found_by_id.get(mapping.company_id), now)
            checked_pks.append(mapping.pk)
            statuses.append(mapping.status)
            if change:
                changed.append(mapping)
                AuditEvent.record(
                    "mapping_status",
                    user=user,
                    environment=environment,
                    message=_change_message(change),
                    customer=mapping.customer,
                    database_id=mapping.database_id,
                    **change,
                )
        # Usually nothing changed: one UPDATE for the check time, and a row-by-row save only for changes
        # (Django's bulk_update builds a CASE per field and row, which is slow for 500 rows).
        CompanyMapping.objects.filter(pk__in=checked_pks).update(last_checked_at=now)
        for mapping in changed:
            mapping.save(update_fields=["company_name", "previous_name", "status"])
        changes = len(changed)
    return statuses, changes


def _change_message(change):
    if change["from_name"] != change["to_name"]:
        text = f"Autotask company {change['company_id']} renamed: {change['from_name']} → {change['to_name']}"
    else:
        text = f"Autotask company {change['to_name']} ({change['company_id']})"
    if change["from_status"] != change["to_status"]:
        text += f"; status {change['from_status']} → {change['to_status']}"
    return text + "."


def _mark_invalid(mappings, now, user, environment, database_id):
    """Mappings stored for another database id than the active tenant's: invalid, without an API call."""
    statuses, changes = [], 0
    with transaction.atomic():
        for mapping in (
            CompanyMapping.objects.select_for_update()
            .filter(pk__in=[m.pk for m in mappings])
            .exclude(database_id=database_id)
            .select_related("customer")
        ):
            statuses.append(MappingStatus.INVALID)
            if mapping.status != MappingStatus.INVALID:
                changes += 1
                AuditEvent.record(
                    "mapping_status",
                    user=user,
                    environment=environment,
                    message=f"Autotask company {mapping.company_name} ({mapping.company_id}) belongs to database "
                    f"{mapping.database_id}, not the active database {database_id}; status {mapping.status} → "
                    "invalid.",
                    customer=mapping.customer,
                    company_id=mapping.company_id,
                    from_status=mapping.status,
                    to_status=MappingStatus.INVALID.value,
                    database_id=mapping.database_id,
                )
            mapping.status = MappingStatus.INVALID
            mapping.last_checked_at = now
            mapping.save(update_fields=["status", "last_checked_at"])
    return statuses, changes


def check_mappings(customers=None, *, user=None, progress=None):
    """Re-read every mapped company of the active environment and update cached names and statuses.

    `customers`: None = every mapping of the active environment; else an iterable of customers (or a
    queryset). Mappings of the other environment are never touched. A mapping stored for another database
    id than the active tenant's becomes `invalid` without an API call. The others are read in batches of
    at most 500 ids (`id in [...]`: 500 OR conditions, Autotask's limit, reference §4.2), only
    id/companyName/isActive: not found → `missing`, inactive → `inactive`, a new name → the cached name
    updated, the old one kept and `renamed` until acknowledged (`acknowledge_rename`), else `ok`.
    Every change is an AuditEvent; one `check_mappings` event records the counts.

    `progress(n)` (optional) is called after each batch with the number of mappings it covered.
    Cost: ⌈N/500⌉ API calls for N mappings of the active tenant (+ zone discovery when cold). Each batch
    is recorded in its own short transaction after its call, so a failure keeps earlier batches' results.
    Idempotent: a second check with nothing changed in Autotask changes nothing but `last_checked_at`.
    Raises ActionRefused (zero calls) when disabled or not configured; AutotaskError (audited) on failure.
    """
    _, env_config = _tenant()
    environment, database_id = env_config.environment, env_config.database_id
    mappings = CompanyMapping.objects.filter(environment=environment).order_by("company_id", "pk")
    if customers is not None:
        mappings = mappings.filter(customer__in=customers)
    mappings = list(mappings.only("pk", "company_id", "database_id", "customer_id"))
    result = MappingCheckResult()
    now = timezone.now()

    def count(statuses):
        for status in statuses:
            result.counts[MappingStatus(status).value] += 1
        result.checked += len(statuses)

    stale = [m for m in mappings if m.database_id != database_id]
    current = [m for m in mappings if m.database_id == database_id]
    if stale:
        statuses, changes = _mark_invalid(stale, now, user, environment, database_id)
        count(statuses)
        result.changed += changes
        if progress:
            progress(len(stale))
    try:
        if current:
            with build_client(credentials_for(env_config)) as client:
                _verify_tenant(client, env_config)
                for start in range(0, len(current), CHECK_BATCH_SIZE):
                    batch = current[start : start + CHECK_BATCH_SIZE]
                    ids = sorted({m.company_id for m in batch})
                    items = client.query(
                        "Companies",
                        [{"op": "in", "field": "id", "value": ids}],
                        include_fields=CHECK_FIELDS,
                        max_records=len(ids),
                    )
                    found = {
                        int(item["id"]): {
                            "name": str(item.get("companyName") or ""),
                            "is_active": bool(item.get("isActive", True)),
                        }
                        for item in items
                        if isinstance(item, dict) and item.get("id") is not None
                    }
                    result.api_calls += 1
                    statuses, changes = _record_batch(batch, found, timezone.now(), user, environment)
                    count(statuses)
                    result.changed += changes
                    if progress:
                        progress(len(batch))
    except AutotaskError as exc:
        AuditEvent.record_failure(
            "check_mappings", exc, user=user, environment=environment, checked=result.checked
        )
        raise
    AuditEvent.record(
        "check_mappings",
        user=user,
        environment=environment,
        message=f"Checked {result.checked} mapping{pluralize(result.checked)}: {result.summary_line()}.",
        database_id=database_id,
        counts=result.counts,
        checked=result.checked,
        changed=result.changed,
        api_calls=result.api_calls,
    )
    return result


# --- suggestions for unmapped customers -------------------------------------------------------------

#: legal forms and filler words ignored when comparing names ("Harbor Logistics B.V." ≈ "Harbor Logistics")
_NOISE_WORDS = {
    "bv", "b.v.", "b.v", "nv", "n.v.", "ltd", "ltd.", "limited", "inc", "inc.", "llc", "gmbh", "group",
    "&", "and", "en", "partners", "co", "co.", "the", "de", "het", "plc", "sa", "ag",
}  # fmt: skip
_WORD = re.compile(r"[\w&]+(?:\.[\w]+)*\.?", re.UNICODE)
#: SequenceMatcher ratio of the normalised names from which a company is a "close" match
CLOSE_MATCH_RATIO = 0.8
#: OR conditions each customer adds to a suggestion query (exact name + first significant word)
_CONDITIONS_PER_CUSTOMER = 2


def _normalised(name):
    words = [w for w in _WORD.findall(_casefold(name)) if w not in _NOISE_WORDS]
    return " ".join(w.strip(".") for w in words)


def _key_word(name):
    """The first word of at least 3 letters that is not a legal form: what a suggestion query searches."""
    for word in _normalised(name).split():
        if len(word) >= 3:
            return word
    return None


def suggest_companies(customers, *, per_customer=3):
    """Exact and close Autotask name matches for customers that have no mapping in the active environment.

    Never maps anything: a person confirms each suggestion (map_customer). Returns {customer: [CompanyMatch]}
    (each `match` is "exact" or "close", exact first; at most `per_customer` each) for the given customers
    that are unmapped; companies already mapped in this tenant are left out; active companies only.
    Cost: ⌈N/250⌉ API calls for N unmapped customers (each adds two OR conditions — its exact name and its
    first significant word — to stay within Autotask's 500 per query); each call reads up to 500 companies.
    Read-only. Raises ActionRefused (zero calls) when disabled or not configured; AutotaskError on failure.
    """
    _, env_config = _tenant()
    environment, database_id = env_config.environment, env_config.database_id
    mapped_customer_ids = set(
        CompanyMapping.objects.filter(environment=environment).values_list("customer_id", flat=True)
    )
    unmapped = [c for c in customers if c.pk not in mapped_customer_ids]
    taken = set(
        CompanyMapping.objects.filter(environment=environment, database_id=database_id).values_list(
            "company_id", flat=True
        )
    )
    suggestions = {customer: [] for customer in unmapped}
    if not unmapped:
        return suggestions
    per_query = IN_LIST_LIMIT // _CONDITIONS_PER_CUSTOMER
    candidates = {}
    with build_client(credentials_for(env_config)) as client:
        _verify_tenant(client, env_config)
        for start in range(0, len(unmapped), per_query):
            conditions = []
            for customer in unmapped[start : start + per_query]:
                conditions.append({"op": "eq", "field": "companyName", "value": customer.name})
                word = _key_word(customer.name)
                if word:
                    conditions.append({"op": "contains", "field": "companyName", "value": word})
            filters = [{"op": "eq", "field": "isActive", "value": True}, {"op": "or", "items": conditions}]
            for item in client.query(
                "Companies", filters, include_fields=SEARCH_FIELDS, max_records=PAGE_SIZE
            ):
                if isinstance(item, dict) and item.get("id") is not None:
                    candidates.setdefault(int(item["id"]), item)
    for customer in unmapped:
        wanted, wanted_norm = _casefold(customer.name.strip()), _normalised(customer.name)
        found = []
        for item in candidates.values():
            if int(item["id"]) in taken:
                continue
            name = str(item.get("companyName") or "")
            if _casefold(name.strip()) == wanted:
                found.append((0, 1.0, _to_match(item, "exact")))
                continue
            ratio = difflib.SequenceMatcher(None, wanted_norm, _normalised(name)).ratio()
            if ratio >= CLOSE_MATCH_RATIO:
                found.append((1, -ratio, _to_match(item, "close")))
        found.sort(key=lambda row: (row[0], row[1], _casefold(row[2].name)))
        suggestions[customer] = [row[2] for row in found[:per_customer]]
    return suggestions
