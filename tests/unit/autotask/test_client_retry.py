"""Reads are retried (bounded, with backoff); writes are sent exactly once."""

import httpx
import pytest

from integrations.autotask.exceptions import (
    AutotaskConnectionError,
    AutotaskRateLimitError,
    AutotaskServerError,
    AutotaskValidationError,
)

from .conftest import respond

THREAD_LIMIT = respond(
    500,
    {
        "errors": [
            "Thread Threshold Exceeded: The Autotask API thread threshold of 3 threads has been exceeded. (Itgenatr005)"
        ]
    },
)
HOURLY = respond(500, {"errors": ["API request threshold exceeded for this database."]})
FILTER = [{"op": "eq", "field": "id", "value": 1}]
OK_QUERY = respond(200, {"items": [{"id": 1}], "pageDetails": {"nextPageUrl": None}})

TRANSIENT = {
    "thread-threshold": THREAD_LIMIT,
    "429": respond(429),
    "500-no-body": respond(500),
    "503-html": respond(503, content=b"<html>Service Unavailable</html>"),
    "connect-error": httpx.ConnectError("connection refused"),
    "read-timeout": httpx.ReadTimeout("timed out"),
}


@pytest.mark.parametrize("failure", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_reads_are_retried_with_backoff(fake, client, sleeps, failure):
    fake.on("POST", "/Tickets/query", failure, failure, OK_QUERY)
    assert list(client.query("Tickets", FILTER)) == [{"id": 1}]
    assert len(fake.data_requests) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential, jittered


@pytest.mark.parametrize("failure", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_retries_are_bounded(fake, client, sleeps, failure):
    fake.on("GET", "/Tickets/7", failure)
    with pytest.raises((AutotaskRateLimitError, AutotaskServerError, AutotaskConnectionError)):
        client.get("Tickets", 7)
    assert len(fake.data_requests) == 3
    assert len(sleeps) == 2


def test_get_count_and_next_page_are_reads(fake, client, sleeps):
    fake.on("GET", "/Tickets/entityInformation/fields", THREAD_LIMIT, respond(200, {"fields": []}))
    fake.on("POST", "/Tickets/query/count", respond(429), respond(200, {"queryCount": 2}))
    assert client.field_info("Tickets") == []
    assert client.count("Tickets", FILTER) == 2
    assert len(sleeps) == 2


@pytest.mark.parametrize("failure", TRANSIENT.values(), ids=TRANSIENT.keys())
@pytest.mark.parametrize("verb", ["create", "create_child", "update"])
def test_writes_are_never_retried(fake, client, sleeps, failure, verb):
    fake.on("POST", "/Tickets", failure, respond(200, {"itemId": 1}))
    fake.on("POST", "/Tickets/5/Notes", failure, respond(200, {"itemId": 1}))
    fake.on("PATCH", "/Tickets", failure, respond(200, {"itemId": 5}))
    call = {
        "create": lambda: client.create("Tickets", {"title": "x"}),
        "create_child": lambda: client.create_child("Tickets", 5, "Notes", {"description": "x"}),
        "update": lambda: client.update("Tickets", {"id": 5, "status": 5}),
    }[verb]
    with pytest.raises((AutotaskRateLimitError, AutotaskServerError, AutotaskConnectionError)):
        call()
    assert len(fake.data_requests) == 1
    assert sleeps == []


def test_timeout_on_create_is_ambiguous_and_not_retried(fake, make_client, sleeps):
    fake.on("POST", "/Tickets", httpx.ReadTimeout("timed out"), respond(200, {"itemId": 1}))
    with pytest.raises(AutotaskConnectionError) as info:
        make_client(timeout=5).create("Tickets", {"title": "x"})
    err = info.value
    assert err.ambiguous is True
    assert "Autotask did not answer within 5 s" in str(err)
    assert "may have been saved" in str(err)
    assert [r.method for r in fake.data_requests] == ["POST"]
    assert sleeps == []


def test_validation_errors_are_not_retried(fake, client, sleeps):
    fake.on("POST", "/Tickets/query", respond(500, {"errors": ["Invalid field 'foo'."]}))
    with pytest.raises(AutotaskValidationError):
        list(client.query("Tickets", FILTER))
    assert len(fake.data_requests) == 1 and sleeps == []


def test_hourly_threshold_is_not_retried_and_reports_known_usage(fake, client, sleeps):
    usage = {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 9990,
    }
    fake.on("GET", "/ThresholdInformation", respond(200, usage))
    fake.on("POST", "/Tickets/query", HOURLY)
    client.threshold_information()

    with pytest.raises(AutotaskRateLimitError) as info:
        list(client.query("Tickets", FILTER))
    err = info.value
    assert err.kind == "hourly" and err.retryable is False
    assert "Autotask counted 9,990 of 10,000 requests in the last 60 minutes" in str(err)
    assert "less than a minute earlier" in str(err)
    assert err.usage == usage
    assert len(fake.data_requests) == 2 and sleeps == []


def test_hourly_threshold_without_known_usage(fake, client):
    fake.on("POST", "/Tickets/query", HOURLY)
    with pytest.raises(AutotaskRateLimitError) as info:
        list(client.query("Tickets", FILTER))
    assert "Autotask is rate limiting" in str(info.value)
    assert "10,000" in str(info.value)
    assert info.value.usage is None


def test_retry_after_header_is_honoured_and_capped(fake, make_client, sleeps):
    client = make_client(deadline=120)
    fake.on(
        "GET",
        "/Tickets/7",
        respond(429, headers={"Retry-After": "2"}),
        respond(429, headers={"Retry-After": "3600"}),
        respond(200, {"item": None}),
    )
    assert client.get("Tickets", 7) is None
    assert sleeps == [2.0, 30.0]


def test_zone_discovery_is_retried_on_transient_failure(fake, client, sleeps):
    from .conftest import ZONE_ANSWER

    fake.zone(httpx.ConnectError("dns"), respond(200, ZONE_ANSWER))
    assert client.zone_information().name == "AE02"
    assert len(sleeps) == 1


def test_hourly_threshold_states_the_limit_autotask_names(fake, client):
    fake.on(
        "POST",
        "/Tickets/query",
        respond(
            429,
            {
                "errors": [
                    "The external request threshold of 10000 requests per 60 minutes has been exceeded."
                ]
            },
        ),
    )
    with pytest.raises(AutotaskRateLimitError) as info:
        list(client.query("Tickets", FILTER))
    assert info.value.kind == "hourly"
    assert "Autotask is rate limiting — all 10,000 requests of this hour are used" in str(info.value)


def test_backoff_grows_exponentially_with_jitter(fake, make_client, sleeps):
    """Issue 7 item 11: delay n is drawn from [½·0.5·2ⁿ⁻¹, 0.5·2ⁿ⁻¹] s (capped at 8 s) — a constant
    0.5 s, or a delay without jitter, fails this."""
    fake.on("GET", "/Tickets/7", respond(503))
    runs = []
    for _ in range(20):
        sleeps.clear()
        with pytest.raises(AutotaskServerError):
            make_client(max_attempts=7, deadline=600).get("Tickets", 7)
        runs.append(list(sleeps))
    for delays in runs:
        assert len(delays) == 6
        for n, delay in enumerate(delays, start=1):
            ceiling = min(8.0, 0.5 * 2 ** (n - 1))
            assert ceiling / 2 <= delay <= ceiling, (n, delays)
        assert delays[3] > delays[0] * 2  # it grows
    for n in range(6):
        assert len({round(delays[n], 6) for delays in runs}) > 10  # and it is jittered


def test_a_stale_usage_figure_is_left_out_of_the_hourly_hint(fake, client, monkeypatch):
    """Issue 7 item 5: an old ThresholdInformation figure ("1 of 3 used") next to "exceeded" misleads."""
    from datetime import timedelta

    from integrations.autotask import client as client_module

    fake.on(
        "GET",
        "/ThresholdInformation",
        respond(200, {"externalRequestThreshold": 3, "currentTimeframeRequestCount": 1}),
    )
    fake.on("POST", "/Tickets/query", HOURLY)
    client.threshold_information()
    measured = client_module._utcnow()
    monkeypatch.setattr(client_module, "_utcnow", lambda: measured + timedelta(minutes=20))

    with pytest.raises(AutotaskRateLimitError) as info:
        list(client.query("Tickets", FILTER))
    text = str(info.value)
    assert "1 of 3" not in text and "used this hour" not in text
    assert info.value.usage is None
    assert "hourly API request threshold" in text


def test_a_recent_usage_figure_says_when_it_was_measured(fake, client, monkeypatch):
    from datetime import timedelta

    from integrations.autotask import client as client_module

    fake.on(
        "GET",
        "/ThresholdInformation",
        respond(200, {"externalRequestThreshold": 3, "currentTimeframeRequestCount": 1}),
    )
    fake.on("POST", "/Tickets/query", HOURLY)
    client.threshold_information()
    measured = client_module._utcnow()
    monkeypatch.setattr(client_module, "_utcnow", lambda: measured + timedelta(minutes=3))
    with pytest.raises(AutotaskRateLimitError) as info:
        list(client.query("Tickets", FILTER))
    assert (
        f"at {measured:%H:%M} UTC (3 min earlier) Autotask counted 1 of 3 requests in the last 60 minutes"
        in str(info.value)
    )


def test_a_retry_that_would_pass_the_deadline_is_not_made_and_the_error_says_so(fake, make_client, sleeps):
    """Issue 12 item 2: never 3 × 30 s while the message says 30 s."""
    fake.on("GET", "/Tickets/7", respond(429, headers={"Retry-After": "20"}), respond(200, {"item": None}))
    with pytest.raises(AutotaskRateLimitError) as info:
        make_client(deadline=15).get("Tickets", 7)
    assert "(1 attempt; not retried: a retry in 20 s would pass the 15 s deadline)" in str(info.value)
    assert info.value.attempts == 1
    assert len(fake.data_requests) == 1 and sleeps == []


def test_an_exhausted_retry_budget_says_how_many_attempts_were_made(fake, client):
    fake.on("GET", "/Tickets/7", respond(503))
    with pytest.raises(AutotaskServerError) as info:
        client.get("Tickets", 7)
    assert "Autotask failed on GET Tickets (HTTP 503) (3 attempts)" in str(info.value)
    assert info.value.attempts == 3
