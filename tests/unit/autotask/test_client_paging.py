"""Queries: POST, transparent paging over nextPageUrl, the page cap, and long in-lists."""

import json
from urllib.parse import quote

import httpx
import pytest

from integrations.autotask.exceptions import AutotaskServerError

from .conftest import API, respond

ALL = [{"op": "exist", "field": "id"}]


class PagedCompanies:
    """POST /Companies/query and /Companies/query/next over ``ids``, like Autotask (§4.3)."""

    def __init__(self, ids):
        self.ids = sorted(ids)
        self.bodies = []
        self.in_list_sizes = []

    def __call__(self, request):
        body = json.loads(request.content)
        self.bodies.append(body)
        size = body.get("MaxRecords", 500)
        rows = self.ids
        for f in body["filter"]:
            if f["op"] == "in":
                self.in_list_sizes.append(len(f["value"]))
                if len(f["value"]) > 500:
                    return httpx.Response(
                        500, json={"errors": ["Queries are limited to 500 or fewer 'OR' conditions."]}
                    )
                rows = [i for i in rows if i in set(f["value"])]
            if f["op"] == "notIn":
                self.in_list_sizes.append(len(f["value"]))
                rows = [i for i in rows if i not in set(f["value"])]
        after = -1
        if "paging" in request.url.params:
            after = json.loads(request.url.params["paging"])["nextIds"][0]
        page = [i for i in rows if i > after][:size]
        remaining = [i for i in rows if i > after][size:]
        next_url = None
        if remaining:
            token = quote(json.dumps({"pageSize": size, "nextIds": [page[-1]]}))
            next_url = f"{API}Companies/query/next?paging={token}"
        return httpx.Response(
            200,
            json={
                "items": [{"id": i, "companyName": f"Company {i}"} for i in page],
                "pageDetails": {
                    "count": len(page),
                    "requestCount": size,
                    "prevPageUrl": None,
                    "nextPageUrl": next_url,
                },
            },
        )


@pytest.fixture
def companies(fake):
    data = PagedCompanies(range(1, 1251))
    fake.on("POST", "/Companies/query", data)
    fake.on("POST", "/Companies/query/next", data)
    return data


def test_query_pages_through_everything_re_posting_the_same_body(fake, client, companies):
    filters = [{"op": "contains", "field": "companyName", "value": "company"}]
    results = list(client.query("Companies", filters))

    assert [r["id"] for r in results] == list(range(1, 1251))
    requests = fake.data_requests
    assert [r.method for r in requests] == ["POST"] * 3
    assert requests[0].url.path.endswith("/Companies/query")
    assert all(r.url.path.endswith("/Companies/query/next") for r in requests[1:])
    assert companies.bodies == [{"filter": filters, "MaxRecords": 500}] * 3


def test_include_fields_always_include_id(fake, client, companies):
    list(client.query("Companies", ALL, include_fields=["companyName", "isActive"]))
    assert companies.bodies[0]["IncludeFields"] == ["id", "companyName", "isActive"]


def test_max_records_caps_the_total(fake, client, companies):
    assert [r["id"] for r in client.query("Companies", ALL, max_records=3)] == [1, 2, 3]
    assert len(fake.data_requests) == 1
    assert companies.bodies[0]["MaxRecords"] == 3


def test_max_records_across_pages(fake, client, companies):
    results = list(client.query("Companies", ALL, max_records=700))
    assert len(results) == 700 and results[-1]["id"] == 700
    assert len(fake.data_requests) == 2


def test_query_is_lazy(fake, client, companies):
    results = client.query("Companies", ALL)
    assert fake.requests == []
    next(results)
    assert len(fake.data_requests) == 1


def test_duplicate_rows_across_pages_are_yielded_once(fake, client):
    page1 = {
        "items": [{"id": 1}, {"id": 2}],
        "pageDetails": {"nextPageUrl": API + "Companies/query/next?paging=a"},
    }
    page2 = {"items": [{"id": 2}, {"id": 3}], "pageDetails": {"nextPageUrl": None}}
    fake.on("POST", "/Companies/query", respond(200, page1))
    fake.on("POST", "/Companies/query/next", respond(200, page2))
    assert [r["id"] for r in client.query("Companies", ALL)] == [1, 2, 3]


def test_paging_that_never_ends_hits_the_page_cap(fake, make_client):
    endless = {
        "items": [{"id": 1}],
        "pageDetails": {"nextPageUrl": API + "Companies/query/next?paging=again"},
    }
    fake.on("POST", "/Companies/query", respond(200, endless))
    fake.on("POST", "/Companies/query/next", respond(200, endless))
    client = make_client(max_pages=5)
    with pytest.raises(AutotaskServerError, match="paging did not end"):
        list(client.query("Companies", ALL))
    assert len(fake.data_requests) == 5


def test_long_in_list_is_split_into_chunks_of_500_and_merged(fake, client, companies):
    wanted = list(range(1250, 0, -1)) + [5, 6, 99999]  # unordered, duplicates, one unknown id
    results = list(client.query("Companies", [{"op": "in", "field": "id", "value": wanted}]))

    assert [r["id"] for r in results] == list(range(1, 1251))
    assert companies.in_list_sizes == [500, 500, 251]
    assert all(len(f["value"]) <= 500 for body in companies.bodies for f in body["filter"])


def test_long_in_list_respects_max_records(fake, client, companies):
    results = list(
        client.query(
            "Companies", [{"op": "in", "field": "id", "value": list(range(1, 1201))}], max_records=10
        )
    )
    assert [r["id"] for r in results] == list(range(1, 11))


def test_long_not_in_list_is_refused_before_sending(fake, client, companies):
    """notIn values count against the per-query 500-OR limit and cannot be split exactly (issue 7 item 2)."""
    from integrations.autotask.exceptions import AutotaskQueryError

    excluded = list(range(1, 1201))
    with pytest.raises(AutotaskQueryError, match="1200 'OR' conditions"):
        list(client.query("Companies", [{"op": "notIn", "field": "id", "value": excluded}]))
    assert fake.requests == []


def test_count_with_a_long_in_list_sums_the_chunks(fake, client):
    fake.on(
        "POST",
        "/Companies/query/count",
        lambda r: httpx.Response(200, json={"queryCount": len(json.loads(r.content)["filter"][0]["value"])}),
    )
    assert client.count("Companies", [{"op": "in", "field": "id", "value": list(range(1, 1102))}]) == 1101
    assert len(fake.data_requests) == 3


def test_short_in_list_is_sent_unchanged(fake, client, companies):
    filters = [{"op": "in", "field": "id", "value": [3, 1, 2]}]
    assert [r["id"] for r in client.query("Companies", filters)] == [1, 2, 3]
    assert companies.bodies == [{"filter": filters, "MaxRecords": 500}]
