"""The query language, envelopes, counting and paging."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.autotask.simulator import PRODUCTION

from .conftest import ALL


@pytest.fixture
def companies(sim):
    return sim.companies(PRODUCTION.database_id)


def ids(response):
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def query_all_ids(api, filters):
    """Follow every page (re-POSTing the body) and return the ids."""
    body = {"filter": filters}
    response = api.post("/Companies/query", json=body)
    found = ids(response)
    while response.json()["pageDetails"]["nextPageUrl"]:
        response = api.post(response.json()["pageDetails"]["nextPageUrl"], json=body)
        found += ids(response)
    return found


def test_query_envelope(api):
    response = api.post("/Companies/query", json={"filter": [{"op": "eq", "field": "id", "value": 174}]})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "pageDetails"}
    assert body["pageDetails"] == {"count": 1, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}
    item = body["items"][0]
    assert item["id"] == 174 and item["userDefinedFields"] is not None
    assert item["createDate"].endswith("Z")


@pytest.mark.parametrize(
    ("op", "value", "predicate"),
    [
        ("eq", 1, lambda c: c["companyType"] == 1),
        ("noteq", 1, lambda c: c["companyType"] != 1),
        ("gt", 900, lambda c: c["id"] > 900),
        ("gte", 900, lambda c: c["id"] >= 900),
        ("lt", 200, lambda c: c["id"] < 200),
        ("lte", 200, lambda c: c["id"] <= 200),
        ("in", [3, 7], lambda c: c["companyType"] in (3, 7)),
        ("notIn", [1, 8], lambda c: c["companyType"] not in (1, 8)),
    ],
)
def test_numeric_operators(api, companies, op, value, predicate):
    field = "companyType" if op in ("eq", "noteq", "in", "notIn") else "id"
    found = query_all_ids(api, [{"op": op, "field": field, "value": value}])
    expected = [c["id"] for c in companies if predicate(c)]
    assert expected and found == expected


@pytest.mark.parametrize(
    ("op", "value", "predicate"),
    [
        ("beginsWith", "HART", lambda n: n.lower().startswith("hart")),
        ("endsWith", "b.v.", lambda n: n.lower().endswith("b.v.")),
        ("contains", "DENTAL", lambda n: "dental" in n.lower()),
    ],
)
def test_string_operators_are_case_insensitive(api, companies, op, value, predicate):
    found = query_all_ids(api, [{"op": op, "field": "companyName", "value": value}])
    expected = [c["id"] for c in companies if predicate(c["companyName"])]
    assert expected and found == expected


def test_eq_on_strings_is_case_insensitive_and_field_names_too(api, companies):
    name = companies[5]["companyName"]
    response = api.post(
        "/Companies/query", json={"filter": [{"op": "eq", "field": "COMPANYNAME", "value": name.upper()}]}
    )
    assert ids(response) == [companies[5]["id"]]


def test_exist_and_not_exist(api, companies):
    assert query_all_ids(api, [{"op": "notExist", "field": "fax"}]) == [c["id"] for c in companies]
    assert query_all_ids(api, [{"op": "exist", "field": "fax"}]) == []


def test_nested_and_or_with_implicit_top_level_and(api, companies):
    filters = [
        {"op": "eq", "field": "isActive", "value": True},
        {
            "op": "or",
            "items": [
                {"op": "eq", "field": "companyType", "value": 7},
                {
                    "op": "and",
                    "items": [
                        {"op": "eq", "field": "companyType", "value": 3},
                        {"op": "lt", "field": "id", "value": 700},
                    ],
                },
            ],
        },
    ]
    expected = [
        c["id"]
        for c in companies
        if c["isActive"] and (c["companyType"] == 7 or (c["companyType"] == 3 and c["id"] < 700))
    ]
    assert expected and query_all_ids(api, filters) == expected


def test_boolean_strings_are_accepted_unless_strict(sim, api):
    loose = api.post(
        "/Companies/query/count", json={"filter": [{"op": "eq", "field": "isActive", "value": "false"}]}
    )
    assert loose.json()["queryCount"] > 0
    sim.configure(strict_booleans=True)
    strict = api.post(
        "/Companies/query/count", json={"filter": [{"op": "eq", "field": "isActive", "value": "false"}]}
    )
    assert strict.status_code == 500


def test_udf_filter_and_only_one_udf(api, companies):
    ranked = [c["id"] for c in companies if any(u["value"] == "A" for u in c["userDefinedFields"])]
    filters = [{"op": "eq", "field": "customerranking", "udf": True, "value": "a"}]
    assert ranked and query_all_ids(api, filters) == ranked
    two = filters + [{"op": "eq", "field": "BackupSLA", "udf": True, "value": "x"}]
    response = api.post("/Companies/query", json={"filter": two})
    assert response.status_code == 500
    assert response.json() == {"errors": ["You can only query by one user-defined field at a time."]}


def test_body_keys_are_case_insensitive_and_include_fields_keep_id_and_udfs(api):
    body = {
        "Filter": [{"op": "eq", "field": "id", "value": 174}],
        "IncludeFields": ["CompanyName", "isactive"],
    }
    item = api.post("/Companies/query", json=body).json()["items"][0]
    assert set(item) == {"id", "companyName", "isActive", "userDefinedFields"}
    lower = {"filter": body["Filter"], "includeFields": ["phone"], "maxRecords": 5}
    assert set(api.post("/Companies/query", json=lower).json()["items"][0]) == {
        "id",
        "phone",
        "userDefinedFields",
    }


@pytest.mark.parametrize("max_records", [1, 7, 500])
def test_max_records_sets_the_page_size(api, max_records):
    body = api.post("/Companies/query", json={"filter": ALL, "MaxRecords": max_records}).json()
    assert body["pageDetails"]["count"] == max_records == len(body["items"])
    assert body["pageDetails"]["requestCount"] == max_records
    assert body["pageDetails"]["nextPageUrl"]


@pytest.mark.parametrize("max_records", [0, 501, "ten"])
def test_max_records_out_of_range_is_500(api, max_records):
    response = api.post("/Companies/query", json={"filter": ALL, "MaxRecords": max_records})
    assert response.status_code == 500
    assert response.json()["errors"]


@pytest.mark.parametrize("body", [{}, {"filter": []}, {"maxRecords": 10}])
def test_query_without_filter_is_500(api, body):
    response = api.post("/Companies/query", json=body)
    assert response.status_code == 500
    assert response.json()["errors"]


@pytest.mark.parametrize(
    "filters",
    [
        [{"op": "in", "field": "id", "value": list(range(501))}],
        [{"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)]}],
        [
            {"op": "in", "field": "id", "value": list(range(300))},
            {"op": "in", "field": "id", "value": list(range(201))},
        ],
    ],
)
def test_more_than_500_or_conditions_is_500(api, filters):
    response = api.post("/Companies/query", json={"filter": filters})
    assert response.status_code == 500
    assert response.json() == {
        "errors": ["Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."]
    }


def test_exactly_500_in_values_is_fine(api):
    response = api.post(
        "/Companies/query", json={"filter": [{"op": "in", "field": "id", "value": list(range(500))}]}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (
            {"op": "eq", "field": "noSuchField", "value": 1},
            "Unable to find noSuchField in the Companies entity.",
        ),
        ({"op": "eq", "value": 1}, "The 'eq' operator requires a field."),
        ({"op": "or", "items": []}, "The 'or' operator requires a non-empty items array."),
        ({"op": "in", "field": "id", "value": 5}, "The 'in' operator requires an array value."),
    ],
)
def test_invalid_filters_are_500_with_autotasks_error_body(sim, api, bad, said):
    response = api.post("/Companies/query", json={"filter": [bad]})
    assert response.status_code == 500
    assert response.json() == {"errors": [said]}
    assert sim.requests[-1].errors == (said,)


def test_non_queryable_ticket_field_is_rejected(api):
    response = api.post("/Tickets/query", json={"filter": [{"op": "eq", "field": "creatorType", "value": 1}]})
    assert response.status_code == 500


def test_count(api, companies):
    body = {"filter": [{"op": "eq", "field": "CompanyType", "value": 1}]}
    response = api.post("/Companies/query/count", json=body)
    assert response.json() == {"queryCount": sum(1 for c in companies if c["companyType"] == 1)}
    by_get = api.get("/Companies/query/count", params={"search": json.dumps(body)})
    assert by_get.json() == response.json()


def test_paging_over_all_production_companies_by_reposting_the_cursor(sim, api, companies):
    assert len(companies) > 1200
    body = {"filter": [{"op": "gte", "field": "id", "value": 0}]}
    response = api.post("/Companies/query", json=body)
    seen, pages = ids(response), 1
    while (next_url := response.json()["pageDetails"]["nextPageUrl"]) is not None:
        assert next_url.startswith(
            "https://webservices14.autotask.net/ATServicesRest/V1.0/Companies/query/next?paging="
        )
        token = json.loads(parse_qs(urlsplit(next_url).query)["paging"][0])
        assert token["pageSize"] == 500 and token["nextIds"] == [seen[-1]]
        response = api.post(next_url, json=body)
        seen += ids(response)
        pages += 1
    assert pages == 3
    assert seen == sorted(set(seen)) == [c["id"] for c in companies]


def test_next_page_without_body_is_rejected(api):
    first = api.post("/Companies/query", json={"filter": ALL})
    response = api.post(first.json()["pageDetails"]["nextPageUrl"])
    assert response.status_code == 500
    assert "must re-send the body" in response.json()["errors"][0]


def test_get_on_a_post_cursor_is_405(api):
    first = api.post("/Companies/query", json={"filter": ALL})
    response = api.get(first.json()["pageDetails"]["nextPageUrl"])
    assert response.status_code == 405
    assert response.json() == {"Message": "The requested resource does not support http method 'GET'."}


def test_get_queries_page_with_search_in_the_cursor(api, companies):
    search = json.dumps({"filter": [{"op": "eq", "field": "isActive", "value": True}], "MaxRecords": 200})
    response = api.get("/Companies/query", params={"search": search})
    seen = ids(response)
    while (next_url := response.json()["pageDetails"]["nextPageUrl"]) is not None:
        assert parse_qs(urlsplit(next_url).query)["search"] == [search]
        response = api.get(next_url)
        seen += ids(response)
    assert seen == [c["id"] for c in companies if c["isActive"]]


def test_get_by_id_and_missing_item(sim, api):
    assert api.get("/Companies/174").json()["item"]["companyName"]
    assert api.get("/Companies/999999").json() == {"item": None}
    sim.configure(missing_item_status=404)
    assert api.get("/Companies/999999").status_code == 404


def test_results_are_ordered_by_id(sim, api):
    created = api.post(
        "/Companies",
        json={"companyName": "Zeta Backup B.V.", "companyType": 1, "ownerResourceID": 29682880, "phone": "1"},
    ).json()["itemId"]
    found = query_all_ids(api, [{"op": "beginsWith", "field": "companyName", "value": "Z"}])
    assert found == sorted(found) and found[-1] == created
