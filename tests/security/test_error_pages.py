"""Issue 12.3: a 500 never shows a secret — under DEBUG=true (the demo) as under DEBUG=false.

The crash happens where the secrets are: during Test connection (typed secret, Tracking Identifier) and
while saving the settings page of an admin who typed nothing (the stored ones). The exception text itself
carries them too, the worst case for a report.
"""

import logging

import pytest
from django.views.debug import ExceptionReporter, get_exception_reporter_class

from integrations.autotask.admin import AutotaskSettingsAdmin
from integrations.autotask.models import EnvironmentConfig
from integrations.autotask.services import connection
from integrations.autotask.simulator import SANDBOX
from tests.unit.autotask_settings.conftest import SETTINGS_URL, TEST_URL, form_data

TYPED_SECRET = "typed-Secret-7f3a9c"
TYPED_TRACKING = "TYPEDTRACKING0042XYZ"


def crash_holding(*values):
    def crash(*args, **kwargs):
        held = list(values)  # a local variable nobody marked sensitive
        raise RuntimeError(f"unexpected failure near {held}")

    return crash


@pytest.fixture(params=[True, False], ids=["DEBUG=true", "DEBUG=false"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def report_of(response, caplog, debug):
    """The page the browser got under DEBUG, else the report the admins would be mailed."""
    assert response.status_code == 500
    if debug:
        return [response.content.decode()]
    [record] = [r for r in caplog.records if r.name == "django.request"]
    reporter = get_exception_reporter_class(record.request)(record.request, *record.exc_info, is_email=True)
    return [reporter.get_traceback_html(), reporter.get_traceback_text()]


def test_a_500_during_test_connection_shows_no_typed_secret(
    admin_client, sandbox_tested, monkeypatch, caplog, debug
):
    monkeypatch.setattr(connection, "check_connection", crash_holding(TYPED_SECRET, TYPED_TRACKING))
    admin_client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    response = admin_client.post(
        TEST_URL,
        {
            "environment": "sandbox",
            "username": SANDBOX.username,
            "secret": TYPED_SECRET,
            "integration_code": TYPED_TRACKING,
        },
    )
    for report in report_of(response, caplog, debug):
        assert "unexpected failure near" in report  # the report is useful …
        assert TYPED_SECRET not in report and TYPED_TRACKING not in report  # … and holds no secret
        assert SANDBOX.secret not in report and SANDBOX.integration_code not in report
        assert "********************" in report


def test_a_500_while_saving_shows_no_stored_secret(admin_client, sandbox_tested, monkeypatch, caplog, debug):
    stored = EnvironmentConfig.for_environment("sandbox")
    monkeypatch.setattr(
        AutotaskSettingsAdmin, "save_model", crash_holding(stored.secret, stored.integration_code)
    )
    admin_client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    response = admin_client.post(SETTINGS_URL, form_data(enabled=None))
    for report in report_of(response, caplog, debug):
        assert "unexpected failure near" in report
        assert SANDBOX.secret not in report and SANDBOX.integration_code not in report


def test_the_filter_is_active_under_debug(settings, rf):
    settings.DEBUG = True
    reporter_class = get_exception_reporter_class(None)
    assert reporter_class is not ExceptionReporter
    assert reporter_class(None, None, None, None).filter.is_active(rf.get("/"))
