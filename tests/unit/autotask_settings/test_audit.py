"""Every change is recorded: who, when, which fields."""

from integrations.autotask.models import AuditEvent

from .conftest import SETTINGS_URL, form_data


def test_save_records_who_and_which_fields(admin_client, admin_user, sandbox_tested):
    admin_client.post(
        SETTINGS_URL, form_data(enabled=None, base_url="https://bc.example.com", queue_id=29700102)
    )
    event = AuditEvent.objects.filter(action="settings_changed").latest("id")
    assert event.user == admin_user
    assert event.at is not None
    assert event.environment == "sandbox"
    assert set(event.data["fields"]) >= {"base_url", "queue_id"}
    assert event.data["changes"]["base_url"] == ["", "https://bc.example.com"]
    assert event.data["changes"]["queue_id"] == 29700102
    assert "Backupchecks base URL: (empty) → https://bc.example.com" in event.message


def test_enable_is_recorded(admin_client, sandbox_tested):
    admin_client.post(SETTINGS_URL, form_data())
    event = AuditEvent.objects.filter(action="settings_changed").latest("id")
    assert event.data["changes"]["enabled"] == [False, True]


def test_refused_save_records_nothing(admin_client, sandbox_tested):
    before = AuditEvent.objects.filter(action="settings_changed").count()
    admin_client.post(SETTINGS_URL, form_data(note_publish_id=1))
    assert AuditEvent.objects.filter(action="settings_changed").count() == before


def test_buttons_are_recorded(admin_client, admin_user, sandbox_tested):
    from .conftest import REFRESH_URL

    admin_client.post(REFRESH_URL, {"environment": "sandbox", "username": sandbox_tested.username})
    actions = list(AuditEvent.objects.filter(user=admin_user).values_list("action", flat=True))
    assert "test_connection" in actions and "refresh_reference" in actions


def test_audit_log_page_shows_who_and_what(admin_client, sandbox_tested):
    admin_client.post(SETTINGS_URL, form_data(enabled=None, base_url="https://bc.example.com"))
    html = admin_client.get("/admin/autotask/auditevent/").content.decode()
    assert "Settings changed (Sandbox)" in html and "settings-admin" in html
    assert "Changed: Backupchecks base URL: (empty) → https://bc.example.com" in html


def test_audit_log_page_marks_failures(admin_client, sim, db):
    from .conftest import TEST_URL

    admin_client.post(TEST_URL, {"environment": "sandbox", "username": "nobody@example.com", "secret": "x"})
    html = admin_client.get("/admin/autotask/auditevent/").content.decode()
    assert "Connection tested (Sandbox) — <strong>failed</strong>" in html
