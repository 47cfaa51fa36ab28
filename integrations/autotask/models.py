"""Autotask integration state: the settings singleton, per-environment credentials and defaults, the
reference-data cache and the audit log.

Every Autotask id stored here records the environment (and, for reference data, the database id) it came
from: a sandbox id is never used in production.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from fernet_fields import EncryptedCharField


class Environment(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox"
    PRODUCTION = "production", "Production"


class AutotaskSettings(models.Model):
    """The one Autotask configuration (a singleton: always pk=1, created on first `load()`)."""

    enabled = models.BooleanField(default=False)
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.SANDBOX)
    base_url = models.URLField(
        "Backupchecks base URL",
        blank=True,
        help_text="How Autotask users reach this Backupchecks, e.g. https://backupchecks.example.com "
        "— used for the links in tickets.",
    )
    compatibility_mode = models.BooleanField(
        default=False,
        help_text="Also allow manual ticket numbers and linking existing Autotask tickets while enabled.",
    )
    #: phase 4: some tenants (ticket categories) require a due date on every ticket
    ticket_due_hours = models.PositiveSmallIntegerField(
        "ticket due after (hours)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="New tickets are due this many hours after they are created (Autotask's dueDateTime).",
    )
    #: issue 14: background work (bulk jobs, scheduled checks) pauses when the tenant's hourly usage
    #: reaches this share of Autotask's threshold, so that other integrations keep working
    pacing_ceiling_percent = models.PositiveSmallIntegerField(
        "pause background work at (% of the hourly threshold)",
        default=80,
        validators=[MinValueValidator(50), MaxValueValidator(95)],
        help_text="Bulk jobs and scheduled checks slow down above 50 % of the Autotask database's hourly "
        "API threshold (shared by every integration) and pause at this share until usage falls "
        "(50–95 %). An operator's single clicks are never paused.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "Autotask settings"
        # The entry under "Extensions & Integrations" on the admin index.
        verbose_name_plural = "Autotask"
        permissions = [("manage_autotask", "Can configure the Autotask integration")]

    def __str__(self):
        return "Autotask settings"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def active_environment(self):
        """The EnvironmentConfig of the selected environment (created empty if missing)."""
        return EnvironmentConfig.for_environment(self.environment)


class EnvironmentConfig(models.Model):
    """Credentials, ticket defaults and the last connection test of one environment.

    Kept per environment so that switching Sandbox ↔ Production never loses the other set, and so that
    picklist ids chosen in one tenant are never sent to the other.
    """

    environment = models.CharField(max_length=12, choices=Environment.choices, unique=True)

    # Credentials. Secret and Tracking Identifier are encrypted at rest and write-only in every form.
    username = models.CharField("API username", max_length=254, blank=True)
    secret = EncryptedCharField("API secret", max_length=512, blank=True, default="")
    integration_code = EncryptedCharField(
        "Tracking Identifier (API integration code)", max_length=512, blank=True, default=""
    )
    impersonation_resource_id = models.PositiveBigIntegerField(
        "impersonation resource id",
        null=True,
        blank=True,
        help_text="Optional: writes appear as made by this Autotask resource.",
    )

    # Ticket defaults: picklist values (Autotask ids) of this environment's tenant.
    queue_id = models.BigIntegerField("queue", null=True, blank=True)
    source_id = models.BigIntegerField("ticket source", null=True, blank=True)
    new_ticket_status_id = models.BigIntegerField("status for new tickets", null=True, blank=True)
    warning_priority_id = models.BigIntegerField("priority for Warning runs", null=True, blank=True)
    error_priority_id = models.BigIntegerField("priority for Error runs", null=True, blank=True)
    missed_priority_id = models.BigIntegerField(
        "priority for Missed runs",
        null=True,
        blank=True,
        help_text="Empty: Missed runs use the Error priority.",
    )
    ticket_type_id = models.BigIntegerField("ticket type", null=True, blank=True)
    note_type_id = models.BigIntegerField("note type", null=True, blank=True)
    note_publish_id = models.BigIntegerField("note visibility", null=True, blank=True)
    resolved_status_id = models.BigIntegerField(
        "status that means resolved", null=True, blank=True, help_text="Usually Complete (5)."
    )

    # The last connection test (zone discovery + an authenticated call).
    zone_name = models.CharField(max_length=50, blank=True)
    api_url = models.URLField(blank=True)
    web_url = models.URLField(blank=True)
    database_id = models.BigIntegerField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_message = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "Autotask environment"
        ordering = ["environment"]

    def __str__(self):
        return f"Autotask {self.get_environment_display()}"

    def __repr__(self):
        # Never the secret or the tracking identifier.
        return f"<EnvironmentConfig {self.environment} username={self.username!r}>"

    @classmethod
    def for_environment(cls, environment):
        obj, _ = cls.objects.get_or_create(environment=environment)
        return obj

    @property
    def has_credentials(self):
        return bool(self.username and self.secret and self.integration_code)

    def priority_id_for(self, run_status):
        """The ticket priority (Autotask id) for a run status: "warning", "error" or "missed".

        Missed runs use the Error priority unless a separate Missed priority is chosen. None = not chosen.
        """
        if run_status == "warning":
            return self.warning_priority_id
        if run_status == "error":
            return self.error_priority_id
        if run_status == "missed":
            return self.missed_priority_id if self.missed_priority_id is not None else self.error_priority_id
        raise ValueError(f"No ticket priority for runs with status {run_status!r}.")


class ReferenceKind(models.TextChoices):
    """Picklists Backupchecks reads; (entity, field) as Autotask names them."""

    QUEUE = "queue", "Queue"
    SOURCE = "source", "Ticket source"
    PRIORITY = "priority", "Priority"
    STATUS = "status", "Ticket status"
    TICKET_TYPE = "ticket_type", "Ticket type"
    NOTE_TYPE = "note_type", "Note type"
    NOTE_PUBLISH = "note_publish", "Note visibility"


#: where each kind lives in Autotask's entityInformation/fields
REFERENCE_FIELDS = {
    ReferenceKind.QUEUE: ("Tickets", "queueID"),
    ReferenceKind.SOURCE: ("Tickets", "source"),
    ReferenceKind.PRIORITY: ("Tickets", "priority"),
    ReferenceKind.STATUS: ("Tickets", "status"),
    ReferenceKind.TICKET_TYPE: ("Tickets", "ticketType"),
    ReferenceKind.NOTE_TYPE: ("TicketNotes", "noteType"),
    ReferenceKind.NOTE_PUBLISH: ("TicketNotes", "publish"),
}


class ReferenceValue(models.Model):
    """One cached picklist value of one tenant (environment + database id)."""

    environment = models.CharField(max_length=12, choices=Environment.choices)
    database_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=ReferenceKind.choices)
    value = models.BigIntegerField()
    label = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    is_system = models.BooleanField(default=False)
    sort_order = models.IntegerField(default=0)
    #: False once a refresh no longer lists it (kept so old choices still show a label)
    is_present = models.BooleanField(default=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "sort_order", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "database_id", "kind", "value"], name="reference_value_unique"
            )
        ]

    def __str__(self):
        suffix = "" if self.is_active and self.is_present else " (inactive)"
        return f"{self.label}{suffix}"


def audit_ticket_id(data):
    """The Autotask ticket id an audit event's `data` names (its "ticket_id" key), as an int, or None when
    it names none (missing, None, not a positive whole number). Shared by `AuditEvent`'s writes and the
    0009 backfill, so every path files an event under the same ticket."""
    value = data.get("ticket_id") if isinstance(data, dict) else None
    if isinstance(value, bool):
        return None
    try:
        ticket_id = int(value)
    except (TypeError, ValueError):
        return None
    return ticket_id if 0 < ticket_id <= 2**63 - 1 and str(value).strip() == str(ticket_id) else None


class AuditEventQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """As Django's, filling each event's `ticket_id` from its data first (bulk_create skips save())."""
        objs = list(objs)
        for obj in objs:
            obj.fill_ticket_id()
        return super().bulk_create(objs, *args, **kwargs)


class AuditEvent(models.Model):
    """Who did what to the integration, when, and what came of it. Never holds a secret.

    `ticket_id` (with `environment`) files the event under the Autotask ticket it is about, so every run
    sharing that ticket shows it in its timeline. It is filled from `data["ticket_id"]` on every write
    path — `record()`, `save()`, `objects.create()` and `objects.bulk_create()` — never set by hand.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    environment = models.CharField(max_length=12, choices=Environment.choices, blank=True)
    outcome = models.CharField(max_length=20, default="ok")
    message = models.CharField(max_length=500, blank=True)
    #: names of changed fields, Autotask ids, counts … (for secrets: field names only)
    data = models.JSONField(default=dict, blank=True)
    #: what the event is about, for the audit log's filters and the run's timeline (kept if deleted)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey("runs.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    #: the Autotask ticket id (of `environment`'s tenant) the event is about, from data["ticket_id"]
    ticket_id = models.BigIntegerField("Autotask ticket id", null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "Autotask audit event"
        verbose_name_plural = "Autotask audit log"
        indexes = [
            # a run's timeline: the events about its ticket (OR its own, served by the run_id index);
            # partial, as most events name no ticket
            models.Index(
                fields=["ticket_id", "environment"],
                name="audit_ticket_idx",
                condition=models.Q(ticket_id__isnull=False),
            ),
        ]

    def __str__(self):
        from .audit_text import action_label  # (audit_text imports this module)

        return f"{self.at:%Y-%m-%d %H:%M} {action_label(self.action)} ({self.outcome})"

    def save(self, *args, **kwargs):
        self.fill_ticket_id()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "data" in update_fields and "ticket_id" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "ticket_id"]
        super().save(*args, **kwargs)

    def fill_ticket_id(self):
        """Set `ticket_id` from data["ticket_id"] (see audit_ticket_id)."""
        self.ticket_id = audit_ticket_id(self.data)

    @classmethod
    def record(
        cls, action, *, user=None, environment="", outcome="ok", message="", customer=None, run=None, **data
    ):
        """Store one event. `customer`/`run` (instances or None) say what it was about; `data` must be
        JSON-serialisable and never hold a secret. A `ticket_id=` (Autotask ticket id) in `data` also files
        the event under that ticket of `environment` (the `ticket_id` column): pass the environment with it,
        or no run sharing the ticket shows the event."""
        if run is not None and customer is None:
            customer_id = run.job.customer_id
        else:
            customer_id = getattr(customer, "pk", None)
        return cls.objects.create(
            action=action,
            user=user if getattr(user, "is_authenticated", False) else None,
            environment=environment,
            outcome=outcome,
            message=message[:500],
            data=data,
            customer_id=customer_id,
            run_id=getattr(run, "pk", None),
        )

    @classmethod
    def record_failure(cls, action, exc, *, user=None, environment="", customer=None, run=None, **data):
        """Record a failed action; the message is the error's operator text (never holds a secret)."""
        return cls.record(
            action,
            user=user,
            environment=environment,
            outcome="failed",
            message=str(exc),
            customer=customer,
            run=run,
            error=type(exc).__name__,
            **data,
        )


# --- Phase 3: customer ↔ Autotask company mapping ------------------------------------------------------


class MappingStatus(models.TextChoices):
    """What the last look at a mapped company found. Unmapped customers have no CompanyMapping row."""

    OK = "ok", "OK"
    #: the company's name changed in Autotask; the mapping (by id) is intact, the old name is kept until
    #: a person acknowledges it
    RENAMED = "renamed", "Renamed in Autotask"
    INACTIVE = "inactive", "Inactive in Autotask"
    #: deleted, or no longer visible to the API user
    MISSING = "missing", "Missing in Autotask"
    #: stored for another tenant (database id) or otherwise unusable
    INVALID = "invalid", "Invalid"


#: statuses with which a ticket may be created for the customer (phase 4)
USABLE_MAPPING_STATUSES = (MappingStatus.OK, MappingStatus.RENAMED)


class CompanyMapping(models.Model):
    """An explicit, person-made choice: this customer is this Autotask company (by id) in one tenant.

    The Autotask company id is leading; `company_name` is only a cached label. A customer has at most one
    mapping per environment (switching Sandbox ↔ Production keeps both sets), and one Autotask company maps
    to at most one customer per tenant.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="autotask_mappings"
    )
    environment = models.CharField(max_length=12, choices=Environment.choices)
    database_id = models.BigIntegerField(help_text="The Autotask tenant the company id belongs to.")
    company_id = models.BigIntegerField("Autotask company id")
    company_name = models.CharField("company name (cached)", max_length=255)
    #: the name before an unacknowledged rename; empty otherwise
    previous_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=MappingStatus.choices, default=MappingStatus.OK)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mapped_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Autotask company mapping"
        ordering = ["customer__name"]
        permissions = [("map_company", "Can map customers to Autotask companies")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "environment"], name="mapping_one_per_customer_env"),
            models.UniqueConstraint(
                fields=["environment", "database_id", "company_id"], name="mapping_company_once_per_tenant"
            ),
        ]
        indexes = [models.Index(fields=["environment", "status"], name="mapping_env_status_idx")]

    def __str__(self):
        return f"{self.company_name} ({self.company_id})"

    @property
    def is_usable(self):
        return self.status in USABLE_MAPPING_STATUSES


# --- Phases 4–6: Autotask tickets and the runs they cover ------------------------------------------------


class TicketState(models.TextChoices):
    """Where the exactly-once algorithm (docs/autotask.md) stands for one ticket record."""

    #: claimed locally; the POST may be in flight (a lease: a stale one is taken over and reconciled)
    PENDING = "pending", "Being created"
    #: Autotask has the ticket and we know its id and number
    CREATED = "created", "Created"
    #: the POST was sent but its outcome is not known; the next attempt reconciles by externalID first
    UNKNOWN = "unknown", "Checking Autotask…"


class TicketOrigin(models.TextChoices):
    CREATED = "created", "Created by Backupchecks"
    LINKED = "linked", "Linked to an existing ticket"


class ResolutionOutcome(models.TextChoices):
    CLOSED = "closed", "Note added and ticket closed"
    NOTE_ONLY = "note_only", "Note added; left open (time entries exist)"
    ALREADY_COMPLETE = "already_complete", "Already complete in Autotask"


class ResolutionStep(models.TextChoices):
    """Progress of a resolution that has not finished (phase 5); the retry continues from here."""

    NONE = "", "—"
    #: an attempt holds the claim (a lease); it may be sending the note right now
    CLAIMED = "claimed", "Being resolved"
    #: the note POST was sent but its outcome is not known: the next attempt looks for our note first
    NOTE_UNKNOWN = "note_unknown", "Note may have been added"
    #: our note is in Autotask (resolution_note_id); setting the status is still to do
    NOTE_WRITTEN = "note_written", "Note added; status not yet set"


class SyncProblem(models.TextChoices):
    NONE = "", "—"
    MISSING = "missing", "Missing in Autotask"
    COMPANY_MOVED = "company_moved", "Moved to another company"


class AutotaskTicket(models.Model):
    """One Autotask ticket of one tenant (or the claim to create one), shared by the runs it covers.

    A row in state `pending`/`unknown` has no `ticket_id` yet; `correlation_key` is sent as the ticket's
    `externalID` so an attempt whose outcome is unknown can be reconciled by one query.
    """

    environment = models.CharField(max_length=12, choices=Environment.choices)
    database_id = models.BigIntegerField()
    correlation_key = models.CharField(max_length=50, unique=True)
    state = models.CharField(max_length=10, choices=TicketState.choices, default=TicketState.PENDING)
    origin = models.CharField(max_length=10, choices=TicketOrigin.choices, default=TicketOrigin.CREATED)
    ticket_id = models.BigIntegerField("Autotask ticket id", null=True, blank=True)
    ticket_number = models.CharField(max_length=50, blank=True)
    title = models.CharField(max_length=255, blank=True)
    company_id = models.BigIntegerField("Autotask company id", null=True, blank=True)

    # The last known Autotask status (phase 5 sync); pages show these, never a live value.
    status_id = models.BigIntegerField("last known status", null=True, blank=True)
    is_complete = models.BooleanField(default=False)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    sync_problem = models.CharField(max_length=20, choices=SyncProblem.choices, blank=True, default="")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    #: when the current claim was taken (pending lease) and by whom
    claimed_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Autotask's own text of the last failed attempt (never a secret)
    last_error = models.CharField(max_length=1000, blank=True)

    # Phase 5: resolution from Backupchecks.
    resolution_outcome = models.CharField(max_length=20, choices=ResolutionOutcome.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note_id = models.BigIntegerField(null=True, blank=True)
    resolution_remark = models.CharField(max_length=1000, blank=True)
    #: how far an unfinished resolution got (services/resolution.py); "" = none in progress
    resolution_step = models.CharField(
        max_length=20, choices=ResolutionStep.choices, blank=True, default=ResolutionStep.NONE
    )
    #: when the current resolution attempt was claimed (a lease) and by whom
    resolution_claimed_at = models.DateTimeField(null=True, blank=True)
    resolution_claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: the operator text of the last failed resolution attempt (never a secret)
    resolution_error = models.CharField(max_length=1000, blank=True)

    class Meta:
        verbose_name = "Autotask ticket"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("create_ticket", "Can create Autotask tickets for runs"),
            ("resolve_ticket", "Can resolve Autotask tickets from Backupchecks"),
            ("link_ticket", "Can link existing Autotask tickets to runs"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "database_id", "ticket_id"],
                condition=models.Q(ticket_id__isnull=False),
                name="ticket_once_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "is_complete"], name="ticket_state_complete_idx"),
            # the admin's ticket list, newest first: one page read, not a sort of every ticket
            models.Index(fields=["-created_at", "-id"], name="ticket_list_idx"),
        ]

    def __str__(self):
        return self.ticket_number or f"ticket claim {self.correlation_key} ({self.get_state_display()})"


class RunTicket(models.Model):
    """A run's ticket. The unique `run` makes a concurrent second claim for the same run fail cleanly
    (SQLite and PostgreSQL); several runs may point at one ticket (phase 6)."""

    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, related_name="autotask_link")
    ticket = models.ForeignKey(AutotaskTicket, on_delete=models.PROTECT, related_name="run_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "run's Autotask ticket"

    def __str__(self):
        return f"run {self.run_id} → {self.ticket}"


# --- Issue 14: one API budget across processes (services/budget.py) --------------------------------------


class EndpointLease(models.Model):
    """One of the (usually 3) request slots of one Autotask endpoint of one tenant, shared by every web and
    worker process. A slot is held while `holder` is set and `expires_at` is in the future; a process
    killed mid-request leaves a lease that simply expires (bounded by the client's deadline)."""

    #: whose thread limit: a digest of the Tracking Identifier (never the identifier itself)
    scope = models.CharField(max_length=40)
    #: the endpoint root, casefolded ("tickets" for /Tickets/5/Notes)
    endpoint = models.CharField(max_length=100)
    slot = models.PositiveSmallIntegerField()
    #: "" = free; else a random token of the holding request
    holder = models.CharField(max_length=40, blank=True, default="")
    #: what holds it (background label or "interactive"), for the health page
    holder_label = models.CharField(max_length=100, blank=True, default="")
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Autotask endpoint lease"
        constraints = [
            models.UniqueConstraint(fields=["scope", "endpoint", "slot"], name="endpoint_lease_slot_unique")
        ]

    def __str__(self):
        return f"{self.endpoint} slot {self.slot}"


class PacingState(models.Model):
    """The tenant's hourly API usage as Backupchecks knows it, and whether background work is paused.

    `usage_estimate` = `read_used` (Autotask's count at the last ThresholdInformation read, plus what was
    in flight then) + `reserved_total - reserved_at_read` (requests this installation sent since). Every
    request reserves itself by one conditional UPDATE of `reserved_total`, so several processes never
    push the estimate past the ceiling together."""

    scope = models.CharField(max_length=40, unique=True)
    threshold = models.PositiveIntegerField(null=True, blank=True)
    timeframe_minutes = models.PositiveIntegerField(default=60)
    read_used = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)
    reserved_total = models.BigIntegerField(default=0)
    reserved_at_read = models.BigIntegerField(default=0)
    #: other integrations' requests per second, measured between the last two readings
    others_per_second = models.FloatField(default=0.0)
    #: the next moment a background request may start while slowed (shared spacing across processes)
    next_send_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, default="unknown")
    reason = models.CharField(max_length=500, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Autotask pacing state"

    def __str__(self):
        return f"pacing {self.state}"

    @property
    def usage_estimate(self):
        return self.read_used + (self.reserved_total - self.reserved_at_read)


class UsageSample(models.Model):
    """One ThresholdInformation reading (the health page's trend). Pruned to the last few days."""

    scope = models.CharField(max_length=40)
    measured_at = models.DateTimeField(db_index=True)
    used = models.PositiveIntegerField()
    threshold = models.PositiveIntegerField()

    class Meta:
        ordering = ["-measured_at", "-id"]
        verbose_name = "Autotask usage sample"

    def __str__(self):
        return f"{self.used}/{self.threshold} at {self.measured_at:%H:%M}"

    @property
    def ratio(self):
        return self.used / self.threshold if self.threshold else None


class ApiCall(models.Model):
    """One request the client sent (the health page's last calls). Never headers, bodies, query strings,
    usernames or secrets: method, path, status or transport error kind, duration and who asked."""

    at = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=10)
    #: the URL path without query string or host, e.g. /ATServicesRest/V1.0/Tickets/query
    path = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=100)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    #: transport failure class ("ReadTimeout", "ConnectError", …) or "" when an answer arrived
    error_kind = models.CharField(max_length=40, blank=True)
    duration_ms = models.PositiveIntegerField()
    #: "ok", "error", "rejected_thread", "rejected_hourly", "transport_error", "not_sent"
    outcome = models.CharField(max_length=20)
    #: the background_work() label, or "interactive"
    label = models.CharField(max_length=100)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "Autotask API call"

    def __str__(self):
        return f"{self.method} {self.path} → {self.status_code or self.error_kind}"

    @property
    def short_path(self):
        """The path after the API root (``/Tickets/query`` for ``/ATServicesRest/V1.0/Tickets/query``)."""
        index = self.path.lower().find("/v1.0/")
        return self.path[index + 5 :] if index >= 0 else self.path


# --- Issue 14: bulk ticket work on task workers -------------------------------------------------------------


class BulkAction(models.TextChoices):
    CREATE = "create", "Create tickets"
    RESOLVE = "resolve", "Resolve tickets"
    LINK = "link", "Link to one existing ticket"


class BulkJobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


class BulkItemState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class BulkJob(models.Model):
    """One bulk action an operator started on Run Checks (services/bulk.py); its items are the runs.

    Created with all its items in one transaction by `start_bulk_action`; worked off by the task
    `run_bulk_job` on a task worker. `state` is the job's own progress; per-run outcomes are on the items.
    """

    action = models.CharField(max_length=10, choices=BulkAction.choices)
    state = models.CharField(max_length=10, choices=BulkJobState.choices, default=BulkJobState.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: create: the job's runs share one ticket (phase 6 storm avoidance)
    share_per_job = models.BooleanField(default=False)
    #: link: the ticket number (or id) as the operator typed it, and the ticket the one lookup found
    ticket_reference = models.CharField(max_length=60, blank=True)
    link_ticket = models.ForeignKey(
        "AutotaskTicket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: how the runs were chosen ("12 selected runs", "all 312 runs matching status=error")
    selection = models.CharField(max_length=300, blank=True)
    #: a job-wide sentence for the operator (e.g. why it stopped); never a secret
    message = models.CharField(max_length=1000, blank=True)
    #: the django.tasks result id of the last enqueue (diagnostics)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "Autotask bulk job"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"bulk job {self.pk}: {self.get_action_display()}"

    @property
    def is_finished(self):
        return self.state == BulkJobState.FINISHED


class BulkJobItem(models.Model):
    """One run of a bulk job and what came of it (ticket, or the refusal/error text)."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="+")
    #: order within the job (the order the operator saw)
    position = models.PositiveIntegerField(default=0)
    #: items with the same group run one after another in one worker thread (same job when sharing one
    #: ticket per job, same ticket when resolving); "" = independent
    group = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=10, choices=BulkItemState.choices, default=BulkItemState.QUEUED)
    #: a short code of the outcome ("created", "added", "adopted", "closed", "note_only", "linked", or the
    #: refusal code)
    outcome = models.CharField(max_length=30, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    #: a failed item that may be tried again (rate limit, connection failure, unknown outcome)
    retryable = models.BooleanField(default=False)
    ticket = models.ForeignKey(
        "AutotaskTicket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Autotask bulk job item"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "run"], name="bulk_item_once_per_job")]
        indexes = [models.Index(fields=["job", "state"], name="bulk_item_job_state_idx")]

    def __str__(self):
        return f"{self.job} · run {self.run_id}: {self.get_state_display()}"
