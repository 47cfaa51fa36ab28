"""Version and zone discovery, authentication failures, routing errors."""

import httpx
import pytest

from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator

from .conftest import ALL, auth_headers


def test_version_information_is_unauthenticated(http):
    response = http.get("https://webservices.autotask.net/atservicesrest/versioninformation")
    assert response.status_code == 200
    assert response.json() == {"apiVersions": ["V1.0"]}


@pytest.mark.parametrize(
    ("tenant", "zone", "url"),
    [
        (PRODUCTION, "AE02", "https://webservices14.autotask.net/ATServicesRest/"),
        (SANDBOX, "PRE2", "https://webservices2.autotask.net/ATServicesRest/"),
    ],
)
def test_zone_information_on_an_autotask_host_points_at_the_tenant_zone(http, tenant, zone, url):
    response = http.get(
        "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation",
        params={"user": tenant.username},
    )
    assert response.status_code == 200
    assert response.json() == {
        "zoneName": zone,
        "url": url,
        "webUrl": tenant.web_url,
        "ci": tenant.database_id,
    }


def test_zone_information_elsewhere_points_at_the_simulator_itself(http):
    response = http.get(
        "http://127.0.0.1:8001/ATSERVICESREST/V1.0/ZONEINFORMATION", params={"user": SANDBOX.username.upper()}
    )
    assert response.json()["url"] == "http://127.0.0.1:8001/ATServicesRest/"


def test_zone_url_override(sim, http):
    sim.configure(zone_url="https://evil.example.com/ATServicesRest/")
    response = http.get("/zoneInformation", params={"user": PRODUCTION.username})
    assert response.json()["url"] == "https://evil.example.com/ATServicesRest/"


@pytest.mark.parametrize("user", ["", "nobody@example.com"])
def test_zone_information_for_unknown_or_blank_user_is_500(http, user):
    response = http.get("/zoneInformation", params={"user": user})
    assert response.status_code == 500
    assert response.json() == {"errors": ["Zone information could not be determined"]}


def test_zone_information_is_recorded_but_needs_no_auth(sim, http):
    http.get("/zoneInformation", params={"user": PRODUCTION.username})
    [record] = sim.requests
    assert (record.entity, record.tenant_db_id, record.status, record.authenticated) == (
        "zoneInformation",
        PRODUCTION.database_id,
        200,
        False,
    )


@pytest.mark.parametrize(
    ("overrides", "status", "body"),
    [
        ({"ApiIntegrationCode": "WRONGCODE"}, 500, {"errors": ["IntegrationCode is invalid."]}),
        ({"UserName": "ghost@example.com"}, 500, {"errors": ["Zone information could not be determined"]}),
        ({"Secret": "wrong"}, 401, None),
    ],
    ids=["bad-integration-code", "unknown-user", "bad-secret"],
)
def test_authentication_failures(sim, http, overrides, status, body):
    response = http.get("/Companies/0", headers=auth_headers(PRODUCTION, **overrides))
    assert response.status_code == status
    if body is None:
        assert response.content == b""
    else:
        assert response.json() == body
    assert sim.requests[-1].authenticated is False


def test_bad_secret_body_can_be_json(sim, http):
    sim.configure(auth_failure_body="json")
    response = http.get("/Companies/0", headers=auth_headers(PRODUCTION, Secret="nope"))
    assert response.status_code == 401
    assert response.json() == {"errors": ["Authentication failed"]}


def test_missing_headers_are_rejected_as_invalid_integration_code(http):
    response = http.get("/Companies/0")
    assert response.status_code == 500
    assert response.json() == {"errors": ["IntegrationCode is invalid."]}


def test_header_names_and_path_are_case_insensitive(http):
    headers = {
        "APIIntegrationcode": PRODUCTION.integration_code,
        "username": PRODUCTION.username,
        "SECRET": PRODUCTION.secret,
    }
    response = http.get("https://webservices14.autotask.net/atservicesrest/v1.0/companies/0", headers=headers)
    assert response.status_code == 200
    assert response.json()["item"]["id"] == 0


def test_tenant_is_chosen_by_user(sandbox_api, api):
    sandbox_count = sandbox_api.post("/Companies/query/count", json={"filter": ALL}).json()["queryCount"]
    production_count = api.post("/Companies/query/count", json={"filter": ALL}).json()["queryCount"]
    assert sandbox_count < 60
    assert production_count > 1200


def test_wrong_zone_host_gives_401_when_enforced(sim, http):
    sim.configure(enforce_zone_host=True)
    wrong = http.get(
        "https://webservices2.autotask.net/ATServicesRest/V1.0/Companies/0", headers=auth_headers()
    )
    right = http.get(
        "https://webservices14.autotask.net/ATServicesRest/V1.0/Companies/0", headers=auth_headers()
    )
    assert (wrong.status_code, right.status_code) == (401, 200)


@pytest.mark.parametrize(
    "path",
    [
        "/Tasks",
        "/Tasks/query",
        "/Companies/abc",
        "/Companies/1/Unknown",
        "https://webservices14.autotask.net/nope",
    ],
)
def test_unknown_routes_are_404(api, path):
    response = api.post(path, json={})
    assert response.status_code == 404
    assert "Message" in response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Tickets"),
        ("DELETE", "/Tickets/128900"),
        ("DELETE", "/Companies/174"),
        ("POST", "/Resources"),
        ("POST", "/Companies/entityInformation/fields"),
    ],
)
def test_wrong_verbs_are_405_with_aspnet_message(api, method, path):
    response = api.request(method, path, json={})
    assert response.status_code == 405
    assert response.json() == {"Message": f"The requested resource does not support http method '{method}'."}


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
def test_writes_on_a_child_entity_root_are_404_as_live(sim, api, method):
    """Issue 7 item 7: live Autotask answers a create on the wrong URL (POST /V1.0/Tasks) with 404."""
    response = api.request(method, "/TicketNotes", json={"ticketID": 128900, "description": "x"})
    assert response.status_code == 404
    assert response.json() == {
        "Message": "No HTTP resource was found that matches the request URI '/ATServicesRest/V1.0/TicketNotes'."
    }
    assert sim.requests[-1].errors == (response.json()["Message"],)


def test_malformed_json_is_400(api):
    response = api.post("/Tickets", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"]


def test_transport_through_plain_wsgi_app_instance_is_reusable():
    sim = AutotaskSimulator(seed=1)
    with httpx.Client(transport=httpx.WSGITransport(app=sim)) as client:
        assert client.get("http://x/atservicesrest/versioninformation").status_code == 200
