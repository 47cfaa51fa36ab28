"""Test connection / Refresh reference data: typed credentials, stored on success, messages."""

import pytest
from django.contrib.messages import get_messages

from integrations.autotask.models import AuditEvent, EnvironmentConfig, ReferenceValue
from integrations.autotask.simulator import SANDBOX

from .conftest import REFRESH_URL, SETTINGS_URL, TEST_URL


def typed_credentials(**overrides):
    data = {
        "environment": "sandbox",
        "username": SANDBOX.username,
        "secret": SANDBOX.secret,
        "integration_code": SANDBOX.integration_code,
    }
    data.update(overrides)
    return data


def messages_of(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_test_connection_reports_zone_database_id_and_usage(admin_client, sim, db):
    response = admin_client.post(TEST_URL, typed_credentials())
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    [(level, text)] = messages_of(response)
    assert level == "success"
    assert "zone PRE2" in text
    assert f"database id {SANDBOX.database_id}" in text
    assert "of 10,000 requests this hour" in text
    env = EnvironmentConfig.for_environment("sandbox")
    # proven credentials are stored
    assert (env.username, env.secret, env.integration_code) == (
        SANDBOX.username,
        SANDBOX.secret,
        SANDBOX.integration_code,
    )
    assert env.database_id == SANDBOX.database_id and env.last_test_ok is True
    assert AuditEvent.objects.filter(action="credentials_changed").get().data["fields"] == [
        "username",
        "secret",
        "integration_code",
    ]


def test_failed_test_shows_the_typed_error_and_stores_no_credentials(admin_client, sim, db):
    response = admin_client.post(TEST_URL, typed_credentials(integration_code="WRONG-TRACKING-ID"))
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text.startswith("Connection test failed (Sandbox):")
    assert "WRONG-TRACKING-ID" not in text and SANDBOX.secret not in text
    env = EnvironmentConfig.for_environment("sandbox")
    assert env.secret == "" and env.integration_code == ""
    assert env.last_test_ok is False


def test_empty_secret_fields_use_the_stored_credentials(admin_client, sandbox_tested):
    response = admin_client.post(TEST_URL, typed_credentials(secret="", integration_code=""))
    assert messages_of(response)[0][0] == "success"


def test_incomplete_credentials_are_reported_without_calling_autotask(admin_client, sim, db):
    sim.clear_requests()
    response = admin_client.post(TEST_URL, typed_credentials(secret=""))
    [(level, text)] = messages_of(response)
    assert level == "error" and "API secret missing" in text
    assert sim.api_call_count() == 0


@pytest.mark.parametrize("resource_id", ["x", "99999999999999999999"])
def test_invalid_typed_values_are_reported(admin_client, sim, db, resource_id):
    # (An id beyond the database's integer range was a 500 when the successful test stored it.)
    sim.clear_requests()
    response = admin_client.post(TEST_URL, typed_credentials(impersonation_resource_id=resource_id))
    [(level, text)] = messages_of(response)
    assert level == "error" and text.startswith("Nothing was tested:")
    assert sim.api_call_count() == 0


def test_refresh_caches_reference_data_and_reports(admin_client, sim, db):
    response = admin_client.post(REFRESH_URL, typed_credentials())
    levels_texts = messages_of(response)
    assert [lvl for lvl, _ in levels_texts] == ["success"]
    text = levels_texts[0][1]
    assert (
        "zone PRE2" in text and f"database id {SANDBOX.database_id}" in text and "requests this hour" in text
    )
    assert "queue" in text
    assert ReferenceValue.objects.filter(environment="sandbox", database_id=SANDBOX.database_id).count() > 10
    page = admin_client.get(SETTINGS_URL)
    assert 'id="autotask-no-reference-data"' not in page.content.decode()
    assert (
        dict(page.context["adminform"].form.fields["queue_id"].choices)[29700109]
        == "Backup Checks (29700109)"
    )


def test_refresh_with_wrong_credentials_leaves_the_cache_alone(admin_client, sandbox_tested):
    before = ReferenceValue.objects.count()
    response = admin_client.post(REFRESH_URL, typed_credentials(secret="nope"))
    assert messages_of(response)[0][0] == "error"
    assert ReferenceValue.objects.count() == before


def test_buttons_work_while_disabled_and_do_not_enable(admin_client, sim, db):
    from integrations.autotask.models import AutotaskSettings

    admin_client.post(REFRESH_URL, typed_credentials(enabled="on"))
    assert AutotaskSettings.load().enabled is False


def test_the_page_shows_both_buttons_inside_the_csrf_protected_form(admin_client, db):
    html = admin_client.get(SETTINGS_URL).content.decode()
    start = html.index('id="autotasksettings_form"')
    form_html = html[start : html.index("</form>", start)]
    assert 'name="csrfmiddlewaretoken"' in form_html
    assert f'formaction="{TEST_URL}"' in form_html and ">Test connection</button>" in form_html
    assert f'formaction="{REFRESH_URL}"' in form_html and ">Refresh reference data</button>" in form_html


def test_failed_test_reports_the_typed_errors_message(admin_client, sim, db):
    # Exactly the message of the AutotaskAuthError the client raised, after the environment.
    from integrations.autotask.exceptions import AutotaskAuthError
    from integrations.autotask.messages import operator_message
    from integrations.autotask.services import connection

    env = EnvironmentConfig.for_environment("sandbox")
    env.username, env.secret, env.integration_code = (
        SANDBOX.username,
        "wrong-secret",
        SANDBOX.integration_code,
    )
    try:
        connection.probe(connection.credentials_for(env))
    except AutotaskAuthError as exc:
        expected = operator_message(exc)  # the one error→text helper: requests in plain words
    response = admin_client.post(TEST_URL, typed_credentials(secret="wrong-secret"))
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text == f"Connection test failed (Sandbox): {expected}"
    assert "check the API username and secret" in text
    assert "ThresholdInformation" not in text and "the sign-in check" in text


def test_refresh_failure_after_a_good_test_is_reported_and_keeps_the_cache(admin_client, sandbox_tested, sim):
    before = set(ReferenceValue.objects.values_list("kind", "value", "label", "is_active"))
    sim.inject_fault(entity="Tickets", method="GET", mode="fail_500", times=100)
    response = admin_client.post(REFRESH_URL, typed_credentials(secret="", integration_code=""))
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text.startswith("Refreshing reference data failed:")
    assert set(ReferenceValue.objects.values_list("kind", "value", "label", "is_active")) == before


def test_refresh_message_counts_with_plural_names(admin_client, sim, db):
    [(_, text)] = messages_of(admin_client.post(REFRESH_URL, typed_credentials()))
    assert "5 queues (1 inactive)" in text and "2 note visibilities" in text and "5 priorities" in text
    html = admin_client.get(SETTINGS_URL).content.decode()
    # the panel counts as the message does (it said "4 queues", active only, next to "5 queues (1 inactive)")
    assert "5 queues (1 inactive)" in html and "2 note visibilities" in html


def test_buttons_refuse_when_another_environment_was_chosen_on_the_page(admin_client, sim, db):
    # The page shows Sandbox; the admin picked Production in the dropdown and typed credentials.
    sim.clear_requests()
    for url in (TEST_URL, REFRESH_URL):
        response = admin_client.post(url, typed_credentials(environment="production"))
        level, text = messages_of(response)[-1]
        assert level == "error"
        assert "save the environment change first" in text
    assert sim.api_call_count() == 0
    assert EnvironmentConfig.for_environment("sandbox").secret == ""
    assert EnvironmentConfig.for_environment("production").secret == ""
