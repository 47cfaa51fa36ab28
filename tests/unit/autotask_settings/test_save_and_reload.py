"""Every setting is stored and shown again after a reload (secrets: stored, never shown)."""

import pytest

from integrations.autotask.models import AutotaskSettings, EnvironmentConfig, ReferenceValue
from integrations.autotask.simulator import SANDBOX

from .conftest import SANDBOX_DEFAULTS, SETTINGS_URL, form_data


def save(client, **overrides):
    return client.post(SETTINGS_URL, form_data(**overrides))


def field_errors(response):
    form = response.context["adminform"].form
    return {name: " ".join(errors) for name, errors in form.errors.items()}


def test_every_field_saved_and_reloaded(admin_client, sandbox_tested):
    response = save(
        admin_client,
        base_url="https://backupchecks.example.com/",
        compatibility_mode="on",
        impersonation_resource_id="29700401",
        missed_priority_id=4,
        secret=SANDBOX.secret,
        integration_code=SANDBOX.integration_code,
    )
    assert response.status_code == 302, field_errors(response)
    assert response["Location"] == SETTINGS_URL

    settings = AutotaskSettings.load()
    assert settings.enabled is True
    assert settings.environment == "sandbox"
    assert settings.base_url == "https://backupchecks.example.com"  # trailing slash stripped
    assert settings.compatibility_mode is True
    env = EnvironmentConfig.for_environment("sandbox")
    assert env.username == SANDBOX.username
    assert env.secret == SANDBOX.secret
    assert env.integration_code == SANDBOX.integration_code
    assert env.impersonation_resource_id == 29700401
    expected = {k: (v or None) for k, v in SANDBOX_DEFAULTS.items()} | {"missed_priority_id": 4}
    assert {field: getattr(env, field) for field in expected} == expected

    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert form["enabled"].value() is True
    assert form["base_url"].value() == "https://backupchecks.example.com"
    assert form["compatibility_mode"].value() is True
    assert form["username"].value() == SANDBOX.username
    assert form["impersonation_resource_id"].value() == 29700401
    for field, value in expected.items():
        assert form[field].value() == value, field
    assert form["secret"].value() in (None, "")


def test_saving_while_disabled_allows_incomplete_data(admin_client, db):
    response = admin_client.post(
        SETTINGS_URL, {"environment": "sandbox", "username": "someone@example.com", "base_url": ""}
    )
    assert response.status_code == 302
    env = EnvironmentConfig.for_environment("sandbox")
    assert env.username == "someone@example.com"
    assert env.secret == ""
    assert AutotaskSettings.load().enabled is False


def test_credentials_are_kept_per_environment(admin_client, sandbox_tested):
    # Switch to Production (disabled), enter its credentials, switch back: the Sandbox set is intact.
    assert save(admin_client, enabled=None, environment="production").status_code == 302
    assert AutotaskSettings.load().environment == "production"
    page = admin_client.get(SETTINGS_URL)
    assert "Production credentials" in page.content.decode()
    assert page.context["adminform"].form["username"].value() == ""
    response = admin_client.post(
        SETTINGS_URL,
        {
            "environment": "sandbox",
            "username": "api-prod@example.com",
            "secret": "prod-secret-1",
            "integration_code": "PRODTRACKING1",
        },
    )
    assert response.status_code == 302
    production = EnvironmentConfig.for_environment("production")
    assert (production.username, production.secret, production.integration_code) == (
        "api-prod@example.com",
        "prod-secret-1",
        "PRODTRACKING1",
    )
    sandbox = EnvironmentConfig.for_environment("sandbox")
    assert (sandbox.username, sandbox.secret, sandbox.integration_code) == (
        SANDBOX.username,
        SANDBOX.secret,
        SANDBOX.integration_code,
    )
    page = admin_client.get(SETTINGS_URL)
    assert "Sandbox credentials" in page.content.decode()
    assert page.context["adminform"].form["username"].value() == SANDBOX.username


def test_empty_secret_fields_keep_the_stored_values(admin_client, sandbox_tested):
    assert save(admin_client, enabled=None, secret="", integration_code="").status_code == 302
    env = EnvironmentConfig.for_environment("sandbox")
    assert env.secret == SANDBOX.secret
    assert env.integration_code == SANDBOX.integration_code


def test_typed_secret_replaces_the_stored_one(admin_client, sandbox_tested):
    assert save(admin_client, enabled=None, secret="a-new-secret").status_code == 302
    assert EnvironmentConfig.for_environment("sandbox").secret == "a-new-secret"


@pytest.mark.parametrize("field", ["secret", "integration_code"])
def test_clearing_is_an_explicit_checkbox(admin_client, sandbox_tested, field):
    assert save(admin_client, enabled=None, **{f"clear_{field}": "on"}).status_code == 302
    env = EnvironmentConfig.for_environment("sandbox")
    assert getattr(env, field) == ""
    other = "integration_code" if field == "secret" else "secret"
    assert getattr(env, other) != ""


@pytest.mark.parametrize("field", ["secret", "integration_code"])
def test_typing_and_clearing_at_once_is_refused(admin_client, sandbox_tested, field):
    response = save(admin_client, enabled=None, **{field: "new-value", f"clear_{field}": "on"})
    assert response.status_code == 200
    assert "not both" in field_errors(response)[f"clear_{field}"]
    assert getattr(EnvironmentConfig.for_environment("sandbox"), field) != "new-value"


@pytest.mark.parametrize(
    "raw,stored",
    [
        ("https://backupchecks.example.com/", "https://backupchecks.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://msp.example.com/backupchecks///", "https://msp.example.com/backupchecks"),
        ("", ""),
    ],
)
def test_base_url_is_normalised(admin_client, db, raw, stored):
    assert admin_client.post(SETTINGS_URL, {"environment": "sandbox", "base_url": raw}).status_code == 302
    assert AutotaskSettings.load().base_url == stored


def test_without_reference_data_the_page_says_to_test_and_refresh(admin_client, db):
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert 'id="autotask-no-reference-data"' in html
    assert "test the connection" in html and "refresh reference data" in html
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert form.fields["queue_id"].choices == [("", "---------")]


def test_dropdowns_offer_active_values_of_the_selected_tenant_only(admin_client, sandbox_tested):
    # A value of another tenant (production) and an inactive sandbox value are not offered.
    ReferenceValue.objects.create(
        environment="production", database_id=29683700, kind="queue", value=29682833, label="Prod Queue"
    )
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    queues = dict(form.fields["queue_id"].choices)
    assert queues[29700109] == "Backup Checks (29700109)"
    assert 29700110 not in queues  # "Old Triage Queue" is inactive in the simulator's sandbox
    assert 29682833 not in queues
    priorities = dict(form.fields["warning_priority_id"].choices)
    assert 6 not in priorities  # "Planned (retired)" inactive
    assert set(priorities) == {"", 4, 1, 2, 3}


def test_resolved_status_preselects_complete(admin_client, sandbox_tested):
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert form["resolved_status_id"].value() == 5
    assert dict(form.fields["resolved_status_id"].choices)[5] == "Complete (5)"
