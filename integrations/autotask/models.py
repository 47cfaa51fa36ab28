"""Autotask integration state: the settings singleton, per-environment credentials and defaults, the
reference-data cache and the audit log.

Every Autotask id stored here records the environment (and, for reference data, the database id) it came
from: a sandbox id is never used in production.
"""

from django.conf import settings
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


class AuditEvent(models.Model):
    """Who did what to the integration, when, and what came of it. Never holds a secret."""

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

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "Autotask audit event"
        verbose_name_plural = "Autotask audit log"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} ({self.outcome})"

    @classmethod
    def record(cls, action, *, user=None, environment="", outcome="ok", message="", **data):
        return cls.objects.create(
            action=action,
            user=user if getattr(user, "is_authenticated", False) else None,
            environment=environment,
            outcome=outcome,
            message=message[:500],
            data=data,
        )

    @classmethod
    def record_failure(cls, action, exc, *, user=None, environment=""):
        """Record a failed action; the message is the error's operator text (never holds a secret)."""
        return cls.record(
            action,
            user=user,
            environment=environment,
            outcome="failed",
            message=str(exc),
            error=type(exc).__name__,
        )
