"""A refused request (403) is one log line on the console, not two tracebacks (with DEBUG on or off)."""

import io
import logging

import pytest
from django.urls import reverse


@pytest.fixture
def console():
    """What the configured console handlers (root's and django's) print, while the test runs."""
    handlers = {
        handler
        for name in ("", "django")
        for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler
    }
    assert handlers, "settings.LOGGING should configure a console handler"
    stream = io.StringIO()
    previous = {handler: handler.setStream(stream) for handler in handlers}
    yield stream
    for handler, old in previous.items():
        handler.setStream(old)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_403_is_one_line(client, django_user_model, settings, console, debug):
    settings.DEBUG = debug
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))  # no role
    assert client.get(reverse("runs:run_checks")).status_code == 403
    lines = console.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "Forbidden (Permission denied): /" in lines[0]
    assert "Traceback" not in console.getvalue()


@pytest.mark.django_db
def test_a_server_error_keeps_its_traceback(console):
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})
    assert "Traceback" in console.getvalue()
