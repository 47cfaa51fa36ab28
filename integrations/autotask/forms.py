"""The Autotask settings form (Django admin) and the credentials form behind its two buttons.

The page always edits the *stored* environment's credentials and ticket defaults (shown in the fieldset
titles). Changing the Environment dropdown and saving switches environments; the other environment's set
is kept untouched, so switching back loses nothing.

Secret and Tracking Identifier are write-only: `PasswordInput(render_value=False)`, an empty field keeps
the stored value, the "clear stored …" checkbox removes it. Their values never reach HTML, logs, repr()
or error messages.
"""

import contextlib
import copy
import hashlib

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from backupchecks.validators import validate_single_line
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AutotaskSettings, EnvironmentConfig, ReferenceKind
from integrations.autotask.services import configuration, connection

SECRET_FIELDS = ("secret", "integration_code")
CREDENTIAL_FIELDS = ("username", "secret", "integration_code", "impersonation_resource_id")
SETTINGS_FIELDS = (
    "enabled",
    "environment",
    "base_url",
    "compatibility_mode",
    "ticket_due_hours",
    "pacing_ceiling_percent",
)
#: credentials a live probe proves; a changed impersonation resource id needs no probe (writes only)
LIVE_CREDENTIAL_FIELDS = ("username", "secret", "integration_code")
MAX_BIG_INTEGER = 2**63 - 1


def _browser_ranges_from_validators(fields, model):
    """Give every number field the tightest range its own and its model field's validators allow as the
    widget's min/max, so the browser's spinner and check agree with the server ("Ticket due after" said
    min="0" and no max while 1–2160 is valid: a model field's MinValueValidator does not reach the form
    field's widget by itself)."""
    for name, field in fields.items():
        if not isinstance(field, forms.IntegerField):
            continue
        validators = list(field.validators)
        with contextlib.suppress(FieldDoesNotExist):  # a form-only field has no model field
            validators += model._meta.get_field(name).validators
        lows = [v.limit_value for v in validators if isinstance(v, MinValueValidator)]
        highs = [v.limit_value for v in validators if isinstance(v, MaxValueValidator)]
        if lows:
            field.widget.attrs["min"] = max(lows)
        if highs:
            field.widget.attrs["max"] = min(highs)


class WriteOnlyField(forms.CharField):
    """A password-style input that never renders a value back (not even the posted one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 512)
        kwargs.setdefault(
            "widget", forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
        )
        super().__init__(**kwargs)


class CredentialsMixin:
    """Fields and helpers shared by the settings form and the Test connection / Refresh buttons."""

    def _add_credential_fields(self):
        self.fields["username"] = forms.CharField(
            label="API username", max_length=254, required=False, validators=[validate_single_line]
        )
        self.fields["secret"] = WriteOnlyField(label="API secret")
        self.fields["clear_secret"] = forms.BooleanField(label="Clear stored secret", required=False)
        self.fields["integration_code"] = WriteOnlyField(label="Tracking Identifier (API integration code)")
        self.fields["clear_integration_code"] = forms.BooleanField(
            label="Clear stored Tracking Identifier", required=False
        )
        self.fields["impersonation_resource_id"] = forms.IntegerField(
            label="Impersonation resource id",
            required=False,
            min_value=1,
            # the model's PositiveBigIntegerField holds no more; a larger id crashed the save (a 500)
            max_value=MAX_BIG_INTEGER,
            help_text="Optional: Autotask shows writes as made by this resource.",
        )
        stored = self.env_config
        self.fields["username"].initial = stored.username
        self.fields["impersonation_resource_id"].initial = stored.impersonation_resource_id
        for name in SECRET_FIELDS:
            field = self.fields[name]
            if getattr(stored, name):
                field.help_text = "A value is stored. Leave empty to keep it; type a new one to replace it."
            else:
                field.help_text = "Nothing stored yet."
                # nothing to clear: no "Clear stored …" checkbox (a posted one is simply ignored)
                del self.fields[f"clear_{name}"]

    def _clean_credentials(self, cleaned):
        for name in SECRET_FIELDS:
            if cleaned.get(name) and cleaned.get(f"clear_{name}"):
                self.add_error(f"clear_{name}", "Type a new value or clear the stored one, not both.")

    def credentials_applied(self, env_config=None):
        """A copy of the environment's config with the typed credentials applied (not saved)."""
        target = copy.copy(env_config or self.env_config)
        data = self.cleaned_data
        target.username = (data.get("username") or "").strip()
        target.impersonation_resource_id = data.get("impersonation_resource_id")
        for name in SECRET_FIELDS:
            if data.get(f"clear_{name}"):
                setattr(target, name, "")
            elif data.get(name):
                setattr(target, name, data[name])
        return target

    def changed_credential_fields(self, before, after):
        return [name for name in CREDENTIAL_FIELDS if getattr(before, name) != getattr(after, name)]


class CredentialsForm(CredentialsMixin, forms.Form):
    """What the Test connection / Refresh reference data buttons read from the posted settings form."""

    def __init__(self, *args, env_config, **kwargs):
        self.env_config = env_config
        super().__init__(*args, **kwargs)
        self._add_credential_fields()

    # Error reports show local variables: the cleaned data (here and in the helpers it is passed to)
    # holds the typed secret and Tracking Identifier.
    @sensitive_variables("cleaned", "data", "cleaned_data")
    def clean(self):
        cleaned = super().clean()
        self._clean_credentials(cleaned)
        return cleaned


class ReferenceSelect(forms.Select):
    """A select whose options listed in `disabled_values` are shown but cannot be picked."""

    def __init__(self, *args, disabled_values=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values = set(disabled_values)

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class ReferenceChoiceField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("empty_value", None)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


DEFAULT_LABELS = {
    "queue_id": ("Queue", ""),
    "source_id": ("Ticket source", ""),
    "new_ticket_status_id": ("Status for new tickets", ""),
    "warning_priority_id": ("Priority for Warning runs", ""),
    "error_priority_id": ("Priority for Error runs", ""),
    "missed_priority_id": (
        "Priority for Missed runs",
        "Optional: empty means Missed runs use the Error priority.",
    ),
    "ticket_type_id": ("Ticket type", "Optional: empty leaves Autotask's default."),
    "note_type_id": ("Note type", "Used for every note Backupchecks writes."),
    "note_publish_id": (
        "Note visibility",
        "Who can see Backupchecks' notes. Values customers can see (e.g. “All Autotask Users”) are refused.",
    ),
    "resolved_status_id": ("Status that means resolved", "Usually Complete (5)."),
}


#: phase 6 (docs/autotask-phase6.md): what the two switches mean for operators
ENABLED_HELP = (
    "Off: nothing calls Autotask (only Test connection and Refresh reference data on this page), Autotask "
    "actions disappear from operator pages and operators enter manual ticket numbers as before. Tickets "
    "already created or linked stay visible with their last known status, marked “not live”."
)
COMPATIBILITY_MODE_HELP = (
    "Only matters while the integration is enabled. Off: operators cannot enter manual ticket numbers "
    "(existing manual numbers stay visible). On: operators may still enter manual ticket numbers, and may "
    "link existing Autotask tickets to runs by ticket number or id. With the integration disabled, "
    "operators always enter manual ticket numbers as before."
)


class AutotaskSettingsForm(CredentialsMixin, forms.ModelForm):
    """Settings + the credentials and ticket defaults of the stored environment.

    Validation: values must always be well-formed (base URL, ids from the cached picklists, no
    customer-visible note visibility). Enabling additionally requires complete credentials, the base URL,
    every required default chosen from current active values, and a successful live connection test to the
    same tenant (database id) the reference data came from.
    """

    base_url = forms.CharField(
        label="Backupchecks base URL",
        required=False,
        max_length=200,
        help_text="How Autotask users reach this Backupchecks, e.g. https://backupchecks.example.com "
        "— used for the links in tickets. No user name or password, query string or fragment.",
    )

    class Meta:
        model = AutotaskSettings
        fields = list(SETTINGS_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance if self.instance.pk else AutotaskSettings.load()
        #: enabled/environment as stored before this save (ModelForm updates self.instance after clean())
        self.stored_enabled = instance.enabled
        # The environment whose credentials/defaults this page shows: the stored one.
        self.env_config = EnvironmentConfig.for_environment(instance.environment)
        self.connection_result = None
        self.wanted_probes = {}
        self._add_credential_fields()
        self._add_default_fields()
        self.fields["enabled"].help_text = ENABLED_HELP
        self.fields["compatibility_mode"].help_text = COMPATIBILITY_MODE_HELP
        # Phase 4: optional on the page (a form without it keeps the stored value).
        self.fields["ticket_due_hours"].required = False
        # Issue 14: optional too (a form without it keeps the stored value); 50–95 from the model.
        self.fields["pacing_ceiling_percent"].required = False
        _browser_ranges_from_validators(self.fields, AutotaskSettings)  # e.g. pacing 50–95, due 1–2160
        shown = self.env_config.get_environment_display()
        self.fields["environment"].help_text = (
            f"The credentials and ticket defaults below are the {shown} ones. To configure the other "
            f"environment, choose it and save (nothing else changed): the page then shows its own set, "
            f"and the {shown} set is kept."
        )

    # -- ticket defaults -----------------------------------------------------------------------------

    def _add_default_fields(self):
        env = self.env_config
        self.reference_rows = configuration.reference_rows(env.environment, env.database_id)
        self.has_reference_data = bool(self.reference_rows)
        self.stale_defaults = configuration.default_problems(
            env.environment,
            env.database_id,
            configuration.env_defaults(env),
            require=False,
            rows=self.reference_rows,
        )
        for name, kind in configuration.DEFAULT_FIELDS.items():
            label, help_text = DEFAULT_LABELS[name]
            stored = getattr(env, name)
            choices = [("", "---------")]
            offered = set()
            refused = set()
            # present + active values of this tenant, in Autotask's order (the rows are ordered)
            for (row_kind, value), row in self.reference_rows.items():
                if row_kind != kind or not (row.is_present and row.is_active):
                    continue
                text = f"{row.label} ({value})"
                if kind == ReferenceKind.NOTE_PUBLISH and configuration.is_customer_visible_publish(
                    row.label, value
                ):
                    # Shown (so the admin sees why it is missing) but not selectable; still refused on save.
                    text += " — visible to customers, not allowed"
                    if value != stored:
                        refused.add(value)
                choices.append((value, text))
                offered.add(value)
            if stored is not None and stored not in offered:
                # Keep the stored choice visible, marked, so the admin sees what changed in Autotask.
                row = self.reference_rows.get((kind, stored))
                state = "gone from Autotask" if row is None or not row.is_present else "inactive in Autotask"
                text = f"{row.label} ({stored})" if row is not None else str(stored)
                choices.append((stored, f"⚠ {text} — {state}"))
            if name in self.stale_defaults:
                # The admin renders help_text with |safe, and the message quotes Autotask's own label.
                help_text = format_html("⚠ {} {}", self.stale_defaults[name], help_text)
            # (Without reference data the fieldset says once to test and refresh first: see the admin.)
            self.fields[name] = ReferenceChoiceField(
                label=label,
                choices=choices,
                help_text=help_text,
                initial=stored,
                widget=ReferenceSelect(disabled_values=refused),
            )
        self.fields["resolved_status_id"].required = False
        if env.resolved_status_id is None and env.database_id is not None:
            self.fields["resolved_status_id"].initial = configuration.default_resolved_status(
                env.environment, env.database_id
            )

    # -- validation ------------------------------------------------------------------------------------

    def clean_ticket_due_hours(self):
        value = self.cleaned_data.get("ticket_due_hours")
        return self.instance.ticket_due_hours if value is None else value

    def clean_pacing_ceiling_percent(self):
        value = self.cleaned_data.get("pacing_ceiling_percent")
        return self.instance.pacing_ceiling_percent if value is None else value

    def clean_base_url(self):
        return configuration.normalise_base_url(self.cleaned_data.get("base_url"))

    @sensitive_variables("cleaned", "data", "cleaned_data")  # see CredentialsForm.clean
    def clean(self):
        cleaned = super().clean()
        self._clean_credentials(cleaned)
        env = self.env_config
        chosen = {name: cleaned.get(name) for name in configuration.DEFAULT_FIELDS}
        # Always: a chosen (newly or previously) note visibility customers can see is refused.
        publish_problem = configuration.default_problems(
            env.environment,
            env.database_id,
            {"note_publish_id": chosen["note_publish_id"]},
            require=False,
            rows=self.reference_rows,
        ).get("note_publish_id")
        if publish_problem and "visible to customers" in publish_problem:
            self.add_error("note_publish_id", publish_problem)
        target_env = cleaned.get("environment") or env.environment
        if target_env != env.environment:
            self._refuse_edits_while_switching(target_env)
        if not cleaned.get("enabled"):
            return cleaned
        if target_env != env.environment:
            self._validate_switch_while_enabled(target_env, cleaned)
        else:
            self._validate_enable(cleaned, chosen)
        return cleaned

    def _refuse_edits_while_switching(self, target_env):
        """Switching environment must be saved on its own.

        The credentials and defaults on the page belong to the stored environment; typing the new
        environment's credentials there and switching at the same time would overwrite the set being left.
        """
        per_environment = ("clear_secret", "clear_integration_code", *CREDENTIAL_FIELDS)
        edited = [name for name in self.changed_data if name in per_environment]
        edited += [name for name in self.changed_data if name in configuration.DEFAULT_FIELDS]
        if edited:
            shown = self.env_config.get_environment_display()
            target = dict(self.fields["environment"].choices).get(target_env, target_env)
            self.add_error(
                "environment",
                f"Switch to {target} on its own: you also changed {shown} fields "
                f"({', '.join(str(self.fields[name].label) for name in edited)}). The fields on this page "
                f"belong to {shown}; save the environment change first, then enter the {target} values.",
            )

    def _validate_enable(self, cleaned, chosen):
        env = self.env_config
        candidate = self.credentials_applied()
        for field, label in configuration.CREDENTIAL_LABELS.items():
            if not getattr(candidate, field) and field not in self.errors:
                self.add_error(field, f"The {label} is required to enable the integration.")
        if not cleaned.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", "The base URL is required to enable the integration.")
        if env.database_id is None:
            self.add_error(
                "enabled",
                "Test the connection and refresh reference data before enabling the integration.",
            )
        else:
            for field, message in configuration.default_problems(
                env.environment, env.database_id, chosen, rows=self.reference_rows
            ).items():
                if field not in self.errors:
                    self.add_error(field, message)
        if self.errors:
            return
        name = env.get_environment_display()
        if not self.stored_enabled:
            self._probe(candidate, "enabled", f"Cannot enable: the connection test of the {name} credentials")
            return
        changed = [f for f in LIVE_CREDENTIAL_FIELDS if getattr(env, f) != getattr(candidate, f)]
        if changed:
            # Already enabled: new credentials must work before they replace ones that (last) worked.
            labels = ", ".join(str(self.fields[f].label) for f in changed)
            self._probe(
                candidate,
                "enabled",
                f"Not saved: the integration is enabled, so the changed {name} credentials ({labels}) were "
                "tested first, and that connection test",
            )
        # Otherwise an already enabled and tested configuration: saving ticket defaults, the base URL or the
        # impersonation resource needs no live call (and works while Autotask is down).

    def _validate_switch_while_enabled(self, target_env, cleaned):
        """Switching environment while enabled: the other environment's *stored* set must be usable."""
        other = EnvironmentConfig.for_environment(target_env)
        name = other.get_environment_display()
        if not cleaned.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", "The base URL is required to enable the integration.")
        problems = []
        if not other.has_credentials:
            problems.append(f"the {name} credentials are incomplete")
        if other.database_id is None:
            problems.append(f"the {name} connection has never been tested")
        else:
            problems += list(
                configuration.default_problems(
                    other.environment, other.database_id, configuration.env_defaults(other)
                ).values()
            )
        if problems:
            self.add_error(
                "environment",
                f"Cannot switch to {name} while enabled: {'; '.join(problems)}. "
                "Disable the integration, switch, configure and test it, then enable it.",
            )
            return
        if not self.errors:
            self._probe(
                other,
                "environment",
                f"Cannot switch to {name} while enabled: the connection test of its stored credentials",
            )

    # -- the live connection test, outside any database transaction --------------------------------------

    #: The admin validates the form twice: once outside any transaction with `defer_probes` (the form lists
    #: the probes it needs in `wanted_probes`; the admin runs them), then inside Django's save transaction
    #: with `probe_results` filled in. A form used on its own (commands, tests) probes live in clean().
    defer_probes = False
    probe_results = None

    @staticmethod
    @sensitive_variables("env_config", "material")
    def probe_key(env_config):
        """Identifies the credentials a probe used, without keeping them in readable form."""
        material = "\x1f".join(
            [env_config.environment, env_config.username, env_config.secret, env_config.integration_code]
        )
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()

    @staticmethod
    def run_probe(env_config):
        """The live test (≤ 2 API calls): a ConnectionResult, or the AutotaskError it raised."""
        try:
            return connection.probe(connection.credentials_for(env_config))
        except AutotaskError as exc:
            return exc

    def _probe(self, env_config, error_field, attempted):
        """Require a successful live connection test of `env_config`; `attempted` starts the error text."""
        key = self.probe_key(env_config)
        if self.probe_results is not None:
            outcome = self.probe_results.get(key)
            if outcome is None:
                # Never probe from inside the admin's save transaction: a slow Autotask would hold it.
                self.add_error(error_field, "The settings changed while they were being saved; save again.")
                return
        elif self.defer_probes:
            self.wanted_probes[key] = copy.copy(env_config)
            return
        else:
            outcome = self.run_probe(env_config)
        if isinstance(outcome, AutotaskError):
            self.add_error(error_field, f"{attempted} failed. Nothing was saved. {outcome}")
            return
        if env_config.database_id is not None and outcome.database_id != env_config.database_id:
            self.add_error(
                error_field,
                f"{attempted} reached Autotask database {outcome.database_id}, but the reference data is "
                f"from database {env_config.database_id}. Refresh reference data and choose the ticket "
                "defaults again.",
            )
            return
        self.connection_result = outcome

    # -- saving ----------------------------------------------------------------------------------------

    def save_environment_config(self):
        """Store the edited credentials and ticket defaults on the displayed environment.

        Returns the names of the fields that changed (secret names only, never values).
        """
        before = self.env_config
        after = self.credentials_applied()
        for name in configuration.DEFAULT_FIELDS:
            setattr(after, name, self.cleaned_data.get(name))
        changed = self.changed_credential_fields(before, after)
        changed += [n for n in configuration.DEFAULT_FIELDS if getattr(before, n) != getattr(after, n)]
        if self.connection_result is not None and after.environment == self.cleaned_data.get("environment"):
            connection.apply_connection_result(after, self.connection_result)
        after.save()
        self.env_config = after
        return changed
