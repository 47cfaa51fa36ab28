"""Creates, updates, child notes, time entries, metadata and picklists."""

import re
from datetime import UTC, datetime

import pytest

from integrations.autotask.simulator import PRODUCTION, SANDBOX

from .conftest import new_ticket

ASSIGNMENT = (
    "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID."
)


@pytest.fixture
def frozen(sim):
    sim.utcnow = lambda: datetime(2026, 3, 14, 9, 30, 15, 250000, tzinfo=UTC)
    return sim


def test_create_ticket_returns_item_id_and_generates_number_and_dates(frozen, api):
    response = api.post("/Tickets", json=new_ticket(externalID="bc-run-42"))
    assert response.status_code == 200
    assert set(response.json()) == {"itemId"}
    item = api.get(f"/Tickets/{response.json()['itemId']}").json()["item"]
    assert item["ticketNumber"] == "T20260314.0001"
    assert item["createDate"] == item["lastActivityDate"] == "2026-03-14T09:30:15.250Z"
    assert item["completedDate"] is None
    assert item["externalID"] == "bc-run-42"
    assert item["status"] == 1 and isinstance(item["queueID"], int)
    second = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    assert api.get(f"/Tickets/{second}").json()["item"]["ticketNumber"] == "T20260314.0002"


def test_ticket_numbers_are_a_sequence_per_day_per_tenant(frozen, api, sandbox_api):
    api.post("/Tickets", json=new_ticket())
    sandbox_id = sandbox_api.post("/Tickets", json=new_ticket(companyID=1174, queueID=29700101)).json()[
        "itemId"
    ]
    assert sandbox_api.get(f"/Tickets/{sandbox_id}").json()["item"]["ticketNumber"] == "T20260314.0001"
    frozen.utcnow = lambda: datetime(2026, 3, 15, 0, 0, 1, tzinfo=UTC)
    next_day = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    assert api.get(f"/Tickets/{next_day}").json()["item"]["ticketNumber"] == "T20260315.0001"


def test_ticket_number_format_for_real_clock(sim, api):
    ticket_id = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    assert re.fullmatch(r"T\d{8}\.\d{4}", api.get(f"/Tickets/{ticket_id}").json()["item"]["ticketNumber"])


def test_external_id_is_queryable_and_not_unique(api):
    for _ in range(2):
        api.post("/Tickets", json=new_ticket(externalID="bc:run:7"))
    found = api.post(
        "/Tickets/query", json={"filter": [{"op": "eq", "field": "externalID", "value": "bc:run:7"}]}
    )
    assert found.json()["pageDetails"]["count"] == 2


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("companyID", "Missing Required Field: companyID."),
        ("title", "Missing Required Field: title."),
        ("status", "Missing Required Field: status."),
        ("priority", "Missing Required Field: priority."),
    ],
)
def test_ticket_required_fields(sim, api, drop, message):
    body = new_ticket()
    del body[drop]
    response = api.post("/Tickets", json=body)
    assert response.status_code == 500
    assert message in response.json()["errors"]
    assert len(sim.tickets(PRODUCTION.database_id)) == 6  # nothing half-written


def test_ticket_needs_queue_or_assigned_resource_with_role(api):
    body = new_ticket()
    del body["queueID"]
    assert api.post("/Tickets", json=body).status_code == 500
    assigned = dict(body, assignedResourceID=29682881, assignedResourceRoleID=29682862)
    assert api.post("/Tickets", json=assigned).status_code == 200


def test_assigned_resource_without_role_gives_the_autotask_error(api):
    response = api.post("/Tickets", json=new_ticket(assignedResourceID=29682881))
    assert response.status_code == 500
    assert response.json() == {"errors": [ASSIGNMENT]}


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("queueID", 29700101, "queueID"),  # the sandbox's queue: ids are per tenant
        ("queueID", 29683490, "inactive"),
        ("status", 14, "inactive"),
        ("status", 99, "status"),
        ("priority", 5, "inactive"),
        ("source", 64, None),
        ("source", 8, "inactive"),
        ("companyID", 999999, "companyID"),
        ("companyID", "abc", "companyID"),
    ],
)
def test_ticket_picklist_and_reference_checks(api, field, value, fragment):
    response = api.post("/Tickets", json=new_ticket(**{field: value}))
    if fragment is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 500
        assert any(fragment in e for e in response.json()["errors"])


def test_inactive_company_rejected_for_new_tickets(sim, api):
    sim.deactivate_company(PRODUCTION.database_id, 174)
    assert api.post("/Tickets", json=new_ticket()).status_code == 500
    sim.configure(require_active_company=False)
    assert api.post("/Tickets", json=new_ticket()).status_code == 200


def test_status_complete_sets_completed_date_and_patch_reopens(frozen, api):
    ticket_id = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    response = api.patch("/Tickets", json={"id": ticket_id, "status": 5})
    assert response.json() == {"itemId": ticket_id}
    item = api.get(f"/Tickets/{ticket_id}").json()["item"]
    assert item["status"] == 5 and item["completedDate"] == "2026-03-14T09:30:15.250Z"
    assert item["title"] == "Backup failed"  # PATCH keeps unsent fields
    api.patch("/Tickets", json={"id": ticket_id, "status": 8})
    assert api.get(f"/Tickets/{ticket_id}").json()["item"]["completedDate"] is None
    created_done = api.post("/Tickets", json=new_ticket(status=5)).json()["itemId"]
    assert api.get(f"/Tickets/{created_done}").json()["item"]["completedDate"]


def test_patch_errors(api):
    assert api.patch("/Tickets", json={"status": 5}).status_code == 500
    assert api.patch("/Tickets", json={"id": 1, "status": 5}).status_code == 500
    assert api.patch("/Tickets", json={"id": 128902, "status": 77}).status_code == 500


def test_put_nulls_omitted_fields(api):
    ticket_id = api.post("/Tickets", json=new_ticket(description="details")).json()["itemId"]
    assert api.put("/Tickets", json=dict(new_ticket(), id=ticket_id)).status_code == 200
    assert api.get(f"/Tickets/{ticket_id}").json()["item"]["description"] is None


def test_impersonation_is_recorded_on_writes(api):
    ticket_id = api.post(
        "/Tickets", json=new_ticket(), headers={"ImpersonationResourceId": "29682881"}
    ).json()["itemId"]
    assert api.get(f"/Tickets/{ticket_id}").json()["item"]["impersonatorCreatorResourceID"] == 29682881


def test_notes_are_created_through_the_ticket_and_queried_at_the_root(sim, api):
    body = {"title": "Backupchecks", "description": "Job failed", "noteType": 3, "publish": 2}
    response = api.post("/Tickets/128902/Notes", json=body)
    assert response.status_code == 200
    note_id = response.json()["itemId"]
    note = api.get(f"/TicketNotes/{note_id}").json()["item"]
    assert note["ticketID"] == 128902 and note["publish"] == 2 and note["createDateTime"].endswith("Z")
    children = api.get("/Tickets/128902/Notes").json()
    assert note_id in [n["id"] for n in children["items"]]
    assert children["pageDetails"]["count"] == len(children["items"])
    assert api.get(f"/Tickets/128902/Notes/{note_id}").json()["item"]["id"] == note_id
    rooted = api.post(
        "/TicketNotes/query", json={"filter": [{"op": "eq", "field": "ticketID", "value": 128902}]}
    )
    assert note_id in [n["id"] for n in rooted.json()["items"]]
    assert [n["id"] for n in sim.ticket_notes(PRODUCTION.database_id, 128902)][-1] == note_id
    assert "userDefinedFields" not in note


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"noteType": 3, "publish": 1}, "description"),
        ({"description": "x", "publish": 1}, "noteType"),
        ({"description": "x", "noteType": 3}, "publish"),
        ({"description": "x", "noteType": 3, "publish": 9}, "publish"),
        ({"description": "x", "noteType": 13, "publish": 1}, "inactive"),
        ({"description": "x", "noteType": 3, "publish": 1, "ticketID": 128903}, "ticketID"),
    ],
)
def test_note_validation(api, body, fragment):
    response = api.post("/Tickets/128902/Notes", json=body)
    assert response.status_code == 500
    assert any(fragment in e for e in response.json()["errors"])


def test_note_on_a_missing_ticket_is_500(api):
    response = api.post("/Tickets/5/Notes", json={"description": "x", "noteType": 3, "publish": 1})
    assert response.status_code == 500


def test_note_picklists_differ_per_tenant(sandbox_api):
    ok = sandbox_api.post("/Tickets/7702/Notes", json={"description": "x", "noteType": 18, "publish": 2})
    assert ok.status_code == 200
    third = sandbox_api.post("/Tickets/7702/Notes", json={"description": "x", "noteType": 3, "publish": 3})
    assert third.status_code == 500


def test_time_entries_create_query_and_delete(api):
    body = {"ticketID": 128902, "resourceID": 29682881, "hoursWorked": 1.5, "summaryNotes": "Restored"}
    entry_id = api.post("/TimeEntries", json=body).json()["itemId"]
    entry = api.get(f"/TimeEntries/{entry_id}").json()["item"]
    assert entry["hoursWorked"] == 1.5 and entry["roleID"] == 29682862
    found = api.post(
        "/TimeEntries/query/count", json={"filter": [{"op": "eq", "field": "ticketID", "value": 128902}]}
    )
    assert found.json() == {"queryCount": 1}
    assert api.delete(f"/TimeEntries/{entry_id}").json() == {"itemId": entry_id}
    assert api.get(f"/TimeEntries/{entry_id}").json() == {"item": None}
    missing = api.delete(f"/TimeEntries/{entry_id}")
    assert missing.status_code == 500 and "No matching records found" in missing.json()["errors"][0]


@pytest.mark.parametrize("hours", [0, -1, 24.5, None])
def test_time_entry_hours_must_be_between_0_and_24(api, hours):
    body = {"ticketID": 128902, "resourceID": 29682881, "hoursWorked": hours}
    response = api.post("/TimeEntries", json=body)
    assert response.status_code == 500


def test_time_entry_requires_an_active_resource(api):
    assert api.post("/TimeEntries", json={"ticketID": 128902, "hoursWorked": 1}).status_code == 500
    inactive = {"ticketID": 128902, "resourceID": 29682884, "hoursWorked": 1}
    assert api.post("/TimeEntries", json=inactive).status_code == 500


def test_company_create_requires_fields(api):
    assert api.post("/Companies", json={"companyName": "X"}).status_code == 500


def test_entity_information(api):
    info = api.get("/Tickets/entityInformation").json()["info"]
    assert info["name"] == "Tickets" and info["canCreate"] and not info["canDelete"]
    assert api.get("/TimeEntries/entityInformation").json()["info"]["canDelete"] is True


def _picklist(api, entity, name):
    fields = api.get(f"/{entity}/entityInformation/fields").json()["fields"]
    return next(f for f in fields if f["name"] == name)


def test_ticket_field_metadata_and_picklists(api, sandbox_api):
    status = _picklist(api, "Tickets", "status")
    assert status["isPickList"] and status["isRequired"] and status["dataType"] == "integer"
    values = {v["value"]: v for v in status["picklistValues"]}
    assert values["1"]["label"] == "New" and values["5"]["label"] == "Complete"
    assert values["14"]["isActive"] is False
    assert all(isinstance(v["value"], str) for v in status["picklistValues"])
    prod_queues = {v["value"] for v in _picklist(api, "Tickets", "queueID")["picklistValues"]}
    sandbox_queues = {v["value"] for v in _picklist(sandbox_api, "Tickets", "queueID")["picklistValues"]}
    assert "29682833" in prod_queues and "29700101" in sandbox_queues and "29682833" not in sandbox_queues
    company = _picklist(api, "Tickets", "companyID")
    assert (
        company["isReference"]
        and company["referenceEntityType"] == "Company"
        and company["picklistValues"] is None
    )
    for name in ("source", "priority", "ticketType", "issueType"):
        assert _picklist(api, "Tickets", name)["picklistValues"]


def test_note_publish_picklist(api):
    labels = {v["value"]: v["label"] for v in _picklist(api, "TicketNotes", "publish")["picklistValues"]}
    assert labels == {"1": "All Autotask Users", "2": "Internal Only", "3": "Internal & Co-Managed"}


def test_user_defined_fields_metadata(api):
    names = [f["name"] for f in api.get("/Companies/entityInformation/userDefinedFields").json()["fields"]]
    assert "CustomerRanking" in names
    assert api.get("/TicketNotes/entityInformation/userDefinedFields").status_code == 404


def test_udfs_are_written_by_patch(api):
    api.patch("/Companies", json={"id": 174, "userDefinedFields": [{"name": "BackupSLA", "value": "Gold"}]})
    item = api.get("/Companies/174").json()["item"]
    assert {"name": "BackupSLA", "value": "Gold"} in item["userDefinedFields"]


def test_sandbox_and_production_are_isolated(api, sandbox_api):
    ticket_id = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    assert sandbox_api.get(f"/Tickets/{ticket_id}").json() == {"item": None}
    assert SANDBOX.database_id != PRODUCTION.database_id
