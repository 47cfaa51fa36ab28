"""The API secret and the Tracking Identifier: encrypted at rest, never rendered, logged or repr()'d;
key rotation with FERNET_KEYS=[new, old]."""

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection as db_connection

from integrations.autotask.forms import AutotaskSettingsForm
from integrations.autotask.models import AutotaskSettings, EnvironmentConfig
from integrations.autotask.services.configuration import configuration_problems
from integrations.autotask.simulator import SANDBOX

from .conftest import REFRESH_URL, SETTINGS_URL, TEST_URL, form_data

SECRET = "s3cr3t-VALUE-never-shown"
TRACKING = "TRACKING-ID-never-shown"


def raw_columns(environment="sandbox"):
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret, integration_code FROM autotask_environmentconfig WHERE environment = %s",
            [environment],
        )
        return [bytes(value) for value in cursor.fetchone()]


def test_raw_database_columns_hold_ciphertext(db):
    env = EnvironmentConfig.for_environment("sandbox")
    env.secret, env.integration_code = SECRET, TRACKING
    env.save()
    secret_raw, tracking_raw = raw_columns()
    assert SECRET.encode() not in secret_raw and TRACKING.encode() not in tracking_raw
    field = EnvironmentConfig._meta.get_field("secret")
    assert field.fernet.decrypt(secret_raw).decode() == SECRET
    assert field.fernet.decrypt(tracking_raw).decode() == TRACKING


def test_secrets_never_appear_in_pages_logs_or_reprs(admin_client, sim, db, caplog):
    caplog.set_level(logging.DEBUG)
    typed = {
        "environment": "sandbox",
        "username": SANDBOX.username,
        "secret": SANDBOX.secret,
        "integration_code": SANDBOX.integration_code,
    }
    pages = [
        admin_client.post(TEST_URL, typed, follow=True),
        admin_client.post(REFRESH_URL, typed, follow=True),
    ]
    # a failed save re-renders the form with what was posted
    pages.append(
        admin_client.post(
            SETTINGS_URL,
            form_data(secret=SANDBOX.secret, integration_code=SANDBOX.integration_code, note_publish_id=1),
        )
    )
    pages.append(
        admin_client.post(
            SETTINGS_URL,
            form_data(secret=SANDBOX.secret, integration_code=SANDBOX.integration_code),
            follow=True,
        )
    )
    pages.append(admin_client.get(SETTINGS_URL))
    pages.append(admin_client.get("/admin/autotask/auditevent/"))
    pages.append(admin_client.get("/admin/"))
    assert pages[3].redirect_chain, "the valid save should have succeeded"
    for page in pages:
        html = page.content.decode()
        assert SANDBOX.secret not in html and SANDBOX.integration_code not in html
    for record in caplog.records:
        text = record.getMessage() + str(record.args)
        assert SANDBOX.secret not in text and SANDBOX.integration_code not in text
    env = EnvironmentConfig.for_environment("sandbox")
    settings = AutotaskSettings.load()
    form = AutotaskSettingsForm(data=form_data(secret=SANDBOX.secret), instance=settings)
    form.is_valid()
    for obj in (env, settings, form):
        for text in (repr(obj), str(obj)):
            assert SANDBOX.secret not in text and SANDBOX.integration_code not in text
    assert SANDBOX.secret not in str(configuration_problems())


def test_wrong_secret_error_text_has_no_secret(admin_client, sim, db):
    response = admin_client.post(
        TEST_URL,
        {
            "environment": "sandbox",
            "username": SANDBOX.username,
            "secret": SECRET,
            "integration_code": TRACKING,
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Connection test failed" in html
    assert SECRET not in html and TRACKING not in html
    assert SECRET not in EnvironmentConfig.for_environment("sandbox").last_test_message


def test_audit_log_names_secret_fields_but_never_values(admin_client, sandbox_tested):
    from integrations.autotask.models import AuditEvent

    admin_client.post(SETTINGS_URL, form_data(enabled=None, secret=SECRET, clear_integration_code="on"))
    event = AuditEvent.objects.filter(action="settings_changed").latest("id")
    assert {"secret", "integration_code"} <= set(event.data["fields"])
    assert SECRET not in str(event.data) and SECRET not in event.message
    assert "secret" not in event.data["changes"]


# --- key rotation -------------------------------------------------------------------------------------

NEW_KEY, OLD_KEY = "rotation-new-key", "rotation-old-key"
ENCRYPTED_FIELDS = [EnvironmentConfig._meta.get_field(name) for name in ("secret", "integration_code")]


@pytest.fixture
def fernet_keys(settings):
    """Set FERNET_KEYS and drop the keys fernet_fields caches on the fields (cached_property)."""

    def use(keys):
        settings.FERNET_KEYS = keys
        for field in ENCRYPTED_FIELDS:
            for cached in ("keys", "fernet_keys", "fernet"):
                field.__dict__.pop(cached, None)

    original = list(settings.FERNET_KEYS)
    yield use
    use(original)


def fernet_for(key):
    from fernet_fields import hkdf

    return Fernet(hkdf.derive_fernet_key(key))


def test_key_rotation_old_values_decrypt_and_resave_uses_the_new_key(db, fernet_keys):
    fernet_keys([OLD_KEY])
    env = EnvironmentConfig.for_environment("sandbox")
    env.secret, env.integration_code = SECRET, TRACKING
    env.save()
    secret_raw, _ = raw_columns()
    assert fernet_for(OLD_KEY).decrypt(secret_raw).decode() == SECRET

    fernet_keys([NEW_KEY, OLD_KEY])
    env = EnvironmentConfig.objects.get(environment="sandbox")
    assert (env.secret, env.integration_code) == (
        SECRET,
        TRACKING,
    )  # written under the old key, still readable
    env.save()  # re-saving re-encrypts with the first (new) key
    secret_raw, tracking_raw = raw_columns()
    assert fernet_for(NEW_KEY).decrypt(secret_raw).decode() == SECRET
    assert fernet_for(NEW_KEY).decrypt(tracking_raw).decode() == TRACKING
    with pytest.raises(InvalidToken):
        fernet_for(OLD_KEY).decrypt(secret_raw)

    fernet_keys([NEW_KEY])  # the old key can now be removed
    assert EnvironmentConfig.objects.get(environment="sandbox").secret == SECRET


def test_without_the_old_key_old_values_do_not_decrypt(db, fernet_keys):
    fernet_keys([OLD_KEY])
    env = EnvironmentConfig.for_environment("sandbox")
    env.secret = SECRET
    env.save()
    fernet_keys([NEW_KEY])
    with pytest.raises(InvalidToken):
        EnvironmentConfig.objects.get(environment="sandbox")


def test_documented_recovery_after_losing_every_key(db, fernet_keys):
    fernet_keys([OLD_KEY])
    env = EnvironmentConfig.for_environment("sandbox")
    env.secret, env.integration_code = SECRET, TRACKING
    env.save()
    fernet_keys([NEW_KEY])
    EnvironmentConfig.objects.update(secret="", integration_code="")  # docs/operations.md
    env = EnvironmentConfig.objects.get(environment="sandbox")
    assert (env.secret, env.integration_code) == ("", "")


# --- error reports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SETTINGS_URL, TEST_URL, REFRESH_URL])
def test_error_reports_of_a_crashing_request_hide_the_posted_secrets(
    admin_client, sandbox_tested, monkeypatch, caplog, url
):
    """A 500 while saving or testing: Django's error report (the admins' mail, the DEBUG page) shows the
    POST data — the secret and the Tracking Identifier must appear as stars."""
    from django.views.debug import ExceptionReporter

    from integrations.autotask.admin import AutotaskSettingsAdmin
    from integrations.autotask.services import connection

    def crash(*args, **kwargs):
        raise RuntimeError("unexpected failure")

    monkeypatch.setattr(AutotaskSettingsAdmin, "save_model", crash)
    monkeypatch.setattr(connection, "check_connection", crash)
    admin_client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    response = admin_client.post(
        url, form_data(enabled=None, secret=SECRET, integration_code=TRACKING, username="someone")
    )
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert "someone" in report  # the POST data is in the report …
        assert SECRET not in report and TRACKING not in report  # … but not the secrets


def test_saving_the_settings_page_re_encrypts_the_shown_environment(admin_client, db, fernet_keys):
    # docs/operations.md: after FERNET_KEYS=[new, old], a save of the page rewrites that environment's row.
    fernet_keys([OLD_KEY])
    env = EnvironmentConfig.for_environment("sandbox")
    env.username, env.secret, env.integration_code = "someone", SECRET, TRACKING
    env.save()
    fernet_keys([NEW_KEY, OLD_KEY])
    response = admin_client.post(SETTINGS_URL, {"environment": "sandbox", "username": "someone"})
    assert response.status_code == 302
    secret_raw, tracking_raw = raw_columns()
    assert fernet_for(NEW_KEY).decrypt(secret_raw).decode() == SECRET
    assert fernet_for(NEW_KEY).decrypt(tracking_raw).decode() == TRACKING


def test_error_reports_of_a_crash_inside_the_client_hide_the_secrets(admin_client, sandbox_tested, caplog):
    """A bug that surfaces deep in a request (here: the HTTP transport raising something unexpected while
    enabling probes the connection) gives an error report with every frame's local variables: the form's
    cleaned data and the client's request headers hold the secret and the Tracking Identifier."""
    import httpx
    from django.views.debug import ExceptionReporter

    from integrations.autotask.services import connection

    def transport(request):
        if request.url.path.lower().endswith("/zoneinformation"):
            return httpx.Response(
                200,
                json={
                    "zoneName": "Z",
                    "url": "https://webservices2.autotask.net/ATServicesRest/",
                    "ci": SANDBOX.database_id,
                },
            )
        raise RuntimeError("unexpected failure inside the transport")

    connection.set_transport_factory(lambda: httpx.MockTransport(transport))
    admin_client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    response = admin_client.post(SETTINGS_URL, form_data(secret=SECRET, integration_code=TRACKING))
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    html = reporter.get_traceback_html()
    assert "unexpected failure inside the transport" in html
    assert "_send" in html and "run_probe" in html  # the frames with the secrets are in the report …
    assert SECRET not in html and TRACKING not in html  # … their values are not
