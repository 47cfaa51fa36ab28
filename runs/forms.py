"""Forms of the operator pages: the Run Checks filter and the run detail edits."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer

from .models import ATTENTION_STATUSES, Run

#: the most run ids one bulk "mark reviewed" may carry (a page shows 50)
MAX_BULK_REVIEW = 500
#: the most runs one "Mark reviewed" with "all N matching the filter" marks (the first ones in the list's
#: order; the operator presses it again for the rest). Equal to the Autotask bulk actions' cap
#: (integrations.autotask.services.bulk.MAX_BULK_RUNS) because one checkbox on Run Checks serves both.
MAX_REVIEW_ALL_MATCHING = 1000
#: the largest primary key a run can have (BigAutoField)
MAX_RUN_ID = 2**63 - 1


#: filter dates whose local midnights (and the day after) stay inside Python's datetime range in any zone
DATE_FILTER_RANGE = [
    MinValueValidator(datetime.date(1900, 1, 1)),
    MaxValueValidator(datetime.date(9998, 12, 31)),
]


class RunChecksFilterForm(forms.Form):
    """GET filters of Run Checks. Invalid fields are reported and ignored; valid ones still apply."""

    # The customer filter is a search, not a <select> of every customer (2,000 options made most of Run
    # Checks' render time): `customer_name` filters by name (case-insensitive contains) and works as a
    # plain GET; picking a suggestion (runs:customer_search, static/runs/customer_search.js) fills the
    # hidden `customer` (one customer by id, also what links from the customer pages use).
    customer_name = forms.CharField(label="Customer", required=False, max_length=200, strip=True)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.only("pk", "name"),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That customer does not exist (any more)."},
    )
    status = forms.ChoiceField(
        choices=[("", "All statuses")] + [(s.value, s.label) for s in ATTENTION_STATUSES], required=False
    )
    date_from = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=DATE_FILTER_RANGE,
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=DATE_FILTER_RANGE,
    )
    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = "Job, customer or summary"
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )
        self.fields["customer_name"].widget.attrs.update(
            {
                "placeholder": "All customers",
                "autocomplete": "off",
                # a combobox with an htmx suggestion list (runs/inc/customer_search_field.html)
                "role": "combobox",
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "aria-controls": "customer-suggestions",
                "data-customer-search": "",  # static/runs/customer_search.js
                "hx-get": reverse("runs:customer_search"),
                "hx-trigger": "input changed delay:200ms",
                "hx-target": "#customer-suggestions",
                "hx-sync": "this:replace",
            }
        )

    def clean(self):
        cleaned = super().clean()
        customer, name = cleaned.get("customer"), cleaned.get("customer_name")
        if customer is not None:
            if name and name.casefold() != customer.name.casefold():
                # The name was edited after a customer was picked (e.g. without JavaScript, where the hidden
                # id is not cleared): the typed text is what the operator means now.
                cleaned["customer"] = None
            else:
                # ?customer=<id> alone (a link from the customer pages): show the customer's name
                cleaned["customer_name"] = customer.name
                self.data = self.data.copy()
                self.data["customer_name"] = customer.name
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
            cleaned.pop("date_to", None)
        return cleaned

    def filter(self, queryset):
        """Apply the valid filters to a Run queryset (call after `is_valid()`)."""
        data = getattr(self, "cleaned_data", {})
        if data.get("customer"):
            queryset = queryset.filter(job__customer=data["customer"])
        elif data.get("customer_name"):
            queryset = queryset.filter(job__customer__name__icontains=data["customer_name"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("date_from"):
            queryset = queryset.filter(started_at__gte=_start_of_day(data["date_from"]))
        if data.get("date_to"):
            queryset = queryset.filter(
                started_at__lt=_start_of_day(data["date_to"] + datetime.timedelta(days=1))
            )
        if data.get("q"):
            text = data["q"]
            queryset = queryset.filter(
                Q(job__name__icontains=text)
                | Q(job__customer__name__icontains=text)
                | Q(summary__icontains=text)
            )
        return queryset

    @property
    def is_filtered(self):
        return any(getattr(self, "cleaned_data", {}).get(name) for name in self.fields)


def _start_of_day(day):
    """Midnight of `day` in the current time zone (dates in the filter are local dates)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class BulkReviewForm(forms.Form):
    """POST of Run Checks' "Mark reviewed": the selected run ids."""

    runs = forms.TypedMultipleChoiceField(coerce=int, required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The ids are checked against the database in the view; here only their shape and number.
        self.fields["runs"].valid_value = lambda value: True
        self.fields["runs"].error_messages["required"] = "Select at least one run."

    def clean_runs(self):
        ids = self.cleaned_data["runs"]
        if len(ids) > MAX_BULK_REVIEW:
            raise ValidationError(f"Select at most {MAX_BULK_REVIEW} runs at a time.")
        if any(not -MAX_RUN_ID <= run_id <= MAX_RUN_ID for run_id in ids):
            # Beyond any database integer: the IN query would crash (SQLite) rather than match nothing.
            raise ValidationError("Invalid selection.")
        return sorted(set(ids))


def validate_printable(value):
    if not value.isprintable():
        raise ValidationError(
            "Use letters, digits and punctuation only (no tabs, line breaks or control characters)."
        )


class ManualTicketNumberForm(forms.ModelForm):
    """The free-text ticket number an operator types in (any PSA). Empty clears it."""

    class Meta:
        model = Run
        fields = ["manual_ticket_number"]
        labels = {"manual_ticket_number": "Manual ticket number"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["manual_ticket_number"]
        field.strip = True
        field.validators.append(validate_printable)
        field.widget.attrs.update(
            {"class": "form-control", "maxlength": 64, "placeholder": "e.g. T20250101.0001"}
        )


class ReviewToggleForm(forms.Form):
    reviewed = forms.TypedChoiceField(
        choices=[("1", "reviewed"), ("0", "not reviewed")], coerce=lambda v: v == "1"
    )
    #: "Mark reviewed and next": go on to the next run of the same Run Checks list
    and_next = forms.BooleanField(required=False)
    #: the Run Checks query string (filters, sort) the run was opened from
    queue = forms.CharField(required=False, max_length=2000)


class BulkReviewGroupsForm(forms.Form):
    """POST of Run Checks' group-by-job view: groups as "<job id>:<highest run id shown>", and the list's
    query string (its filters decide which runs of each job are meant)."""

    groups = forms.MultipleChoiceField(required=True)
    queue = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].valid_value = lambda value: True
        self.fields["groups"].error_messages["required"] = "Select at least one job."

    def clean_groups(self):
        bounds = {}
        for value in self.cleaned_data["groups"]:
            job_id, _, max_id = value.partition(":")
            try:
                job_id, max_id = int(job_id), int(max_id)
            except ValueError:
                raise ValidationError("Invalid selection.") from None
            if not (0 < job_id <= MAX_RUN_ID and 0 < max_id <= MAX_RUN_ID):
                raise ValidationError("Invalid selection.")
            bounds[job_id] = max(max_id, bounds.get(job_id, 0))
        if len(bounds) > MAX_BULK_REVIEW:
            raise ValidationError(f"Select at most {MAX_BULK_REVIEW} jobs at a time.")
        return bounds
