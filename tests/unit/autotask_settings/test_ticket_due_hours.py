"""Phase 4: the settings page stores "ticket due after (hours)" (the due date of new tickets)."""

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.simulator import SANDBOX

from .conftest import SETTINGS_URL, form_data


def _save(client, **overrides):
    return client.post(
        SETTINGS_URL,
        form_data(secret=SANDBOX.secret, integration_code=SANDBOX.integration_code, **overrides),
    )


def test_due_hours_are_saved_and_shown(admin_client, sandbox_tested):
    assert AutotaskSettings.load().ticket_due_hours == 24
    response = _save(admin_client, ticket_due_hours="6")
    assert response.status_code == 302
    assert AutotaskSettings.load().ticket_due_hours == 6
    page = admin_client.get(SETTINGS_URL).content.decode()
    assert 'name="ticket_due_hours" value="6"' in page


def test_a_post_without_the_field_keeps_the_stored_value(admin_client, sandbox_tested):
    settings = AutotaskSettings.load()
    settings.ticket_due_hours = 48
    settings.save()
    assert _save(admin_client).status_code == 302
    assert AutotaskSettings.load().ticket_due_hours == 48


def test_zero_hours_are_refused(admin_client, sandbox_tested):
    response = _save(admin_client, ticket_due_hours="0")
    assert response.status_code == 200
    assert "ticket_due_hours" in response.context["adminform"].form.errors
