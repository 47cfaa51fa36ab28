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


def switch_to(client, environment):
    """Save only the environment change (the other fields as the page shows them)."""
    form = client.get(SETTINGS_URL).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data = {name: ("on" if value is True else value) for name, value in data.items()}
    return client.post(SETTINGS_URL, {**data, "environment": environment})


def test_credentials_are_kept_per_environment(admin_client, sandbox_tested):
    # Switch to Production (disabled), enter its credentials, switch back: the Sandbox set is intact;
    # switch to Production again: the Production set is intact too.
    assert switch_to(admin_client, "production").status_code == 302
    assert AutotaskSettings.load().environment == "production"
    page = admin_client.get(SETTINGS_URL)
    assert "Production credentials" in page.content.decode()
    form = page.context["adminform"].form
    assert form["environment"].value() == "production"
    assert form["username"].value() == ""
    response = admin_client.post(
        SETTINGS_URL,
        {
            "environment": "production",
            "username": "api-prod@example.com",
            "secret": "prod-secret-1",
            "integration_code": "PRODTRACKING1",
            "impersonation_resource_id": "42",
        },
    )
    assert response.status_code == 302
    assert switch_to(admin_client, "sandbox").status_code == 302

    production = EnvironmentConfig.for_environment("production")
    assert (production.username, production.secret, production.integration_code) == (
        "api-prod@example.com",
        "prod-secret-1",
        "PRODTRACKING1",
    )
    assert production.impersonation_resource_id == 42
    sandbox = EnvironmentConfig.for_environment("sandbox")
    assert (sandbox.username, sandbox.secret, sandbox.integration_code) == (
        SANDBOX.username,
        SANDBOX.secret,
        SANDBOX.integration_code,
    )
    assert sandbox.database_id == SANDBOX.database_id  # the tested tenant is kept as well
    page = admin_client.get(SETTINGS_URL)
    assert "Sandbox credentials" in page.content.decode()
    assert page.context["adminform"].form["username"].value() == SANDBOX.username
    assert page.context["adminform"].form["impersonation_resource_id"].value() is None

    assert switch_to(admin_client, "production").status_code == 302
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert form["username"].value() == "api-prod@example.com"
    assert form["impersonation_resource_id"].value() == 42
    assert EnvironmentConfig.for_environment("production").secret == "prod-secret-1"


@pytest.mark.parametrize(
    "edit",
    [
        {"username": "api-prod@example.com"},
        {"secret": "prod-secret-1"},
        {"integration_code": "PRODTRACKING1"},
        {"clear_secret": "on"},
        {"impersonation_resource_id": "42"},
        {"queue_id": 29700109},
    ],
)
def test_switching_environment_together_with_other_edits_is_refused(admin_client, sandbox_tested, edit):
    # Typing Production credentials into the (Sandbox) fields while switching would overwrite Sandbox's.
    data = {"environment": "production", "username": SANDBOX.username, **edit}
    response = admin_client.post(SETTINGS_URL, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Switch to Production on its own" in " ".join(errors["environment"])
    assert AutotaskSettings.load().environment == "sandbox"
    sandbox = EnvironmentConfig.for_environment("sandbox")
    assert (sandbox.username, sandbox.secret, sandbox.queue_id) == (SANDBOX.username, SANDBOX.secret, None)


def test_environment_help_names_the_environment_shown(admin_client, sandbox_tested):
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert "below are the Sandbox ones" in form.fields["environment"].help_text


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
    # … and once more where the empty lists are, not repeated under each of the ten dropdowns
    assert 'id="autotask-defaults-need-reference-data"' in html
    assert html.count("refresh reference data") <= 3
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert form.fields["queue_id"].choices == [("", "---------")]


def test_with_reference_data_the_notices_are_gone(admin_client, sandbox_tested):
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert 'id="autotask-no-reference-data"' not in html
    assert 'id="autotask-defaults-need-reference-data"' not in html
    assert "Chosen from the cached reference data of the Sandbox tenant" in html


def test_customer_visible_note_visibility_is_shown_but_cannot_be_picked(admin_client, sandbox_tested):
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert (
        '<option value="1" disabled>All Autotask Users (1) — visible to customers, not allowed</option>'
        in html
    )
    assert '<option value="2">Internal Only (2)</option>' in html


def test_a_stored_customer_visible_note_visibility_stays_selected_to_be_refused(admin_client, sandbox_tested):
    # Stored behind the form's back: shown selected (not disabled), so saving names the problem.
    sandbox_tested.note_publish_id = 1
    sandbox_tested.save()
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert '<option value="1" selected>All Autotask Users (1)' in html


def test_page_title_is_the_settings_name(admin_client, db):
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert "<h1>Autotask settings</h1>" in html
    assert "Change Autotask settings" not in html


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
