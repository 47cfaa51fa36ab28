"""One short method per API call: URLs, verbs, headers, bodies and envelopes."""

import pytest

from integrations.autotask.client import AutotaskClient, strip_nulls

from .conftest import API, INTEGRATION_CODE, SECRET, USERNAME, respond

FILTER = [{"op": "eq", "field": "companyID", "value": 5}]


@pytest.fixture
def impersonating(make_client, creds):
    return make_client(type(creds)(**{**creds.__dict__, "impersonation_resource_id": 29682885}))


def test_auth_headers_on_every_data_call(fake, client):
    fake.on("GET", "/Tickets/7", respond(200, {"item": {"id": 7}}))
    client.get("Tickets", 7)
    (request,) = fake.data_requests
    assert request.headers["ApiIntegrationCode"] == INTEGRATION_CODE
    assert request.headers["UserName"] == USERNAME
    assert request.headers["Secret"] == SECRET
    assert request.headers["Content-Type"] == "application/json"
    assert str(request.url) == API + "Tickets/7"


def test_impersonation_header_only_on_writes(fake, impersonating):
    fake.on("GET", "/Tickets/7", respond(200, {"item": {"id": 7}}))
    fake.on("POST", "/Tickets/query", respond(200, {"items": [], "pageDetails": {"nextPageUrl": None}}))
    fake.on("POST", "/Tickets", respond(200, {"itemId": 8}))
    fake.on("POST", "/Tickets/8/Notes", respond(200, {"itemId": 9}))
    fake.on("PATCH", "/Tickets", respond(200, {"itemId": 8}))

    impersonating.get("Tickets", 7)
    list(impersonating.query("Tickets", FILTER))
    impersonating.create("Tickets", {"title": "x"})
    impersonating.create_child("Tickets", 8, "Notes", {"description": "d"})
    impersonating.update("Tickets", {"id": 8, "status": 5})

    headers = {(r.method, r.url.path): r.headers.get("ImpersonationResourceId") for r in fake.data_requests}
    assert headers == {
        ("GET", "/ATServicesRest/V1.0/Tickets/7"): None,
        ("POST", "/ATServicesRest/V1.0/Tickets/query"): None,
        ("POST", "/ATServicesRest/V1.0/Tickets"): "29682885",
        ("POST", "/ATServicesRest/V1.0/Tickets/8/Notes"): "29682885",
        ("PATCH", "/ATServicesRest/V1.0/Tickets"): "29682885",
    }


def test_no_impersonation_header_when_not_configured(fake, client):
    fake.on("POST", "/Tickets", respond(200, {"itemId": 8}))
    client.create("Tickets", {"title": "x"})
    assert "ImpersonationResourceId" not in fake.data_requests[0].headers


def test_nulls_are_stripped_recursively_from_create_bodies_and_sent_in_updates(fake, client):
    fake.on("POST", "/Tickets", respond(200, {"itemId": 8}))
    fake.on("PATCH", "/Tickets", respond(200, {"itemId": 8}))
    payload = {
        "title": "x",
        "dueDateTime": None,
        "userDefinedFields": [{"name": "Ranking", "value": None}, None, {"name": "Tier", "value": "Gold"}],
        "nested": {"a": None, "b": {"c": None, "d": 0, "e": False, "f": ""}},
    }
    client.create("Tickets", payload)
    client.update("Tickets", {"id": 8, "status": 5, "resolution": None})

    create_body, patch_body = (fake.body(r) for r in fake.data_requests)
    assert create_body == {
        "title": "x",
        "userDefinedFields": [{"name": "Ranking"}, {"name": "Tier", "value": "Gold"}],
        "nested": {"b": {"d": 0, "e": False, "f": ""}},
    }
    assert patch_body == {"id": 8, "status": 5, "resolution": None}  # issue 7 item 3: an explicit null
    assert payload["dueDateTime"] is None  # the caller's dict is not modified


def test_strip_nulls_keeps_falsy_values():
    assert strip_nulls({"a": 0, "b": "", "c": [], "d": None}) == {"a": 0, "b": "", "c": []}


def test_get_returns_the_item(fake, client):
    fake.on("GET", "/Tickets/7", respond(200, {"item": {"id": 7, "ticketNumber": "T20260101.0001"}}))
    assert client.get("Tickets", 7) == {"id": 7, "ticketNumber": "T20260101.0001"}


def test_get_null_item_is_none(fake, client):
    fake.on("GET", "/Tickets/7", respond(200, {"item": None}))
    assert client.get("Tickets", 7) is None


def test_get_404_is_none(fake, client):
    fake.on("GET", "/Tickets/7", respond(404))
    assert client.get("Tickets", 7) is None


def test_create_returns_the_new_id(fake, client):
    fake.on("POST", "/Tickets", respond(200, {"itemId": 29683664}))
    assert client.create("Tickets", {"title": "Backup failed", "companyID": 5}) == 29683664
    (request,) = fake.data_requests
    assert request.method == "POST" and str(request.url) == API + "Tickets"
    assert fake.body(request) == {"title": "Backup failed", "companyID": 5}


def test_create_child_posts_to_the_parent_path(fake, client):
    fake.on("POST", "/Tickets/123/Notes", respond(200, {"itemId": 77}))
    assert (
        client.create_child("Tickets", 123, "Notes", {"description": "d", "noteType": 1, "publish": 1}) == 77
    )
    assert str(fake.data_requests[0].url) == API + "Tickets/123/Notes"


def test_update_patches_the_collection_with_the_id_in_the_body(fake, client):
    fake.on("PATCH", "/Tickets", respond(200, {"itemId": 123}))
    assert client.update("Tickets", {"id": 123, "status": 5}) == 123
    (request,) = fake.data_requests
    assert request.method == "PATCH" and str(request.url) == API + "Tickets"
    assert fake.body(request) == {"id": 123, "status": 5}


def test_update_requires_an_id(client):
    with pytest.raises(ValueError):
        client.update("Tickets", {"status": 5})


def test_count(fake, client):
    fake.on("POST", "/TimeEntries/query/count", respond(200, {"queryCount": 7}))
    assert client.count("TimeEntries", FILTER) == 7
    assert fake.body(fake.data_requests[0]) == {"filter": FILTER}


def test_field_info_returns_the_fields_list(fake, client):
    fields = [{"name": "status", "isPickList": True, "picklistValues": [{"value": "1", "label": "New"}]}]
    fake.on("GET", "/Tickets/entityInformation/fields", respond(200, {"fields": fields}))
    assert client.field_info("Tickets") == fields


def test_threshold_information(fake, client):
    usage = {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 124,
    }
    fake.on("GET", "/ThresholdInformation", respond(200, usage))
    assert client.threshold_information() == usage
    assert str(fake.data_requests[0].url) == API + "ThresholdInformation"


@pytest.mark.parametrize("filters", [[], None, [1, 2]])
def test_a_filter_is_required(client, filters):
    with pytest.raises(ValueError, match="filter"):
        client.query("Companies", filters)
    with pytest.raises(ValueError):
        client.count("Companies", filters)


@pytest.mark.parametrize("entity", ["../Secrets", "Tickets/1", "", "Tickets?x=1"])
def test_entity_names_are_validated(client, entity):
    with pytest.raises(ValueError):
        client.get(entity, 1)


def test_context_manager_closes(fake, creds):
    import httpx

    with AutotaskClient(creds, transport=httpx.MockTransport(fake)) as client:
        client.zone_information()
    assert client._http.is_closed


def test_explicit_timeout_is_used_for_every_request(fake, make_client):
    fake.on("GET", "/Tickets/7", respond(200, {"item": None}))
    make_client(timeout=7.0).get("Tickets", 7)
    assert len(fake.requests) == 2
    for request in fake.requests:
        assert request.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_datetimes_and_decimals_are_sent_as_autotask_json(fake, client):
    from datetime import UTC, date, datetime, timedelta, timezone
    from decimal import Decimal

    fake.on("POST", "/TimeEntries", respond(200, {"itemId": 3}))
    client.create(
        "TimeEntries",
        {
            "startDateTime": datetime(2026, 3, 14, 10, 30, tzinfo=timezone(timedelta(hours=1))),
            "endDateTime": datetime(2026, 3, 14, 11, 0, tzinfo=UTC),
            "dateWorked": date(2026, 3, 14),
            "hoursWorked": Decimal("0.5"),
        },
    )
    assert fake.body(fake.data_requests[0]) == {
        "startDateTime": "2026-03-14T09:30:00Z",
        "endDateTime": "2026-03-14T11:00:00Z",
        "dateWorked": "2026-03-14",
        "hoursWorked": 0.5,
    }


def _parameters(func):
    import inspect

    return [
        (p.name, p.default if p.default is not inspect.Parameter.empty else "<required>")
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)
    ]


def test_public_names_and_signatures_are_the_documented_contract():
    """Other code and external checks rely on these exact names (issue #3, section 1)."""
    import dataclasses

    from integrations.autotask import exceptions
    from integrations.autotask.client import Credentials, Zone

    assert [f.name for f in dataclasses.fields(Credentials)] == [
        "username",
        "secret",
        "integration_code",
        "impersonation_resource_id",
    ]
    assert Credentials("u", "s", "c").impersonation_resource_id is None
    assert [f.name for f in dataclasses.fields(Zone)] == ["name", "api_url", "web_url", "database_id"]
    assert _parameters(AutotaskClient.__init__) == [
        ("self", "<required>"),
        ("credentials", "<required>"),
        ("zone_info_url", None),
        ("transport", None),
        ("timeout", 30.0),
    ]
    expected = {
        "zone_information": ["self"],
        "query": ["self", "entity", "filters", "include_fields", "max_records"],
        "count": ["self", "entity", "filters"],
        "get": ["self", "entity", "entity_id"],
        "create": ["self", "entity", "payload"],
        "create_child": ["self", "parent_entity", "parent_id", "child_entity", "payload"],
        "update": ["self", "entity", "payload"],
        "field_info": ["self", "entity"],
        "threshold_information": ["self"],
    }
    for name, params in expected.items():
        assert [p for p, _ in _parameters(getattr(AutotaskClient, name))] == params, name
    assert dict(_parameters(AutotaskClient.query))["include_fields"] is None
    assert dict(_parameters(AutotaskClient.query))["max_records"] is None
    for name in (
        "AutotaskConfigurationError",
        "AutotaskConnectionError",
        "AutotaskAuthError",
        "AutotaskPermissionError",
        "AutotaskNotFoundError",
        "AutotaskRateLimitError",
        "AutotaskValidationError",
        "AutotaskServerError",
    ):
        assert issubclass(getattr(exceptions, name), exceptions.AutotaskError), name


def test_the_documented_call_shapes_work(fake, creds):
    """The snippet of issue #3 section 1, keyword for keyword."""
    import httpx

    fake.on(
        "POST", "/Companies/query", respond(200, {"items": [{"id": 5}], "pageDetails": {"nextPageUrl": None}})
    )
    fake.on("POST", "/TimeEntries/query/count", respond(200, {"queryCount": 4}))
    fake.on("GET", "/Tickets/123", respond(200, {"item": None}))
    fake.on("POST", "/Tickets/123/Notes", respond(200, {"itemId": 8}))
    fake.on("POST", "/Tickets", respond(200, {"itemId": 123}))
    fake.on("PATCH", "/Tickets", respond(200, {"itemId": 123}))
    fake.on("GET", "/Tickets/entityInformation/fields", respond(200, {"fields": [{"name": "status"}]}))
    fake.on("GET", "/ThresholdInformation", respond(200, {"currentTimeframeRequestCount": 1}))
    filters = [{"op": "contains", "field": "companyName", "value": "acme"}]
    with AutotaskClient(
        creds, zone_info_url=None, transport=httpx.MockTransport(fake), timeout=30.0
    ) as client:
        assert client.zone_information().database_id == 12345
        assert list(client.query("Companies", filters, include_fields=None, max_records=None)) == [{"id": 5}]
        assert client.count("TimeEntries", filters) == 4
        assert client.get("Tickets", 123) is None
        assert client.create("Tickets", {"title": "x"}) == 123
        assert client.create_child("Tickets", 123, "Notes", {"description": "x"}) == 8
        assert client.update("Tickets", {"id": 123, "status": 5}) == 123
        assert client.field_info("Tickets") == [{"name": "status"}]
        assert client.threshold_information() == {"currentTimeframeRequestCount": 1}
