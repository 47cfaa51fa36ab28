"""When saving the settings talks to Autotask (issue 12.1, 13.3) and the failed-test warning (13.6).

A live connection test is needed for enabling, for changed credentials while enabled and for switching
environment while enabled — and it runs before Django's save transaction, never inside it. Saving the
defaults of an enabled, tested configuration makes no API call, so it works while Autotask is down.
"""

import pytest
from django.db import transaction

from integrations.autotask.models import AutotaskSettings, EnvironmentConfig
from integrations.autotask.services import connection
from integrations.autotask.simulator import SANDBOX

from .conftest import SETTINGS_URL, form_data
from .test_validation import errors_of, post, snapshot


def autotask_down(sim):
    sim.inject_fault(entity=None, method=None, mode="fail_500", times=None)


def test_saving_defaults_of_an_enabled_tested_configuration_makes_no_api_call(
    admin_client, enabled_sandbox, sim
):
    autotask_down(sim)
    sim.clear_requests()
    response = post(admin_client, warning_priority_id=1)
    assert response.status_code == 302, errors_of(response)
    assert sim.api_call_count() == 0
    assert EnvironmentConfig.for_environment("sandbox").warning_priority_id == 1
    assert AutotaskSettings.load().enabled is True


def test_saving_base_url_and_impersonation_while_enabled_makes_no_api_call(
    admin_client, enabled_sandbox, sim
):
    autotask_down(sim)
    sim.clear_requests()
    response = post(admin_client, base_url="https://bc.example.com/checks", impersonation_resource_id="42")
    assert response.status_code == 302, errors_of(response)
    assert sim.api_call_count() == 0


def test_changed_credentials_while_enabled_are_tested_and_the_message_says_so(
    admin_client, enabled_sandbox, sim
):
    before = snapshot()
    sim.clear_requests()
    errors = errors_of(post(admin_client, secret="not-the-secret"))
    assert sim.api_call_count() >= 1
    message = errors["enabled"]
    assert (
        "the integration is enabled, so the changed Sandbox credentials (API secret) were tested" in message
    )
    assert "Nothing was saved" in message
    assert "Cannot enable" not in message
    assert "not-the-secret" not in message
    assert snapshot() == before


def test_enabling_while_autotask_is_down_is_refused_with_what_was_attempted(
    admin_client, sandbox_tested, sim
):
    autotask_down(sim)
    errors = errors_of(post(admin_client, **{}))
    assert errors["enabled"].startswith(
        "Cannot enable: the connection test of the Sandbox credentials failed."
    )
    assert AutotaskSettings.load().enabled is False


def test_a_successful_enabling_save_says_it_tested_the_connection(admin_client, sandbox_tested, sim):
    response = admin_client.post(SETTINGS_URL, form_data(), follow=True)
    html = response.content.decode()
    assert "The Autotask settings were saved. Connection tested first: zone" in html
    assert f"database id {SANDBOX.database_id}" in html


def test_no_autotask_client_can_be_built_inside_a_transaction(sandbox_tested, sim):
    sim.clear_requests()
    with transaction.atomic(), pytest.raises(connection.CalledInsideTransaction):
        connection.probe(connection.credentials_for(sandbox_tested))
    assert sim.api_call_count() == 0


def test_the_save_time_probe_runs_with_no_transaction_open(admin_client, sandbox_tested, sim, monkeypatch):
    seen = []
    real_probe = connection.probe

    def watching_probe(credentials):
        from django.db import connection as db

        seen.append([block._from_testcase for block in db.atomic_blocks])
        return real_probe(credentials)

    monkeypatch.setattr(connection, "probe", watching_probe)
    response = post(admin_client)
    assert response.status_code == 302
    # only the test case's own wrapper transaction (pytest-django `db`), never the admin's save transaction
    assert seen == [[True]]


# --- 13.6: a failed connection test while enabled is a visible warning -----------------------------------


def failed_test(env_config, message="Autotask could not be reached (connection refused)."):
    env_config.refresh_from_db()
    env_config.last_test_ok = False
    env_config.last_test_message = message
    env_config.save()


def test_failed_connection_test_while_enabled_warns_on_admin_index_and_settings_page(
    admin_client, enabled_sandbox
):
    failed_test(EnvironmentConfig.for_environment("sandbox"))
    for url in ("/admin/", SETTINGS_URL):
        html = admin_client.get(url).content.decode()
        assert "Autotask is enabled, but the last connection test (Sandbox" in html, url
        assert "connection refused" in html


def test_no_connection_warning_when_disabled_or_the_last_test_passed(admin_client, enabled_sandbox):
    for url in ("/admin/", SETTINGS_URL):
        assert "last connection test (Sandbox" not in admin_client.get(url).content.decode()
    failed_test(EnvironmentConfig.for_environment("sandbox"))
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    for url in ("/admin/", SETTINGS_URL):
        assert "last connection test (Sandbox" not in admin_client.get(url).content.decode()


def test_failed_test_connection_button_while_enabled_then_warns(admin_client, enabled_sandbox, sim):
    autotask_down(sim)
    admin_client.post(
        "/admin/autotask/autotasksettings/test-connection/",
        {"environment": "sandbox", "username": SANDBOX.username},
    )
    html = admin_client.get("/admin/").content.decode()
    assert "Autotask is enabled, but the last connection test (Sandbox" in html
