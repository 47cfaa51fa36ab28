"""Switches for behaviour the reference marks UNCONFIRMED (§16): the defaults and the alternatives."""

import pytest

from integrations.autotask.simulator import PRODUCTION

from .conftest import ALL, new_ticket

PERMISSION = "The logged in Resource does not have the adequate permissions"


@pytest.mark.parametrize("mode", ["thread_threshold", "hourly_threshold"])
def test_rate_limit_rejections_carry_retry_after_only_when_configured(sim, api, mode):
    sim.inject_fault(entity="Companies", mode=mode, times=2)
    assert "retry-after" not in api.get("/Companies/0").headers

    sim.configure(retry_after_seconds=7)
    response = api.get("/Companies/0")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_real_thread_limit_rejection_carries_retry_after(sim, api):
    sim.configure(retry_after_seconds=3, thread_limit=1)
    sim._acquire_slot((PRODUCTION.integration_code, "companies"))  # one request already in flight
    response = api.get("/Companies/0")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


@pytest.mark.parametrize("status", [500, 403])
def test_permission_denied_entities(sim, api, status):
    sim.configure(
        permission_denied_entities=["Tickets", "ThresholdInformation"], permission_denied_status=status
    )
    for path in ("/Tickets/128900", "/Tickets/entityInformation/fields", "/ThresholdInformation"):
        response = api.get(path)
        assert response.status_code == status, path
        assert response.json() == {"errors": [PERMISSION]}
    assert api.post("/Tickets", json=new_ticket()).status_code == status
    assert sim.tickets(PRODUCTION.database_id)[-1]["id"] == 128905  # nothing was created
    assert api.post("/Companies/query", json={"filter": ALL, "MaxRecords": 1}).status_code == 200


def test_permission_denied_is_off_by_default_and_reset_restores_it(sim, api):
    assert api.get("/Tickets/128900").status_code == 200
    sim.configure(permission_denied_entities=["tickets"])  # case-insensitive
    assert api.get("/Tickets/128900").status_code == 500
    sim.reset()
    assert api.get("/Tickets/128900").status_code == 200


def test_version_label(sim, http):
    url = "https://webservices14.autotask.net/atservicesrest/versioninformation"
    assert http.get(url).json() == {"apiVersions": ["V1.0"]}
    sim.configure(api_version="1.0")
    assert http.get(url).json() == {"apiVersions": ["1.0"]}


def test_string_comparison_case_can_be_made_sensitive(sim, api):
    name = api.get("/Companies/174").json()["item"]["companyName"]
    body = {"filter": [{"op": "eq", "field": "companyName", "value": name.upper()}]}
    assert api.post("/Companies/query/count", json=body).json() == {"queryCount": 1}
    sim.configure(case_insensitive_strings=False)
    assert api.post("/Companies/query/count", json=body).json() == {"queryCount": 0}
    body["filter"][0]["value"] = name
    assert api.post("/Companies/query/count", json=body).json() == {"queryCount": 1}
    contains = {"filter": [{"op": "contains", "field": "companyName", "value": name[1:4].upper()}]}
    assert api.post("/Companies/query/count", json=contains).json() == {"queryCount": 0}


def test_tickets_can_require_a_due_date(sim, api):
    created = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    assert api.get(f"/Tickets/{created}").json()["item"]["dueDateTime"]  # defaulted

    sim.configure(ticket_requires_due_date=True)
    response = api.post("/Tickets", json=new_ticket())
    assert response.status_code == 500
    assert response.json() == {"errors": ["Missing Required Field: dueDateTime."]}
    fields = {f["name"]: f for f in api.get("/Tickets/entityInformation/fields").json()["fields"]}
    assert fields["dueDateTime"]["isRequired"] is True
    ok = api.post("/Tickets", json=new_ticket(dueDateTime="2030-03-21T00:00:00Z"))
    assert ok.status_code == 200


def test_zone_answer_can_leave_out_ci(sim, http):
    url = "/zoneInformation"
    assert http.get(url, params={"user": PRODUCTION.username}).json()["ci"] == PRODUCTION.database_id
    sim.configure(zone_includes_ci=False)
    assert "ci" not in http.get(url, params={"user": PRODUCTION.username}).json()
