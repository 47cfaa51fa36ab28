"""Issue 14: the settings page stores the pacing ceiling ("pause background work at … %"), 50–95."""

import pytest

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.services import budget
from integrations.autotask.simulator import SANDBOX

from .conftest import SETTINGS_URL, form_data


def _save(client, **overrides):
    return client.post(
        SETTINGS_URL,
        form_data(secret=SANDBOX.secret, integration_code=SANDBOX.integration_code, **overrides),
    )


def test_the_ceiling_is_saved_shown_and_used_by_pacing(admin_client, sandbox_tested):
    assert AutotaskSettings.load().pacing_ceiling_percent == 80
    assert budget.configured_ceiling() == 0.8
    response = _save(admin_client, pacing_ceiling_percent="70")
    assert response.status_code == 302
    assert AutotaskSettings.load().pacing_ceiling_percent == 70
    assert budget.configured_ceiling() == 0.7
    page = admin_client.get(SETTINGS_URL).content.decode()
    assert 'name="pacing_ceiling_percent" value="70"' in page
    assert 'href="/autotask/health/"' in page  # the settings page links to the health page


def test_a_post_without_the_field_keeps_the_stored_value(admin_client, sandbox_tested):
    settings = AutotaskSettings.load()
    settings.pacing_ceiling_percent = 90
    settings.save()
    assert _save(admin_client).status_code == 302
    assert AutotaskSettings.load().pacing_ceiling_percent == 90


@pytest.mark.parametrize("value", ["49", "96", "0", "100", "abc"])
def test_a_ceiling_outside_50_to_95_is_refused(admin_client, sandbox_tested, value):
    response = _save(admin_client, pacing_ceiling_percent=value)
    assert response.status_code == 200
    assert "pacing_ceiling_percent" in response.context["adminform"].form.errors
    assert AutotaskSettings.load().pacing_ceiling_percent == 80


def test_the_field_tells_the_browser_its_range(admin_client, sandbox_tested):
    """hbreak: the number field said min="0" and no max, so the browser offered 0–∞ while 50–95 is valid."""
    page = admin_client.get(SETTINGS_URL).content.decode()
    field = page[page.index('name="pacing_ceiling_percent"') - 200 :][:400]
    assert 'min="50"' in field and 'max="95"' in field


def test_every_number_field_tells_the_browser_its_range(admin_client, sandbox_tested):
    """hbreak2: "Ticket due after (hours)" said min="0" and no max while 1–2160 is valid (the model's
    validators): 0 then got "≥ 1" and -1 "≥ 0"."""
    page = admin_client.get(SETTINGS_URL).content.decode()
    field = page[page.index('name="ticket_due_hours"') - 200 :][:400]
    assert 'min="1"' in field and 'max="2160"' in field
