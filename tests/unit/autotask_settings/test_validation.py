"""Invalid configurations are blocked with a message on the right field, and nothing is saved."""

import pytest
from django.utils.html import escape

from integrations.autotask.forms import CREDENTIAL_FIELDS
from integrations.autotask.models import AutotaskSettings, EnvironmentConfig, ReferenceValue
from integrations.autotask.services.configuration import DEFAULT_FIELDS

from .conftest import SETTINGS_URL, form_data


def post(client, **overrides):
    return client.post(SETTINGS_URL, form_data(**overrides))


def errors_of(response):
    assert response.status_code == 200, "the invalid form was accepted"
    form = response.context["adminform"].form
    return {name: " ".join(errors) for name, errors in form.errors.items()}


def snapshot():
    """Every stored setting of both environments (a refused save changes none of them)."""
    settings = AutotaskSettings.load()
    stored = [settings.enabled, settings.environment, settings.base_url, settings.compatibility_mode]
    for environment in ("sandbox", "production"):
        env = EnvironmentConfig.for_environment(environment)
        stored += [
            getattr(env, name)
            for name in (*CREDENTIAL_FIELDS, *DEFAULT_FIELDS, "database_id", "last_test_ok")
        ]
    return stored


@pytest.mark.parametrize(
    "overrides,field,text",
    [
        ({"base_url": ""}, "base_url", "required to enable"),
        ({"base_url": "ftp://backupchecks.example.com"}, "base_url", "http"),
        ({"base_url": "backupchecks.example.com"}, "base_url", "absolute"),
        ({"base_url": "https://backupchecks.example.com/?x=1"}, "base_url", "query string"),
        ({"base_url": "https://backupchecks.example.com/#top"}, "base_url", "fragment"),
        ({"base_url": "https://admin:pw@backupchecks.example.com"}, "base_url", "user name or password"),
        ({"username": ""}, "username", "API username is required"),
        ({"clear_secret": "on"}, "secret", "API secret is required"),
        ({"clear_integration_code": "on"}, "integration_code", "Tracking Identifier is required"),
        ({"impersonation_resource_id": "abc"}, "impersonation_resource_id", "whole number"),
        ({"impersonation_resource_id": "99999999999999999999"}, "impersonation_resource_id", "less than"),
        ({"queue_id": ""}, "queue_id", "Choose a queue"),
        ({"source_id": ""}, "source_id", "Choose a ticket source"),
        ({"new_ticket_status_id": ""}, "new_ticket_status_id", "Choose a ticket status"),
        ({"warning_priority_id": ""}, "warning_priority_id", "Choose a priority"),
        ({"error_priority_id": ""}, "error_priority_id", "Choose a priority"),
        ({"note_type_id": ""}, "note_type_id", "Choose a note type"),
        ({"note_publish_id": ""}, "note_publish_id", "Choose a note visibility"),
        ({"resolved_status_id": ""}, "resolved_status_id", "Choose a ticket status"),
        ({"note_publish_id": 1}, "note_publish_id", "visible to customers"),
        ({"queue_id": 29700110}, "queue_id", "valid choice"),  # inactive: not offered
        ({"queue_id": 123456}, "queue_id", "valid choice"),  # unknown id
        ({"warning_priority_id": "high"}, "warning_priority_id", "valid choice"),
    ],
)
def test_invalid_enabled_configuration_is_refused(admin_client, enabled_sandbox, overrides, field, text):
    before = snapshot()
    errors = errors_of(post(admin_client, **overrides))
    assert field in errors, errors
    assert text in errors[field]
    assert snapshot() == before


def test_customer_visible_note_visibility_is_refused_even_while_disabled(admin_client, sandbox_tested):
    errors = errors_of(post(admin_client, enabled=None, note_publish_id=1))
    assert "All Autotask Users" in errors["note_publish_id"]
    assert EnvironmentConfig.for_environment("sandbox").note_publish_id is None


@pytest.mark.parametrize(
    "overrides",
    [{"base_url": "https://x.example.com/?a=b"}, {"impersonation_resource_id": "99999999999999999999"}],
)
def test_malformed_values_are_refused_while_disabled(admin_client, sandbox_tested, overrides):
    before = snapshot()
    errors = errors_of(post(admin_client, enabled=None, **overrides))
    assert set(overrides) <= set(errors)
    assert snapshot() == before


def test_enabling_requires_a_tested_connection(admin_client, sim, db):
    errors = errors_of(post(admin_client, secret="s", integration_code="c"))
    assert "Test the connection and refresh reference data" in errors["enabled"]
    assert AutotaskSettings.load().enabled is False


def test_enabling_requires_a_successful_connection_test_at_save_time(admin_client, sandbox_tested):
    errors = errors_of(post(admin_client, secret="wrong-secret"))
    assert "Cannot enable: the connection test of the Sandbox credentials failed." in errors["enabled"]
    assert "wrong-secret" not in errors["enabled"]
    assert AutotaskSettings.load().enabled is False
    assert EnvironmentConfig.for_environment("sandbox").secret != "wrong-secret"


def test_enabling_refused_when_autotask_is_unreachable(admin_client, sandbox_tested, sim):
    sim.inject_fault(entity=None, method=None, mode="fail_500", times=100)
    errors = errors_of(post(admin_client))
    assert "Cannot enable" in errors["enabled"]
    assert AutotaskSettings.load().enabled is False


def test_enabling_refused_when_the_credentials_reach_another_tenant(admin_client, sandbox_tested):
    # The cached reference data (and the chosen defaults) claim to come from another database.
    ReferenceValue.objects.filter(environment="sandbox").update(database_id=1234)
    env = EnvironmentConfig.for_environment("sandbox")
    env.database_id = 1234
    env.save()
    errors = errors_of(post(admin_client))
    assert "reached Autotask database 29690015" in errors["enabled"]
    assert "Refresh reference data" in errors["enabled"]


def test_valid_enabled_configuration_is_saved_and_tested(admin_client, sandbox_tested, sim):
    sim.clear_requests()
    response = post(admin_client)
    assert response.status_code == 302
    assert AutotaskSettings.load().enabled is True
    assert sim.api_call_count() >= 1  # the save-time connection test really talked to Autotask
    env = EnvironmentConfig.for_environment("sandbox")
    assert env.last_test_ok is True


def test_switching_environment_while_enabled_needs_a_usable_other_set(admin_client, enabled_sandbox):
    before = snapshot()
    errors = errors_of(post(admin_client, environment="production"))
    assert "Cannot switch to Production while enabled" in errors["environment"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "value,label",
    [
        (1, "Alle Autotask-Benutzer"),
        (1, "Todos los usuarios de Autotask"),
        (3, "Internal & Co-Managed"),
        (4, "Everyone"),
        (5, "Public"),
        (6, "Team notes"),  # not clearly internal
    ],
)
def test_a_visibility_that_is_not_clearly_internal_is_refused(admin_client, sandbox_tested, value, label):
    """Issue 7 item 6: the form refuses every visibility except a clearly internal-only one."""
    env = sandbox_tested
    ReferenceValue.objects.update_or_create(
        environment=env.environment,
        database_id=env.database_id,
        kind="note_publish",
        value=value,
        defaults={"label": label, "is_active": True, "is_present": True},
    )
    response = admin_client.get(SETTINGS_URL)
    option = f"{escape(label)} ({value}) — visible to customers, not allowed"
    assert option in response.content.decode()
    errors = errors_of(post(admin_client, enabled=None, note_publish_id=value))
    assert "visible to customers" in errors["note_publish_id"]
    assert label in errors["note_publish_id"]
    assert EnvironmentConfig.for_environment("sandbox").note_publish_id is None


def test_a_translated_internal_visibility_is_accepted(admin_client, sandbox_tested):
    env = sandbox_tested
    ReferenceValue.objects.filter(
        environment=env.environment, database_id=env.database_id, kind="note_publish", value=2
    ).update(label="Nur intern")
    response = post(admin_client, enabled=None, note_publish_id=2)
    assert response.status_code == 302, errors_of(response)
    assert EnvironmentConfig.for_environment("sandbox").note_publish_id == 2


# --- issue 12.12: the base URL is a real http(s) origin + optional path ----------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "https://bc.example.com:99999",
        "https://bc.example.com:0",
        "https://bc.example.com:-1",
        "https://bc.example.com:http",
        'https://bc.example.com/a"b',
        "https://bc.example.com/<script>",
        "https://bc.example.com/a>b",
        "https://bc.example.com/a'b",
        "https://bc.example.com/a b",
        "https://bc.example.com/a\\b",
        "https://bc.example.com/%zz",
        "https://bc.example.com/\u202eevil",
        "https://<bc>.example.com",
        "https://bc.example.com/a`b",
    ],
)
def test_base_url_refuses_bad_ports_and_characters(value):
    from django.core.exceptions import ValidationError

    from integrations.autotask.services.configuration import normalise_base_url

    with pytest.raises(ValidationError):
        normalise_base_url(value)


@pytest.mark.parametrize(
    "value,stored",
    [
        ("https://bc.example.com", "https://bc.example.com"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://bc.example.com:1/checks/", "https://bc.example.com:1/checks"),
        ("https://bc.example.com:65535/a%20b/c-d_e.f~g", "https://bc.example.com:65535/a%20b/c-d_e.f~g"),
        ("https://[2001:db8::1]:8443/bc", "https://[2001:db8::1]:8443/bc"),
    ],
)
def test_base_url_accepts_origins_with_a_path(value, stored):
    from integrations.autotask.services.configuration import normalise_base_url

    assert normalise_base_url(value) == stored


def test_base_url_with_a_bad_port_is_a_field_error_on_the_page(admin_client, sandbox_tested):
    errors = errors_of(post(admin_client, base_url="https://bc.example.com:99999"))
    assert "port" in errors["base_url"]
