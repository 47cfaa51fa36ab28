"""The real AutotaskClient over the in-process simulator (httpx.WSGITransport)."""

import re

import httpx
import pytest

from integrations.autotask.client import AutotaskClient, Credentials, clear_zone_cache
from integrations.autotask.exceptions import (
    AutotaskAuthError,
    AutotaskConnectionError,
    AutotaskPermissionError,
    AutotaskRateLimitError,
    AutotaskServerError,
)
from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator

OVERRIDE = "http://127.0.0.1:8001/atservicesrest/v1.0/zoneInformation"
ALL = [{"op": "exist", "field": "id"}]
TICKET = {"companyID": 174, "title": "Backup failed", "status": 1, "priority": 2, "queueID": 29682833}


def creds(tenant, **changes):
    values = {
        "username": tenant.username,
        "secret": tenant.secret,
        "integration_code": tenant.integration_code,
        "impersonation_resource_id": None,
    }
    values.update(changes)
    return Credentials(**values)


@pytest.fixture(autouse=True)
def _fresh_zone_cache():
    clear_zone_cache()
    yield
    clear_zone_cache()


@pytest.fixture
def sim():
    return AutotaskSimulator(seed=1)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def connect(sim, sleeps):
    clients = []

    def make(tenant=PRODUCTION, zone_info_url=OVERRIDE, **changes):
        client = AutotaskClient(
            creds(tenant, **changes),
            zone_info_url=zone_info_url,
            transport=httpx.WSGITransport(app=sim),
            sleep=sleeps.append,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_zone_discovery_through_the_override(connect):
    zone = connect().zone_information()
    assert zone.api_url == "http://127.0.0.1:8001/ATServicesRest/V1.0/"
    assert zone.database_id == PRODUCTION.database_id


def test_zone_discovery_through_the_official_url(connect):
    zone = connect(
        SANDBOX, zone_info_url="https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
    ).zone_information()
    assert zone.api_url == "https://webservices2.autotask.net/ATServicesRest/V1.0/"
    assert zone.database_id == SANDBOX.database_id


def test_paging_over_all_production_companies(sim, connect):
    client = connect()
    client.zone_information()
    sim.clear_requests()

    ids = [company["id"] for company in client.query("Companies", ALL)]

    expected = [c["id"] for c in sim.companies(PRODUCTION.database_id)]
    assert len(expected) > 1200
    assert ids == expected  # each id exactly once, in id order
    records = sim.requests
    pages = -(-len(expected) // 500)
    assert [r.operation for r in records] == ["query"] + ["next"] * (pages - 1)
    assert all(r.method == "POST" and r.status == 200 for r in records)  # the cursor is re-POSTed
    assert all("paging=" in r.query_string for r in records[1:])
    assert sim.api_call_count(exclude_zone=True) == pages


def test_count_matches_the_query(connect):
    client = connect()
    active = [{"op": "eq", "field": "isActive", "value": True}]
    assert client.count("Companies", active) == sum(
        1 for _ in client.query("Companies", active, include_fields=["id"])
    )


def test_get_missing_ticket_is_none(connect):
    assert connect().get("Tickets", 999_999_999) is None


def test_create_ticket_and_note(sim, connect):
    client = connect()
    ticket_id = client.create("Tickets", {**TICKET, "dueDateTime": None, "description": "Job X failed"})
    note_id = client.create_child(
        "Tickets",
        ticket_id,
        "Notes",
        {"title": "Backupchecks", "description": "Run failed", "noteType": 3, "publish": 2},
    )

    ticket = client.get("Tickets", ticket_id)
    assert re.fullmatch(r"T\d{8}\.\d{4}", ticket["ticketNumber"])
    assert [n["id"] for n in sim.ticket_notes(PRODUCTION.database_id, ticket_id)] == [note_id]
    assert client.update("Tickets", {"id": ticket_id, "status": 5}) == ticket_id
    assert client.get("Tickets", ticket_id)["status"] == 5


def test_field_info_and_threshold(connect):
    client = connect()
    status = next(f for f in client.field_info("Tickets") if f["name"] == "status")
    assert all(isinstance(v["value"], str) for v in status["picklistValues"])
    usage = client.threshold_information()
    assert usage["externalRequestThreshold"] == 10000
    assert usage["currentTimeframeRequestCount"] >= 1


def test_thread_threshold_is_retried_for_reads(sim, connect, sleeps):
    client = connect()
    sim.inject_fault(entity="Companies", method="POST", mode="thread_threshold", times=2)
    sim.clear_requests()

    first = list(client.query("Companies", ALL, max_records=5))

    assert len(first) == 5
    assert [r.status for r in sim.requests if r.operation == "query"] == [429, 429, 200]
    assert len(sleeps) == 2


def test_thread_threshold_is_not_retried_for_writes(sim, connect, sleeps):
    client = connect()
    client.zone_information()
    before = len(sim.tickets(PRODUCTION.database_id))
    sim.inject_fault(entity="Tickets", method="POST", mode="thread_threshold", times=1)
    sim.clear_requests()

    with pytest.raises(AutotaskRateLimitError) as info:
        client.create("Tickets", TICKET)

    assert info.value.kind == "thread"
    assert [(r.method, r.operation) for r in sim.requests] == [("POST", "write")]
    assert len(sim.tickets(PRODUCTION.database_id)) == before
    assert sleeps == []


def test_hourly_threshold_error_reports_usage(sim, connect, sleeps):
    client = connect()
    sim.configure(hourly_limit=3)
    usage = client.threshold_information()  # request 1 of 3
    assert usage["currentTimeframeRequestCount"] == 1
    client.get("Tickets", 1)
    client.get("Tickets", 2)

    with pytest.raises(AutotaskRateLimitError) as info:
        client.get("Tickets", 3)

    err = info.value
    assert err.kind == "hourly" and err.retryable is False
    # Issue 7 item 5: the figure says what was measured when, not "1 of 3 used this hour" as if current.
    assert "used this hour" not in str(err)
    assert re.search(
        r"at \d\d:\d\d UTC \(less than a minute earlier\) Autotask counted 1 of 3 requests", str(err)
    )
    assert "external request threshold" in str(err)  # Autotask's own words
    assert sleeps == []


def test_dropped_connection_after_create_is_ambiguous_and_sent_once(sim, connect):
    client = connect()
    client.zone_information()
    before = len(sim.tickets(PRODUCTION.database_id))
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_drop")
    sim.clear_requests()

    with pytest.raises(AutotaskConnectionError) as info:
        client.create("Tickets", TICKET)

    assert info.value.ambiguous is True
    assert len(sim.tickets(PRODUCTION.database_id)) == before + 1  # it did happen
    assert len(sim.requests) == 1


def test_500_without_body_after_create_is_ambiguous(sim, connect):
    client = connect()
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_500")
    with pytest.raises(AutotaskServerError) as info:
        client.create("Tickets", TICKET)
    assert info.value.ambiguous is True and info.value.status_code == 500


def test_wrong_secret_costs_one_authenticated_call(sim, connect):
    """Issue 7 item 4: after a fresh discovery a 401 is one failure (no re-discovery and repeat)."""
    client = connect(secret="wrong-secret-value")
    sim.clear_requests()
    with pytest.raises(AutotaskAuthError) as info:
        client.get("Tickets", 1)
    assert "check the API username and secret" in str(info.value)
    assert [r.operation for r in sim.requests] == ["zoneInformation", "item"]
    assert "wrong-secret-value" not in str(info.value)


def test_wrong_integration_code(connect):
    with pytest.raises(AutotaskAuthError, match="check the Tracking Identifier"):
        connect(integration_code="NOT-THE-RIGHT-CODE").threshold_information()


def test_unknown_user(connect):
    with pytest.raises(AutotaskAuthError, match="check the API username"):
        connect(username="nobody@example.invalid").zone_information()


def test_long_in_list_over_the_simulator(sim, connect):
    client = connect()
    expected = [c["id"] for c in sim.companies(PRODUCTION.database_id)]
    sim.clear_requests()
    found = [c["id"] for c in client.query("Companies", [{"op": "in", "field": "id", "value": expected}])]
    assert found == expected
    assert sim.api_call_count(exclude_zone=True) == -(-len(expected) // 500)


def test_timeout_after_create_is_ambiguous_and_not_retried(sim, connect, sleeps):
    client = connect()
    client.zone_information()
    before = len(sim.tickets(PRODUCTION.database_id))

    def time_out(_seconds):
        raise httpx.ReadTimeout("timed out")

    sim.sleep = time_out
    sim.inject_fault(entity="Tickets", method="POST", mode="delay")
    sim.clear_requests()

    with pytest.raises(AutotaskConnectionError) as info:
        client.create("Tickets", TICKET)

    assert info.value.ambiguous is True
    assert "Autotask did not answer within 30 s" in str(info.value)
    assert len(sim.tickets(PRODUCTION.database_id)) == before + 1
    assert [(r.method, r.operation) for r in sim.requests] == [("POST", "write")]
    assert sleeps == []


def test_timeout_on_a_read_is_retried(sim, connect, sleeps):
    client = connect()

    def time_out(_seconds):
        raise httpx.ReadTimeout("timed out")

    sim.sleep = time_out
    sim.inject_fault(entity="Tickets", method="GET", mode="delay")
    assert client.get("Tickets", 999_999_999) is None
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [429, 500])
def test_thread_threshold_retry_honours_retry_after(sim, connect, sleeps, status):
    sim.configure(retry_after_seconds=4, thread_limit_status=status)
    sim.inject_fault(entity="Companies", method="GET", mode="thread_threshold", times=1)

    assert connect().get("Companies", 0)["id"] == 0
    assert sleeps == [4.0]


def test_missing_permission_is_a_permission_error_and_not_retried(sim, connect, sleeps):
    sim.configure(permission_denied_entities=["Tickets"])
    client = connect()
    client.zone_information()
    sim.clear_requests()

    with pytest.raises(AutotaskPermissionError) as info:
        client.field_info("Tickets")

    assert info.value.errors == ("The logged in Resource does not have the adequate permissions",)
    assert "lacks permission for Tickets" in str(info.value)
    assert len(sim.requests) == 1 and sleeps == []
    assert client.get("Companies", 0)["id"] == 0  # other entities are unaffected


# -- issue 7 ------------------------------------------------------------------------------------------


def test_update_with_none_sends_an_explicit_null_and_clears_the_field(sim, connect):
    """Item 3: the named fields are PATCHed as null; the change is really made, not reported as done."""
    client = connect()
    roles = {29682861}
    resource = next(r["id"] for r in sim.state[PRODUCTION.database_id]["Resources"].values() if r["isActive"])
    ticket_id = client.create(
        "Tickets", {**TICKET, "assignedResourceID": resource, "assignedResourceRoleID": min(roles)}
    )
    assert client.get("Tickets", ticket_id)["assignedResourceID"] == resource

    client.update("Tickets", {"id": ticket_id, "assignedResourceID": None, "assignedResourceRoleID": None})

    ticket = client.get("Tickets", ticket_id)
    assert ticket["assignedResourceID"] is None and ticket["assignedResourceRoleID"] is None


def test_update_naming_no_field_is_refused_without_a_request(sim, connect):
    client = connect()
    sim.clear_requests()
    with pytest.raises(ValueError, match="names no field"):
        client.update("Tickets", {"id": 128900})
    assert sim.requests == []


def test_unknown_operator_is_refused_before_the_lenient_simulator_sees_it(sim, connect):
    """Item 1: the simulator (like live Autotask) would answer 200 and drop the clause."""
    from integrations.autotask.exceptions import AutotaskQueryError

    client = connect()
    sim.clear_requests()
    with pytest.raises(AutotaskQueryError):
        list(client.query("Tickets", [{"op": "ne", "field": "status", "value": 5}]))
    assert sim.requests == []


def test_creating_a_note_on_the_root_url_is_not_found(sim, connect):
    """Item 7: POST /TicketNotes answers like live Autotask (404), which the client reports as such."""
    from integrations.autotask.exceptions import AutotaskNotFoundError

    with pytest.raises(AutotaskNotFoundError) as info:
        connect().create("TicketNotes", {"ticketID": 128900, "description": "x", "noteType": 1, "publish": 2})
    assert info.value.status_code == 404
    assert sim.requests[-1].errors[0].startswith("No HTTP resource was found")
