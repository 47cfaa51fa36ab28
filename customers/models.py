from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from backupchecks.validators import validate_single_line


class Customer(models.Model):
    """An MSP's customer whose backup jobs Backupchecks watches."""

    #: unique ignoring case ("Acme" and "ACME" are one customer): see Meta.constraints
    name = models.CharField(max_length=200, validators=[validate_single_line])
    is_active = models.BooleanField("active", default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # The customer lists (operator and admin) page through customers by name: read 50 in order
            # rather than computing each list's per-customer subqueries for every customer and sorting.
            models.Index(fields=["name"], name="customer_name_idx"),
        ]
        constraints = [
            # Ingestion matches names ignoring case, so two names that differ only in case would be
            # ambiguous. PostgreSQL lowers every letter; SQLite's LOWER() only ASCII letters.
            models.UniqueConstraint(
                Lower("name"),
                name="customer_name_unique_ci",
                violation_error_message="A customer with this name already exists (names ignore case).",
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:customer_detail", args=[self.pk])
