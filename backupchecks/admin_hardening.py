"""Hardening shared by every project ModelAdmin (`ProjectAdminMixin`).

**Lists load only what they show.** A run's `details` can be megabytes of log text; a changelist of 100 such runs loaded all of it to show a
date and a status (issue 12.4). `LeanChangeListMixin` defers every large column (text, JSON, binary) that
the list does not display — on the changelist only; the change page still loads the whole row.

**Autocomplete widgets survive malformed posted ids.** Django's AutocompleteSelect re-renders a refused
form by querying `<to_field>__in=<posted values>`; a posted "abc" or ":" for an integer key raised
ValueError there — a 500 instead of the form's own "Select a valid choice" error.
"""

from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models

LARGE_FIELD_TYPES = (models.TextField, models.JSONField, models.BinaryField)


def large_fields(model, shown=()):
    """Names of the model's concrete large columns, except those in `shown`."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, LARGE_FIELD_TYPES) and field.name not in shown
    ]


class _ValidChoicesOnly:
    def optgroups(self, name, value, attr=None):
        remote_opts = self.field.remote_field.model._meta
        to_field = remote_opts.get_field(
            getattr(self.field.remote_field, "field_name", remote_opts.pk.attname)
        )
        valid = []
        for item in value:
            try:
                to_field.to_python(item)
            except (ValidationError, TypeError, ValueError):
                continue  # cannot name a row: the form field reports it as an invalid choice
            valid.append(item)
        return super().optgroups(name, valid, attr)


class SafeAutocompleteSelect(_ValidChoicesOnly, AutocompleteSelect):
    pass


class SafeAutocompleteSelectMultiple(_ValidChoicesOnly, AutocompleteSelectMultiple):
    pass


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


class SafeAutocompleteMixin:
    """A ModelAdmin mixin: autocomplete widgets that ignore posted values no row can have."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        inner = getattr(widget, "widget", None)  # RelatedFieldWidgetWrapper
        for current in (widget, inner):
            if type(current) is AutocompleteSelect:
                current.__class__ = SafeAutocompleteSelect
            elif type(current) is AutocompleteSelectMultiple:
                current.__class__ = SafeAutocompleteSelectMultiple
        return formfield


class ProjectAdminMixin(SafeAutocompleteMixin, LeanChangeListMixin):
    """Everything above; every ModelAdmin of customers, runs and the integrations uses it."""
