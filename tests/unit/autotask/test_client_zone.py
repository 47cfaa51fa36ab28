"""Zone discovery, its cache, the 401 re-discovery rule and the credential host allow-list."""

import dataclasses

import httpx
import pytest

from integrations.autotask import client as client_module
from integrations.autotask.client import OFFICIAL_ZONE_INFO_URL, Zone
from integrations.autotask.exceptions import AutotaskAuthError, AutotaskConfigurationError

from .conftest import INTEGRATION_CODE, SECRET, USERNAME, ZONE_ANSWER, respond

CREDENTIAL_HEADERS = ("apiintegrationcode", "username", "secret")


def _carries_credentials(request):
    return any(name in request.headers for name in CREDENTIAL_HEADERS)


def test_zone_information_is_discovered_unauthenticated_and_normalised(fake, client):
    zone = client.zone_information()

    assert zone == Zone(
        name="AE02",
        api_url="https://webservices14.autotask.net/ATServicesRest/V1.0/",
        web_url="https://ww14.autotask.net/",
        database_id=12345,
    )
    (request,) = fake.requests
    assert str(request.url).startswith(OFFICIAL_ZONE_INFO_URL)
    assert request.url.params["user"] == USERNAME
    assert not _carries_credentials(request)


@pytest.mark.parametrize(
    "url",
    [
        "https://webservices2.autotask.net/ATServicesRest",
        "https://webservices2.autotask.net/ATServicesRest//",
    ],
)
def test_trailing_slashes_are_normalised(fake, client, url):
    fake.zone(respond(200, {**ZONE_ANSWER, "url": url}))
    assert client.zone_information().api_url == "https://webservices2.autotask.net/ATServicesRest/V1.0/"


def test_zone_is_cached_per_username_across_clients(fake, make_client, creds):
    fake.on("GET", "/ThresholdInformation", respond(200, {"currentTimeframeRequestCount": 1}))
    make_client().threshold_information()
    make_client().threshold_information()
    assert len(fake.zone_requests) == 1

    other = type(creds)(username="other@msp.example", secret=SECRET, integration_code=INTEGRATION_CODE)
    make_client(other).zone_information()
    assert len(fake.zone_requests) == 2


def test_zone_cache_expires(fake, client, monkeypatch):
    client.zone_information()
    now = client_module.time.monotonic()
    monkeypatch.setattr(client_module.time, "monotonic", lambda: now + client_module.ZONE_CACHE_TTL + 1)
    client.zone_information()
    assert len(fake.zone_requests) == 2


def test_unknown_user_is_an_auth_error_about_the_username(fake, client):
    fake.zone(respond(500, {"errors": ["Zone information could not be determined"]}))
    with pytest.raises(AutotaskAuthError) as info:
        client.zone_information()
    assert "check the API username" in str(info.value)
    assert not fake.data_requests


def test_401_on_a_confirmed_zone_drops_it_rediscovers_once_and_retries_once(fake, client):
    moved = {**ZONE_ANSWER, "url": "https://webservices22.autotask.net/ATServicesRest/"}
    fake.zone(respond(200, ZONE_ANSWER), respond(200, moved))
    tenant_moved = []
    fake.on(
        "GET",
        "/Tickets/7",
        lambda r: (
            httpx.Response(401)
            if "webservices14" in r.url.host and tenant_moved
            else httpx.Response(200, json={"item": {"id": 7}})
        ),
    )
    assert client.get("Tickets", 7) == {"id": 7}  # confirms the cached zone for these credentials
    tenant_moved.append(True)

    assert client.get("Tickets", 7) == {"id": 7}
    assert len(fake.zone_requests) == 2
    assert [r.url.host for r in fake.data_requests] == [
        "webservices14.autotask.net",
        "webservices14.autotask.net",
        "webservices22.autotask.net",
    ]
    # the new zone is what is cached now
    assert client.zone_information().api_url.startswith("https://webservices22.")
    assert len(fake.zone_requests) == 2


def test_401_twice_is_an_auth_error_after_exactly_one_rediscovery(fake, client):
    fake.on("GET", "/Tickets/7", respond(200, {"item": None}), respond(401))
    client.get("Tickets", 7)  # the zone is confirmed
    with pytest.raises(AutotaskAuthError) as info:
        client.get("Tickets", 7)
    assert "check the API username and secret; the user must be an API-only user" in str(info.value)
    assert len(fake.zone_requests) == 2
    assert len(fake.data_requests) == 3


def test_401_after_a_fresh_discovery_is_one_failure_not_two(fake, client):
    """Issue 7 item 4: a wrong secret costs one authenticated call (repeated bad logins lock API users)."""
    fake.on("GET", "/ThresholdInformation", respond(401))
    with pytest.raises(AutotaskAuthError) as info:
        client.threshold_information()
    assert info.value.status_code == 401
    assert len(fake.data_requests) == 1
    assert len(fake.zone_requests) == 1
    # and the unconfirmed zone is not kept: the next attempt discovers again
    with pytest.raises(AutotaskAuthError):
        client.threshold_information()
    assert len(fake.zone_requests) == 2 and len(fake.data_requests) == 2


def test_401_with_a_cached_zone_confirmed_by_other_credentials_is_one_failure(fake, make_client, creds):
    """A zone another secret used successfully is not "confirmed" for a newly typed (wrong) secret."""
    from dataclasses import replace

    good = make_client()
    fake.on("GET", "/ThresholdInformation", respond(200, {"currentTimeframeRequestCount": 1}))
    good.threshold_information()
    fake.on("GET", "/ThresholdInformation", respond(401))
    wrong = make_client(replace(creds, secret="Wrong-Secret-123"))
    with pytest.raises(AutotaskAuthError):
        wrong.threshold_information()
    assert len(fake.data_requests) == 2  # one good, one bad: no re-discovery + repeat
    assert len(fake.zone_requests) == 1


def test_401_on_a_write_is_not_repeated_but_the_zone_is_forgotten(fake, client):
    fake.on("POST", "/Tickets", respond(401))
    with pytest.raises(AutotaskAuthError):
        client.create("Tickets", {"title": "x"})
    assert len(fake.data_requests) == 1
    client.zone_information()
    assert len(fake.zone_requests) == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/ATServicesRest/",
        "http://webservices14.autotask.net/ATServicesRest/",  # not https
        "https://webservices14.autotask.net.evil.example/ATServicesRest/",
        "https://autotask.net.evil.example/",
        "https://webservices14.autotask.net:8443/ATServicesRest/",
        "https://user@webservices14.autotask.net/ATServicesRest/",
        "http://127.0.0.1:8001/ATServicesRest/",  # only trusted when it is the configured override
    ],
)
def test_zone_answer_on_a_foreign_host_is_refused_before_any_credentialed_request(fake, client, url):
    fake.zone(respond(200, {**ZONE_ANSWER, "url": url}))
    with pytest.raises(AutotaskConfigurationError) as info:
        client.get("Tickets", 7)
    assert "Refusing to send Autotask credentials" in str(info.value)
    assert fake.data_requests == []
    assert not any(_carries_credentials(r) for r in fake.requests)


def test_next_page_url_on_a_foreign_host_is_refused(fake, client):
    fake.on(
        "POST",
        "/Companies/query",
        respond(
            200,
            {
                "items": [{"id": 1}],
                "pageDetails": {"nextPageUrl": "https://evil.example/V1.0/Companies/query/next?paging=x"},
            },
        ),
    )
    results = client.query("Companies", [{"op": "exist", "field": "id"}])
    assert next(results) == {"id": 1}
    with pytest.raises(AutotaskConfigurationError):
        next(results)
    assert all(r.url.host.endswith(".autotask.net") for r in fake.requests)


def test_explicit_override_host_is_trusted(fake, make_client):
    override = "http://127.0.0.1:8001/atservicesrest/v1.0/zoneInformation"
    fake.zone(respond(200, {**ZONE_ANSWER, "url": "http://127.0.0.1:8001/ATServicesRest/"}))
    fake.on("GET", "/Tickets/7", respond(200, {"item": {"id": 7}}))
    client = make_client(zone_info_url=override)

    assert client.get("Tickets", 7) == {"id": 7}
    assert str(fake.requests[0].url).startswith(override)
    assert fake.data_requests[0].headers["Secret"] == SECRET


def test_override_does_not_trust_other_plain_http_hosts(fake, make_client):
    fake.zone(respond(200, {**ZONE_ANSWER, "url": "http://10.0.0.9:8001/ATServicesRest/"}))
    client = make_client(zone_info_url="http://127.0.0.1:8001/atservicesrest/v1.0/zoneInformation")
    with pytest.raises(AutotaskConfigurationError):
        client.get("Tickets", 7)
    assert fake.data_requests == []


def test_override_from_environment(fake, make_client, monkeypatch):
    monkeypatch.setenv("AUTOTASK_ZONE_INFO_URL", "http://sim.test:8001/atservicesrest/v1.0/zoneInformation")
    fake.zone(respond(200, {**ZONE_ANSWER, "url": "http://sim.test:8001/ATServicesRest/"}))
    fake.on("GET", "/ThresholdInformation", respond(200, {"currentTimeframeRequestCount": 3}))
    client = make_client()
    assert client.threshold_information() == {"currentTimeframeRequestCount": 3}
    assert fake.requests[0].url.host == "sim.test"


def test_override_from_django_settings(fake, make_client, settings):
    settings.AUTOTASK_ZONE_INFO_URL = "http://sim.test:9000/atservicesrest/v1.0/zoneInformation"
    client = make_client()
    client.zone_information()
    assert client.zone_info_url == settings.AUTOTASK_ZONE_INFO_URL
    assert fake.requests[0].url.port == 9000


def test_no_override_means_the_official_url(make_client):
    assert make_client().zone_info_url == OFFICIAL_ZONE_INFO_URL


def test_incomplete_credentials_are_a_configuration_error(make_client, creds):
    bad = type(creds)(username=USERNAME, secret="", integration_code=INTEGRATION_CODE)
    with pytest.raises(AutotaskConfigurationError, match="API secret"):
        make_client(bad)


UNSENDABLE = {
    "secret-accented": ("secret", "sécret-Value-9f8e7d", "API secret"),
    "secret-line-break": ("secret", "S3cret-Value\r\nX-Injected: 1", "API secret"),
    "secret-trailing-space": ("secret", "S3cret-Value-9f8e7d ", "API secret"),
    "code-tab": ("integration_code", "TRACKCODE\tABCDEFGH", "Tracking Identifier"),
    "username-non-ascii": ("username", "api@mšp.example", "API username"),
}


@pytest.mark.parametrize(("field", "value", "label"), UNSENDABLE.values(), ids=UNSENDABLE.keys())
def test_credentials_that_cannot_travel_in_a_header_are_a_configuration_error(
    fake, make_client, creds, field, value, label
):
    # Without the check httpx raises UnicodeEncodeError (or h11 a protocol error) in the middle of a call:
    # a traceback instead of an operator message.
    bad = dataclasses.replace(creds, **{field: value})
    with pytest.raises(AutotaskConfigurationError, match=label) as info:
        make_client(bad)
    assert value not in str(info.value)
    assert fake.requests == []


@pytest.mark.parametrize("resource", ["12a", True, "-3"])
def test_impersonation_resource_id_must_be_a_whole_number(make_client, creds, resource):
    with pytest.raises(AutotaskConfigurationError, match="impersonation resource id"):
        make_client(dataclasses.replace(creds, impersonation_resource_id=resource))
