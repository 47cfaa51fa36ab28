"""Issue 7 items 1 and 2: filters are checked before anything is sent.

1. Only Autotask's operators, at any nesting depth (live Autotask silently ignores an unknown one).
2. At most 500 "OR" conditions per query, counted over the whole filter; split where exact, else refused.
"""

import json

import httpx
import pytest

from integrations.autotask.client import MAX_SPLIT_QUERIES, or_conditions
from integrations.autotask.exceptions import AutotaskError, AutotaskQueryError

from .conftest import respond

EMPTY_PAGE = respond(200, {"items": [], "pageDetails": {"nextPageUrl": None}})


def eq(field, value):
    return {"op": "eq", "field": field, "value": value}


# -- item 1: operators ------------------------------------------------------------------------------

UNKNOWN = {
    "ne-top-level": [{"op": "ne", "field": "status", "value": 5}],
    "not-equal-spelling": [{"op": "notEqual", "field": "status", "value": 5}],
    "like-in-or": [{"op": "or", "items": [eq("status", 1), {"op": "like", "field": "title", "value": "x"}]}],
    "deep": [
        {
            "op": "and",
            "items": [
                eq("status", 1),
                {"op": "or", "items": [eq("queueID", 5), {"op": "and", "items": [{"op": "between"}]}]},
            ],
        }
    ],
    "missing-op": [{"field": "status", "value": 5}],
    "op-not-a-string": [{"op": 5, "field": "status", "value": 5}],
}


@pytest.mark.parametrize("filters", UNKNOWN.values(), ids=UNKNOWN.keys())
@pytest.mark.parametrize("call", ["query", "count"])
def test_unknown_operators_are_refused_before_sending(fake, client, filters, call):
    fake.on("POST", "/Tickets/query", EMPTY_PAGE)
    fake.on("POST", "/Tickets/query/count", respond(200, {"queryCount": 0}))
    with pytest.raises(AutotaskQueryError) as info:
        result = getattr(client, call)("Tickets", filters)
        list(result) if call == "query" else None
    assert "Autotask does not know" in str(info.value)
    assert isinstance(info.value, AutotaskError) and isinstance(info.value, ValueError)
    assert info.value.reached_autotask is False
    assert fake.requests == []  # not even zone discovery


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "or", "items": []},
        {"op": "and"},
        {"op": "eq", "value": 1},
        {"op": "in", "field": "id", "value": 5},
    ],
)
def test_malformed_conditions_are_refused_before_sending(fake, client, bad):
    with pytest.raises(AutotaskQueryError):
        list(client.query("Tickets", [bad]))
    assert fake.requests == []


def test_every_autotask_operator_is_accepted_and_spelled_as_autotask_does(fake, client):
    fake.on("POST", "/Tickets/query", EMPTY_PAGE)
    filters = [
        {"op": "EQ", "field": "status", "value": 1},
        {"op": "noteq", "field": "status", "value": 5},
        {"op": "gt", "field": "id", "value": 0},
        {"op": "gte", "field": "id", "value": 0},
        {"op": "lt", "field": "id", "value": 9},
        {"op": "lte", "field": "id", "value": 9},
        {"op": "beginswith", "field": "title", "value": "a"},
        {"op": "endsWith", "field": "title", "value": "a"},
        {"op": "contains", "field": "title", "value": "a"},
        {"op": "exist", "field": "id"},
        {"op": "notexist", "field": "dueDateTime"},
        {"op": "in", "field": "id", "value": [1]},
        {"op": "notIn", "field": "id", "value": [2]},
        {"op": "Or", "items": [{"op": "and", "items": [eq("status", 1)]}]},
    ]
    assert list(client.query("Tickets", filters)) == []
    sent = fake.body(fake.data_requests[0])["filter"]
    assert [f["op"] for f in sent] == [
        "eq",
        "noteq",
        "gt",
        "gte",
        "lt",
        "lte",
        "beginsWith",
        "endsWith",
        "contains",
        "exist",
        "notExist",
        "in",
        "notIn",
        "or",
    ]
    assert sent[-1]["items"][0]["op"] == "and"
    assert filters[0]["op"] == "EQ"  # the caller's filter is not modified


# -- item 2: the 500-OR limit per query --------------------------------------------------------------


def test_or_conditions_count_in_and_not_in_values_and_or_items_at_any_depth():
    filters = [
        {"op": "in", "field": "id", "value": [1, 2, 3]},
        {"op": "notIn", "field": "id", "value": [4, 5]},
        {"op": "or", "items": [eq("a", 1), {"op": "in", "field": "b", "value": [1, 2]}]},
        {"op": "and", "items": [{"op": "or", "items": [eq("a", 1), eq("a", 2), eq("a", 3)]}]},
    ]
    assert or_conditions(filters) == 3 + 2 + (2 + 2) + 3


class Recorder:
    """A /Tickets/query that answers with one record per value asked for, and records every body."""

    def __init__(self, fake):
        self.bodies = []
        fake.on("POST", "/Tickets/query", self)
        fake.on("POST", "/Tickets/query/count", self.count)

    def __call__(self, request):
        body = json.loads(request.content)
        self.bodies.append(body)
        assert or_conditions(body["filter"]) <= 500
        return httpx.Response(200, json={"items": self.matching(body), "pageDetails": {"nextPageUrl": None}})

    def count(self, request):
        body = json.loads(request.content)
        self.bodies.append(body)
        assert or_conditions(body["filter"]) <= 500
        return httpx.Response(200, json={"queryCount": len(self.matching(body))})

    @staticmethod
    def matching(body):
        # records 1..2000: id = n, queueID = n % 7; evaluate top-level in-lists and or-of-eq groups
        rows = [{"id": n, "queueID": n % 7} for n in range(1, 2001)]
        for f in body["filter"]:
            if f["op"] == "in":
                rows = [r for r in rows if r[f["field"]] in f["value"]]
            elif f["op"] == "or":
                rows = [r for r in rows if any(r[i["field"]] == i["value"] for i in f["items"])]
        return rows


def test_two_in_lists_of_300_are_split_into_exact_queries_and_merged(fake, client):
    recorder = Recorder(fake)
    a = list(range(1, 301))
    b = list(range(151, 451))
    results = list(
        client.query(
            "Tickets",
            [{"op": "in", "field": "id", "value": a}, {"op": "in", "field": "id", "value": b}],
        )
    )
    assert [r["id"] for r in results] == list(range(151, 301))
    assert len(recorder.bodies) > 1


def test_in_of_400_plus_or_group_of_150_is_split_and_deduplicated(fake, client):
    recorder = Recorder(fake)
    ids = list(range(1, 401))
    group = {"op": "or", "items": [eq("id", n) for n in range(300, 450)]}
    results = list(client.query("Tickets", [{"op": "in", "field": "id", "value": ids}, group]))
    assert [r["id"] for r in results] == list(range(300, 401))
    assert len(recorder.bodies) == 2
    assert all(or_conditions(b["filter"]) <= 500 for b in recorder.bodies)


def test_count_sums_only_disjoint_splits_and_refuses_overlapping_ones(fake, client):
    recorder = Recorder(fake)
    assert client.count("Tickets", [{"op": "in", "field": "id", "value": list(range(1, 1201))}]) == 1200
    assert len(recorder.bodies) == 3
    recorder.bodies.clear()
    overlapping = [
        {"op": "in", "field": "id", "value": list(range(1, 401))},
        {"op": "or", "items": [eq("queueID", q) for q in range(7)] * 30},
    ]
    with pytest.raises(AutotaskQueryError, match="count records twice"):
        client.count("Tickets", overlapping)
    assert recorder.bodies == []


@pytest.mark.parametrize(
    "filters",
    [
        # 300 + 201 inside one and-group: nothing at the top level can be split
        [
            {
                "op": "and",
                "items": [
                    {"op": "in", "field": "id", "value": list(range(300))},
                    {"op": "in", "field": "queueID", "value": list(range(201))},
                ],
            }
        ],
        # notIn cannot be split into a union
        [{"op": "notIn", "field": "id", "value": list(range(501))}],
        # a split needing more than MAX_SPLIT_QUERIES requests
        [{"op": "in", "field": f, "value": list(range(2000))} for f in ("id", "queueID", "status")],
    ],
    ids=["nested", "notIn", "too-many-requests"],
)
def test_unsplittable_filters_over_the_limit_are_refused_before_sending(fake, client, filters):
    with pytest.raises(AutotaskQueryError, match="'OR' conditions"):
        list(client.query("Tickets", filters))
    assert fake.requests == []
    assert MAX_SPLIT_QUERIES == 100


def test_exactly_500_is_one_unchanged_query(fake, client):
    recorder = Recorder(fake)
    filters = [
        {"op": "in", "field": "id", "value": list(range(1, 351))},
        {"op": "or", "items": [eq("queueID", q % 7) for q in range(150)]},
    ]
    list(client.query("Tickets", filters))
    assert len(recorder.bodies) == 1
    assert recorder.bodies[0]["filter"] == filters
