"""The audit log speaks the admin's words (issue 13, item 13): readable action names in the list, the
filter and the detail page; "enabled" changes read on → off; an environment switch is recorded under the
environment switched to, naming the one left."""

import re

from integrations.autotask.models import AuditEvent, AutotaskSettings

from .conftest import SETTINGS_URL, TEST_URL, form_data
from .test_save_and_reload import switch_to

LIST_URL = "/admin/autotask/auditevent/"


def test_disabling_reads_on_to_off(admin_client, enabled_sandbox):
    admin_client.post(SETTINGS_URL, form_data(enabled=None))
    event = AuditEvent.objects.filter(action="settings_changed").latest("id")
    assert "Enabled: on → off" in event.message
    assert event.data["changes"]["enabled"] == [True, False]
    assert "Enabled: on → off" in admin_client.get(LIST_URL).content.decode()


def test_an_environment_switch_is_recorded_under_the_new_environment(admin_client, sandbox_tested):
    assert switch_to(admin_client, "production").status_code == 302
    assert AutotaskSettings.load().environment == "production"
    event = AuditEvent.objects.filter(action="settings_changed").latest("id")
    assert event.environment == "production"
    assert event.data["switched_from"] == "sandbox"
    assert event.message.startswith("Switched to Production (from Sandbox).")
    assert "Environment: Sandbox → Production" in event.message


def test_list_and_filter_show_readable_action_names(admin_client, sim, db):
    admin_client.post(TEST_URL, {"environment": "sandbox", "username": "nobody@example.com"})
    html = admin_client.get(LIST_URL).content.decode()
    assert "Connection tested (Sandbox)" in html
    filter_links = re.findall(r'<a href="\?action=([^"]+)"[^>]*>([^<]+)</a>', html)
    assert ("test_connection", "Connection tested") in filter_links
    assert not any(label == code for code, label in filter_links)
    filtered = admin_client.get(LIST_URL + "?action=test_connection")
    assert filtered.status_code == 200 and "Connection tested" in filtered.content.decode()


def test_detail_shows_words_not_json(admin_client, enabled_sandbox):
    admin_client.post(SETTINGS_URL, form_data(enabled=None, queue_id=29700102))
    event = AuditEvent.objects.filter(action="settings_changed").latest("id")
    html = admin_client.get(f"{LIST_URL}{event.pk}/change/").content.decode()
    assert "Settings changed" in html and "settings_changed" not in html
    assert "<dt>Changes</dt>" in html and "Enabled: on → off" in html and "Queue: 29700102" in html
    assert '"changes"' not in html and "{&quot;" not in html and "queue_id" not in html
