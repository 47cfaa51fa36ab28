"""Admin list pages load only what they show.

A run's `details` can be megabytes of log text; a changelist of 100 such runs loaded all of it to show a
date and a status (issue 12.4). `LeanChangeListMixin` defers every large column (text, JSON, binary) that
the list does not display — on the changelist only; the change page still loads the whole row.
"""

from django.db import models

LARGE_FIELD_TYPES = (models.TextField, models.JSONField, models.BinaryField)


def large_fields(model, shown=()):
    """Names of the model's concrete large columns, except those in `shown`."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, LARGE_FIELD_TYPES) and field.name not in shown
    ]


class LeanChangeListMixin:
    """A ModelAdmin mixin: the changelist query defers large columns not in `list_display`."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and (match.url_name or "").endswith("_changelist"):
            deferred = large_fields(self.model, shown=self.get_list_display(request))
            if deferred:
                queryset = queryset.defer(*deferred)
        return queryset
