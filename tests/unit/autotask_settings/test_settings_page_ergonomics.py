"""The Autotask settings page as an admin uses it (issue 13, item 12): Test connection / Refresh right under
the credentials, typed non-secret fields survive a failed test, "Clear stored secret" only when a secret is
stored, and messages in the admin's words (no endpoint names)."""

import re

from integrations.autotask.models import EnvironmentConfig
from integrations.autotask.simulator import SANDBOX

from .conftest import SETTINGS_URL, TEST_URL, form_data


def page(client):
    return client.get(SETTINGS_URL).content.decode()


def test_buttons_sit_right_under_the_credentials(admin_client, sandbox_tested):
    html = page(admin_client)
    credentials = html.index("Sandbox credentials")
    buttons = html.index('id="autotask-connection-buttons"')
    panel = html.index('id="autotask-connection-panel"')
    impersonation = html.index('name="impersonation_resource_id"')
    assert credentials < impersonation < buttons < panel
    assert (
        html.count('id="autotask-test-connection"') == 1
        and html.count('id="autotask-refresh-reference"') == 1
    )


def test_clear_stored_secret_only_when_a_secret_is_stored(admin_client, sim, db):
    html = page(admin_client)
    assert "Clear stored secret" not in html and "Clear stored Tracking Identifier" not in html
    env = EnvironmentConfig.for_environment("sandbox")
    env.secret = SANDBOX.secret
    env.save()
    html = page(admin_client)
    assert "Clear stored secret" in html and "Clear stored Tracking Identifier" not in html


def test_typed_fields_survive_a_failed_test_but_secrets_do_not(admin_client, sim, db):
    data = form_data(
        enabled=None,
        username="typo@example.com",
        secret="typed-secret-123",
        integration_code="typed-code-456",
        base_url="https://bc.example.org",
        impersonation_resource_id="42",
    )
    response = admin_client.post(TEST_URL, data, follow=True)
    html = response.content.decode()
    assert "Connection test failed (Sandbox)" in html
    assert re.search(r'name="username" value="typo@example.com"', html)
    assert re.search(r'name="base_url" value="https://bc.example.org"', html)
    assert re.search(r'name="impersonation_resource_id" value="42"', html)
    assert "typed-secret-123" not in html and "typed-code-456" not in html
    # nothing but the failed test result was stored, and the draft is shown once
    env = EnvironmentConfig.for_environment("sandbox")
    assert env.username == "" and env.last_test_ok is False
    assert 'value="typo@example.com"' not in page(admin_client)


def test_failure_messages_name_no_endpoints(admin_client, sim, db):
    response = admin_client.post(
        TEST_URL, form_data(enabled=None, secret="wrong", integration_code="wrong"), follow=True
    )
    html = response.content.decode()
    assert "Connection test failed" in html
    assert "ThresholdInformation" not in html and "zoneInformation" not in html
    assert "GET " not in EnvironmentConfig.for_environment("sandbox").last_test_message
