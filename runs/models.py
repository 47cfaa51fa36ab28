import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from backupchecks.validators import validate_single_line
from customers.models import Customer


class BackupJob(models.Model):
    """One backup job of a customer (a Veeam job, a Synology task, …). Created on first sight by ingestion."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="jobs")
    name = models.CharField(max_length=200, validators=[validate_single_line])
    backup_software = models.CharField(
        max_length=100, blank=True, validators=[validate_single_line], help_text="Veeam, Synology, NAKIVO, …"
    )
    job_type = models.CharField(
        "type",
        max_length=100,
        blank=True,
        validators=[validate_single_line],
        help_text="Image, file, M365, …",
    )
    schedule = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_single_line],
        help_text="Free text, e.g. 'daily 22:00'",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="job_unique_name_per_customer")
        ]

    def __str__(self):
        return f"{self.customer.name} / {self.name}"

    def get_absolute_url(self):
        # Autotask tickets link here: keep this URL stable.
        return reverse("runs:job_detail", args=[self.pk])


class RunStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    MISSED = "missed", "Missed"


#: statuses that put a run on Run Checks until someone reviews it
ATTENTION_STATUSES = (RunStatus.WARNING, RunStatus.ERROR, RunStatus.MISSED)


class LiteralNotEqual(models.Lookup):
    """`field__not_literal="x"`: SQL `NOT (field = 'x')` with the value written into the statement.

    Django sends lookup values as bound parameters, and SQLite only uses a partial index whose WHERE it can
    find, term for term, among the query's literal terms — with parameters it never used the partial
    review-queue index and read and sorted the whole queue instead (benchmarks/pages_scale.py). For
    constant identifiers only: anything but ASCII letters, digits and underscores is refused, so no value
    can change the SQL.
    """

    lookup_name = "not_literal"
    prepare_rhs = False

    def get_prep_lookup(self):
        value = str(self.rhs)
        if not (value.isidentifier() and value.isascii()):
            raise ValueError(f"not_literal takes a constant identifier only, not {self.rhs!r}")
        return value

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        # the exact shape Django writes for the index condition ~Q(status="success")
        return f"NOT ({lhs} = '{self.rhs}')", params


#: The WHERE of the partial indexes behind Run Checks: unreviewed and not successful — exactly the
#: warning/error/missed runs (the `run_status_valid` constraint allows no other status). Stated as
#: "not success" rather than "status IN (…)" so SQLite does not prefer the status index
#: (run_status_started_idx) for it; needing_review() repeats it literally (LiteralNotEqual).
NEEDS_REVIEW = Q(reviewed_at__isnull=True) & ~Q(status=RunStatus.SUCCESS.value)


class RunQuerySet(models.QuerySet):
    def needing_review(self):
        """Runs on Run Checks: warning/error/missed and not reviewed.

        Served by the partial indexes `run_needs_review_idx` (newest first) and `run_review_by_job_idx`
        (per job) on SQLite and PostgreSQL: they hold the review queue only, however long the history.
        """
        return self.filter(reviewed_at__isnull=True, status__not_literal=RunStatus.SUCCESS.value)


class Run(models.Model):
    """One execution of a backup job."""

    # No separate index: run_job_history_idx (job, -started_at) serves every lookup by job.
    job = models.ForeignKey(BackupJob, on_delete=models.CASCADE, related_name="runs", db_index=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    summary = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True)
    source_external_id = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_single_line],
        help_text="The sender's id for this run; makes ingestion idempotent.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    manual_ticket_number = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_single_line],
        help_text="A ticket number typed in by an operator (any PSA).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RunQuerySet.as_manager()

    #: large columns list pages never show (select_related("job__customer") lists); the detail page loads them
    LIST_DEFERRED = ("details", "job__customer__notes")

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [
            ("review_run", "Can mark runs reviewed"),
            ("edit_manual_ticket_number", "Can edit the manual ticket number of a run"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "source_external_id"],
                condition=~Q(source_external_id=""),
                name="run_unique_source_id_per_job",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("started_at")),
                name="run_finished_after_started",
            ),
            # NEEDS_REVIEW relies on it: every status that is not success needs attention
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
        ]
        indexes = [
            # Run Checks: unreviewed runs that need attention, newest first — the page reads 50 entries and
            # counts the queue from this index alone. needing_review() states the condition with literal
            # values (LiteralNotEqual), so SQLite uses it too, not only PostgreSQL.
            models.Index(fields=["-started_at", "-id"], condition=NEEDS_REVIEW, name="run_needs_review_idx"),
            # The review queue per job: Run Checks grouped by job, filtered by customer, and the customer
            # pages' "to review" counts.
            models.Index(
                fields=["job", "-started_at", "-id"], condition=NEEDS_REVIEW, name="run_review_by_job_idx"
            ),
            # The admin's run list filtered by status (the whole history, newest first). Its columns equal
            # run_review_by_status_idx's, so for Run Checks' status filters SQLite ties them and takes the
            # one created later (the partial one, runs 0008); with fewer columns it took this one.
            models.Index(fields=["status", "-started_at", "-id"], name="run_status_started_idx"),
            # The review queue per status, in page order: Run Checks filtered by status (with or without a
            # customer or dates), and sorted by status — "worst first" is status A–Z (queue.SORT_COLUMNS).
            # Without it SQLite read the status's whole history through run_status_started_idx.
            models.Index(
                fields=["status", "-started_at", "-id"],
                condition=NEEDS_REVIEW,
                name="run_review_by_status_idx",
            ),
            # Job Details: a job's history, newest first.
            models.Index(fields=["job", "-started_at"], name="run_job_history_idx"),
            # The admin's run list (newest first): reads one page instead of sorting the whole table.
            models.Index(fields=["-started_at", "-id"], name="run_started_idx"),
        ]

    def __str__(self):
        return f"{self.job} @ {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    def get_absolute_url(self):
        return reverse("runs:run_detail", args=[self.pk])

    @property
    def needs_attention(self):
        return self.status in ATTENTION_STATUSES and self.reviewed_at is None


def hash_token(raw_token):
    return hashlib.sha256(raw_token.encode()).hexdigest()


class IngestToken(models.Model):
    """A bearer token for POST /api/runs/. Only its SHA-256 is stored; the token is shown once."""

    name = models.CharField(
        max_length=100,
        validators=[validate_single_line],
        help_text="What sends with this token, e.g. 'Veeam ONE mailer'.",
    )
    prefix = models.CharField(max_length=12, editable=False, help_text="First characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name):
        """Create a token; returns (token, raw_token). The raw token is not stored anywhere."""
        raw = "bc_" + secrets.token_urlsafe(32)
        token = cls.objects.create(name=name, prefix=raw[:10], token_hash=hash_token(raw))
        return token, raw

    @classmethod
    def authenticate(cls, raw_token):
        if not raw_token:
            return None
        return cls.objects.filter(token_hash=hash_token(raw_token), is_active=True).first()


# Only the status column takes the literal comparison (see LiteralNotEqual).
Run._meta.get_field("status").register_lookup(LiteralNotEqual)
