"""Issue 12, suite "A hostile Autotask" (and 12.2, the overall deadline), on a real local socket.

Each hostile answer ends in a typed AutotaskError within the deadline, and the credentials never reach
any other host. The server is `hostile.HostileServer` (threads, bounded, stops itself).
"""

import json
import re
import time

import httpx
import pytest

from integrations.autotask.client import AutotaskClient, Credentials, clear_zone_cache
from integrations.autotask.exceptions import (
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskServerError,
)

from .hostile import HostileServer

SECRET = "Hostile-Test-Secret-4711"
CODE = "HOSTILE-TRACKING-ID-0815"
CREDS = Credentials(username="api@hostile.example", secret=SECRET, integration_code=CODE)
SLACK = 2.0  # seconds of scheduling slack on a loaded shared machine; a missed deadline would run to the
# hostile servers' 15 s waits, so this still tells a kept deadline from a missed one


@pytest.fixture(autouse=True)
def _fresh_zone_cache():
    clear_zone_cache()
    yield
    clear_zone_cache()


@pytest.fixture
def elsewhere():
    """Another host that must never be contacted (records anything that arrives)."""
    with HostileServer(lambda server, conn, request: server.send(conn, 200, b"{}")) as server:
        yield server


def serve(data_behaviour, zone_url=None):
    """A server that answers zone discovery properly (pointing at itself unless `zone_url`) and every
    authenticated call with `data_behaviour`."""

    def behaviour(server, conn, request):
        if request.path.lower().startswith("/atservicesrest/v1.0/zoneinformation"):
            url = zone_url or f"{server.origin}/ATServicesRest/"
            body = json.dumps({"zoneName": "H1", "url": url, "webUrl": "https://ww1.autotask.net/", "ci": 1})
            server.send(conn, 200, body.encode())
        else:
            data_behaviour(server, conn, request)

    return HostileServer(behaviour)


def make_client(server, **options):
    options.setdefault("sleep", lambda seconds: None)  # backoff is not what is measured here
    return AutotaskClient(
        CREDS, zone_info_url=f"{server.origin}/atservicesrest/v1.0/zoneInformation", **options
    )


def assert_no_credentials_outside(server, *others):
    for other in others:
        assert other.requests == [], "a request reached another host"
    for request in server.requests:
        if "zoneinformation" in request.path.lower():
            assert "secret" not in request.headers and "apiintegrationcode" not in request.headers


def call_timed(func):
    started = time.monotonic()
    with pytest.raises(AutotaskError) as info:
        func()
    return info.value, time.monotonic() - started


# -- bodies -----------------------------------------------------------------------------------------

BODIES = {
    "malformed-json-200": (200, b'{"items": [', "application/json"),
    "html-error-page-500": (500, b"<html><h1>Server Error</h1><p>IIS</p></html>", "text/html"),
    "html-login-page-200": (200, b"<html>Please sign in</html>", "text/html"),
    "empty-200": (200, b"", "application/json"),
    "empty-500": (500, b"", "application/json"),
    "json-array-200": (200, b"[1, 2, 3]", "application/json"),
}


@pytest.mark.parametrize(("status", "body", "content_type"), BODIES.values(), ids=BODIES.keys())
def test_unusable_answers_are_typed_server_errors(elsewhere, status, body, content_type):
    def answer(server, conn, request):
        server.send(conn, status, body, content_type)

    with serve(answer) as server, make_client(server, deadline=5) as client:
        err, elapsed = call_timed(client.threshold_information)
    assert isinstance(err, AutotaskServerError)
    assert elapsed < 5 + SLACK
    assert SECRET not in str(err) and CODE not in str(err)
    assert_no_credentials_outside(server, elsewhere)


def test_a_10_mb_body_is_not_read(elsewhere):
    ten_mb = b'{"items": ["' + b"x" * (10 * 1024 * 1024) + b'"]}'

    def huge(server, conn, request):
        server.send(conn, 200, ten_mb)

    with serve(huge) as server, make_client(server, deadline=10) as client:
        err, elapsed = call_timed(lambda: list(client.query("Companies", [{"op": "exist", "field": "id"}])))
    assert isinstance(err, AutotaskServerError)
    assert "larger than 8,388,608 bytes" in str(err)
    assert elapsed < 10 + SLACK
    assert_no_credentials_outside(server, elsewhere)


def test_a_trickling_body_ends_at_the_deadline(elsewhere):
    def trickle(server, conn, request):
        server.send(conn, 200, b"{", length=100_000)
        while not server.stop.wait(0.05):
            conn.sendall(b" ")

    with serve(trickle) as server, make_client(server, deadline=1.0) as client:
        err, elapsed = call_timed(client.threshold_information)
    assert isinstance(err, AutotaskConnectionError)
    assert re.search(r"Autotask did not answer within 1(\.0)? s \(1 attempt\)", str(err)), str(err)
    assert 0.9 <= elapsed < 1.0 + SLACK
    assert_no_credentials_outside(server, elsewhere)


def test_trickling_headers_end_at_the_deadline(elsewhere):
    """httpx's timeouts are per read: headers arriving a byte every 50 ms would never trip them."""

    def trickle_headers(server, conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not server.stop.wait(0.05):
            conn.sendall(b"X")

    with serve(trickle_headers) as server, make_client(server, deadline=1.0) as client:
        err, elapsed = call_timed(client.threshold_information)
    assert isinstance(err, AutotaskConnectionError)
    assert "Autotask did not answer within 1 s (1 attempt)" in str(err)
    assert 0.9 <= elapsed < 1.0 + SLACK


def test_a_server_that_accepts_and_never_answers_ends_at_the_deadline_with_what_happened(elsewhere):
    def silent(server, conn, request):
        server.stop.wait(15)

    # Attempt 1 times out at 0.4 s; its backoff (0.25–0.5 s) fits in the deadline, attempt 2 times out at
    # 0.8 s; its backoff (0.5–1 s) would pass the 1 s deadline, so the client stops and says so.
    with serve(silent) as server, make_client(server, timeout=0.4, deadline=1.0) as client:
        err, elapsed = call_timed(client.threshold_information)
    assert isinstance(err, AutotaskConnectionError)
    assert err.attempts == 2
    assert "Autotask did not answer within 0.8 s (2 attempts)" in str(err)
    assert 0.75 <= elapsed < 1.0 + SLACK
    assert len([r for r in server.requests if "threshold" in r.path.lower()]) == 2
    assert_no_credentials_outside(server, elsewhere)


def test_a_silent_write_is_sent_once_and_is_ambiguous(elsewhere):
    def silent(server, conn, request):
        server.stop.wait(15)

    with serve(silent) as server, make_client(server, timeout=0.4, deadline=1.0) as client:
        err, elapsed = call_timed(lambda: client.create("Tickets", {"title": "x"}))
    assert isinstance(err, AutotaskConnectionError) and err.ambiguous is True
    assert "Autotask did not answer within 0.4 s (1 attempt)" in str(err)
    assert [r.method for r in server.requests if "zoneinformation" not in r.path.lower()] == ["POST"]
    assert elapsed < 1.0 + SLACK


def test_silent_zone_discovery_ends_at_the_deadline(elsewhere):
    server = HostileServer(lambda s, conn, r: s.stop.wait(15))
    with server, make_client(server, deadline=1.0) as client:
        err, elapsed = call_timed(client.zone_information)
    assert isinstance(err, AutotaskConnectionError)
    assert "Autotask did not answer within 1 s (1 attempt)" in str(err)
    assert elapsed < 1.0 + SLACK


def test_an_overall_deadline_bounds_a_whole_action(elsewhere):
    """12.2: Test connection = zone discovery + ThresholdInformation, within one button deadline."""

    def slow_then_silent(server, conn, request):
        server.stop.wait(15)

    with serve(slow_then_silent) as server, make_client(server, timeout=30, deadline=30) as client:
        started = time.monotonic()
        with pytest.raises(AutotaskConnectionError) as info, client.overall_deadline(1.5):
            client.zone_information()
            client.threshold_information()
        elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 1.5 + SLACK
    assert "Autotask did not answer within 1.5 s (1 attempt)" in str(info.value)


# -- hosts ------------------------------------------------------------------------------------------


def test_a_redirect_to_another_host_is_not_followed(elsewhere):
    def redirect(server, conn, request):
        server.send(
            conn, 302, b"", extra=[f"Location: {elsewhere.origin}/ATServicesRest/V1.0/ThresholdInformation"]
        )

    with serve(redirect) as server, make_client(server, deadline=5) as client:
        err, _ = call_timed(client.threshold_information)
    assert isinstance(err, AutotaskServerError) and err.status_code == 302
    assert "redirect" in str(err)
    assert_no_credentials_outside(server, elsewhere)


@pytest.mark.parametrize(
    "zone_url",
    [
        "https://evil.example.com/ATServicesRest/",
        "https://webservices14.autotask.net.evil.example/ATServicesRest/",
        "http://webservices14.autotask.net/ATServicesRest/",
        "ELSEWHERE",
    ],
    ids=["foreign-host", "lookalike-suffix", "plain-http", "other-local-port"],
)
def test_a_zone_answer_outside_autotask_is_refused_before_sending_credentials(elsewhere, zone_url):
    zone_url = f"{elsewhere.origin}/ATServicesRest/" if zone_url == "ELSEWHERE" else zone_url
    server = serve(lambda s, conn, r: s.send(conn, 200, b"{}"), zone_url=zone_url)
    with server, make_client(server, deadline=5) as client:
        err, _ = call_timed(client.threshold_information)
    assert isinstance(err, AutotaskConfigurationError)
    assert "Refusing to send Autotask credentials" in str(err)
    assert [r.path.split("?")[0].lower() for r in server.requests] == ["/atservicesrest/v1.0/zoneinformation"]
    assert_no_credentials_outside(server, elsewhere)


def test_the_deadline_is_a_client_option_with_a_30_second_default():
    client = AutotaskClient(CREDS, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert client.deadline == 30.0
    with pytest.raises(ValueError):
        AutotaskClient(CREDS, deadline=0)


def test_the_connection_test_button_has_its_own_shorter_deadline(elsewhere, monkeypatch, db):
    """12.2: services.connection.probe (Test connection on the settings page and the command) ends within
    PROBE_DEADLINE_SECONDS, retries included, however long the per-request timeout is."""
    from integrations.autotask.services import connection
    # (db: clients built by the services share the API budget kept in the database)

    def silent(server, conn, request):
        server.stop.wait(15)

    assert connection.PROBE_DEADLINE_SECONDS <= 15
    monkeypatch.setattr(connection, "PROBE_DEADLINE_SECONDS", 1)
    with serve(silent) as server:
        monkeypatch.setitem(
            connection._client_options,
            "zone_info_url",
            f"{server.origin}/atservicesrest/v1.0/zoneInformation",
        )
        monkeypatch.setitem(connection._client_options, "sleep", lambda seconds: None)
        err, elapsed = call_timed(lambda: connection.probe(CREDS))
    assert isinstance(err, AutotaskConnectionError)
    assert "within 1 s" in str(err)
    assert elapsed < 1 + SLACK
