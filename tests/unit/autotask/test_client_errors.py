"""Every non-2xx answer and every transport failure becomes the right typed error."""

import logging

import httpx
import pytest

from integrations.autotask.exceptions import (
    AutotaskAuthError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPermissionError,
    AutotaskRateLimitError,
    AutotaskServerError,
    AutotaskValidationError,
)

from .conftest import INTEGRATION_CODE, SECRET, respond

PERMISSION = "The logged in Resource does not have the adequate permissions"
REQUIRED = "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID."

STATUS_CASES = [
    # id, status, body kwargs, expected class, text expected in str(err)
    (
        "401",
        401,
        {},
        AutotaskAuthError,
        "check the API username and secret; the user must be an API-only user",
    ),
    ("403", 403, {}, AutotaskPermissionError, "this API user lacks permission"),
    (
        "404",
        404,
        {"json_body": {"Message": "No HTTP resource was found"}},
        AutotaskNotFoundError,
        "not found",
    ),
    (
        "405",
        405,
        {"json_body": {"Message": "The requested resource does not support http method 'POST'."}},
        AutotaskServerError,
        "does not support http method",
    ),
    ("429", 429, {}, AutotaskRateLimitError, "Autotask is rate limiting"),
    (
        "500-integration-code",
        500,
        {"json_body": {"errors": ["IntegrationCode is invalid."]}},
        AutotaskAuthError,
        "check the Tracking Identifier",
    ),
    (
        "500-zone",
        500,
        {"json_body": {"errors": ["Zone information could not be determined"]}},
        AutotaskAuthError,
        "check the API username",
    ),
    ("500-permission", 500, {"json_body": {"errors": [PERMISSION]}}, AutotaskPermissionError, PERMISSION),
    (
        "500-validation",
        500,
        {"json_body": {"errors": [REQUIRED, "Second problem."]}},
        AutotaskValidationError,
        REQUIRED,
    ),
    (
        "400-validation",
        400,
        {"json_body": {"errors": ["Bad filter."]}},
        AutotaskValidationError,
        "Bad filter.",
    ),
    ("500-no-body", 500, {}, AutotaskServerError, "HTTP 500"),
    ("502", 502, {"content": b"<html>Bad Gateway</html>"}, AutotaskServerError, "Bad Gateway"),
    ("503", 503, {}, AutotaskServerError, "HTTP 503"),
    (
        "thread-threshold-500",
        500,
        {"json_body": {"errors": ["Thread Threshold Exceeded (Itgenatr005)"]}},
        AutotaskRateLimitError,
        "too many simultaneous requests",
    ),
    (
        "aspnet-message-500",
        500,
        {"json_body": {"Message": "An error has occurred."}},
        AutotaskServerError,
        "An error has occurred.",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES]
)
def test_status_maps_to_error_class(fake, make_client, status, body, expected, text):
    # get() turns a 404 into None, so the mapping is exercised through field_info().
    fake.on("GET", "/Tickets/entityInformation/fields", respond(status, **body))
    client = make_client(max_attempts=1)

    with pytest.raises(expected) as info:
        client.field_info("Tickets")

    err = info.value
    assert isinstance(err, AutotaskError)
    assert err.status_code == status
    assert text in str(err)
    assert err.hint and err.hint in str(err)


def test_404_on_field_info_is_not_found(fake, client):
    fake.on("GET", "/Widgets/entityInformation/fields", respond(404))
    with pytest.raises(AutotaskNotFoundError):
        client.field_info("Widgets")


def test_autotask_errors_list_is_kept_and_shown(fake, client):
    fake.on("POST", "/Tickets", respond(500, {"errors": [REQUIRED, "Second problem."]}))
    with pytest.raises(AutotaskValidationError) as info:
        client.create("Tickets", {"title": "x"})
    assert info.value.errors == (REQUIRED, "Second problem.")
    assert REQUIRED in str(info.value) and "Second problem." in str(info.value)
    assert info.value.ambiguous is False


def test_non_json_body_becomes_server_error_with_truncated_start(fake, make_client):
    fake.on("GET", "/Tickets/7", respond(500, content=b"Invalid JSON primitive: " + b"x" * 5000))
    with pytest.raises(AutotaskServerError) as info:
        make_client(max_attempts=1).get("Tickets", 7)
    text = str(info.value)
    assert "Invalid JSON primitive" in text
    assert len(text) < 600


def test_non_json_success_body_is_a_server_error(fake, client):
    fake.on("GET", "/Tickets/7", respond(200, content=b"<html>maintenance</html>"))
    with pytest.raises(AutotaskServerError, match="maintenance"):
        client.get("Tickets", 7)


def test_redirect_is_not_followed(fake, client):
    fake.on("GET", "/Tickets/7", respond(302, headers={"Location": "https://evil.example/steal"}))
    with pytest.raises(AutotaskServerError, match="redirect"):
        client.get("Tickets", 7)
    assert all(r.url.host.endswith("autotask.net") for r in fake.requests)


def test_5xx_without_body_on_a_write_is_ambiguous(fake, client):
    fake.on("POST", "/Tickets", respond(500))
    with pytest.raises(AutotaskServerError) as info:
        client.create("Tickets", {"title": "x"})
    assert info.value.ambiguous is True
    assert "may have been saved" in str(info.value)


def test_connect_error_maps_to_connection_error(fake, make_client):
    fake.on("GET", "/Tickets/7", httpx.ConnectError("Name or service not known"))
    with pytest.raises(AutotaskConnectionError) as info:
        make_client(max_attempts=1).get("Tickets", 7)
    assert isinstance(info.value, ConnectionError)
    assert "network" in info.value.hint
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_timeout_maps_to_connection_error_with_the_timeout_in_the_hint(fake, make_client):
    fake.on("GET", "/Tickets/7", httpx.ReadTimeout("timed out"))
    with pytest.raises(AutotaskConnectionError) as info:
        make_client(max_attempts=1, timeout=12.5).get("Tickets", 7)
    assert "Autotask did not answer within 12.5 s" in str(info.value)
    assert info.value.ambiguous is False  # a read: nothing to reconcile


def test_connect_failure_on_a_write_is_not_ambiguous(fake, client):
    fake.on("POST", "/Tickets", httpx.ConnectError("refused"))
    with pytest.raises(AutotaskConnectionError) as info:
        client.create("Tickets", {"title": "x"})
    assert info.value.ambiguous is False  # the request never left this machine


def test_dropped_connection_after_a_post_is_ambiguous(fake, client):
    fake.on("POST", "/Tickets", httpx.RemoteProtocolError("Server disconnected without sending a response."))
    with pytest.raises(AutotaskConnectionError) as info:
        client.create("Tickets", {"title": "x"})
    assert info.value.ambiguous is True


ALL_FAILURES = [
    respond(401),
    respond(403),
    respond(404),
    respond(405, {"Message": "nope"}),
    respond(429),
    respond(500, {"errors": ["IntegrationCode is invalid."]}),
    respond(500, {"errors": ["Zone information could not be determined"]}),
    respond(500, {"errors": [PERMISSION]}),
    respond(500, {"errors": [f"Field value {SECRET} is invalid; code {INTEGRATION_CODE}"]}),
    respond(500),
    respond(502, content=f"<html>proxy saw Secret: {SECRET}</html>".encode()),
    respond(500, {"errors": ["Thread Threshold Exceeded"]}),
    respond(500, {"errors": ["API request threshold exceeded"]}),
    httpx.ReadTimeout(f"timed out {SECRET}"),
    httpx.ConnectError(f"failed {INTEGRATION_CODE}"),
]


@pytest.mark.parametrize("answer", ALL_FAILURES, ids=[str(i) for i in range(len(ALL_FAILURES))])
@pytest.mark.parametrize("verb", ["read", "write"])
def test_no_secret_in_any_error_text_or_log(fake, make_client, caplog, answer, verb):
    caplog.set_level(logging.DEBUG)
    fake.on("POST", "/Tickets/query/count", answer)
    fake.on("POST", "/Tickets", answer)
    client = make_client()
    with pytest.raises(AutotaskError) as info:
        if verb == "read":
            client.count("Tickets", [{"op": "eq", "field": "id", "value": 7}])
        else:
            client.create("Tickets", {"title": "x"})

    err = info.value
    texts = [
        str(err),
        repr(err),
        err.hint,
        " ".join(err.errors),
        caplog.text,
        repr(client),
        repr(client.credentials),
    ]
    chain = err.__cause__ or err.__context__
    if chain is not None and not err.__suppress_context__:
        texts.append(str(chain))
    for text in texts:
        assert SECRET not in text
        assert INTEGRATION_CODE not in text
    assert caplog.records  # requests were logged


# -- issue 12 item 7: classify by status and Autotask's error structure, never by words in a body ------

THRESHOLD_404 = {
    "Message": "No HTTP resource was found that matches the request URI "
    "'https://webservices14.autotask.net/ATServicesRest/V1.0/ThresholdInformation'."
}
WORDY = {
    "404-aspnet-mentions-threshold": (404, {"json_body": THRESHOLD_404}, AutotaskNotFoundError, 1),
    "404-errors-list-says-exceeded": (
        404,
        {"json_body": {"errors": ["The external request threshold of 10000 requests has been exceeded."]}},
        AutotaskNotFoundError,
        1,
    ),
    "503-html-says-threshold-exceeded": (
        503,
        {"content": b"<html><body>Request threshold exceeded; thread threshold Itgenatr005</body></html>"},
        AutotaskServerError,
        3,
    ),
    "500-aspnet-message-says-permissions": (
        500,
        {"json_body": {"Message": "The logged in Resource does not have the adequate permissions"}},
        AutotaskServerError,
        3,
    ),
    "500-text-says-integrationcode": (
        500,
        {"content": b"IntegrationCode is invalid."},
        AutotaskServerError,
        3,
    ),
    "400-errors-list-mentions-threshold-field": (
        400,
        {"json_body": {"errors": ["requestThreshold: value out of range"]}},
        AutotaskValidationError,
        1,
    ),
}


@pytest.mark.parametrize(("status", "body", "expected", "requests"), WORDY.values(), ids=WORDY.keys())
def test_words_outside_autotasks_error_structure_do_not_classify(
    fake, client, status, body, expected, requests
):
    fake.on("GET", "/ThresholdInformation", respond(status, **body))
    with pytest.raises(AutotaskError) as info:
        client.threshold_information()
    assert type(info.value) is expected
    assert not isinstance(info.value, AutotaskRateLimitError)
    assert len(fake.data_requests) == requests  # retried only when retrying can help


def test_a_zone_whose_first_call_got_no_autotask_answer_is_not_cached(fake, client):
    fake.on("GET", "/ThresholdInformation", respond(404, json_body=THRESHOLD_404))
    with pytest.raises(AutotaskNotFoundError):
        client.threshold_information()
    with pytest.raises(AutotaskNotFoundError):
        client.threshold_information()
    assert len(fake.zone_requests) == 2  # discovered again, not kept for 12 h


@pytest.mark.parametrize(
    "answer",
    [
        respond(200, content=b"<html>Sign in</html>"),
        respond(302, headers={"Location": "https://login.example/"}),
        httpx.ConnectError("refused"),
    ],
    ids=["html-200", "redirect", "connect-error"],
)
def test_other_first_call_failures_do_not_keep_the_zone_either(fake, make_client, answer):
    fake.on("GET", "/ThresholdInformation", answer)
    client = make_client(max_attempts=1)
    with pytest.raises(AutotaskError):
        client.threshold_information()
    client.zone_information()
    assert len(fake.zone_requests) == 2


def test_an_autotask_error_answer_confirms_the_zone(fake, client):
    fake.on("GET", "/Tickets/entityInformation/fields", respond(500, {"errors": ["Some business rule."]}))
    with pytest.raises(AutotaskValidationError):
        client.field_info("Tickets")
    client.zone_information()
    assert len(fake.zone_requests) == 1


def test_a_confirmed_zone_survives_a_later_404(fake, client):
    fake.on("GET", "/Tickets/7", respond(200, {"item": None}), respond(404, json_body={"Message": "gone"}))
    assert client.get("Tickets", 7) is None
    assert client.get("Tickets", 7) is None  # 404 → None
    client.zone_information()
    assert len(fake.zone_requests) == 1
