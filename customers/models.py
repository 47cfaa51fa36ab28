from django.db import models
from django.urls import reverse

from backupchecks.validators import validate_single_line


class Customer(models.Model):
    """An MSP's customer whose backup jobs Backupchecks watches."""

    name = models.CharField(max_length=200, unique=True, validators=[validate_single_line])
    is_active = models.BooleanField("active", default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:customer_detail", args=[self.pk])
