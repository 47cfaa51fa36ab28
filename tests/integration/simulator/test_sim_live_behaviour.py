"""Issue 7 items 2, 7 and 8: the simulator does what live Autotask does (lenient where live is lenient,
with a strict switch), counts "OR" conditions like the client, and checks re-POSTed next-page bodies.

Error *bodies* are asserted, not only statuses (and the request log carries them).
"""

import random

import pytest

from integrations.autotask.client import or_conditions as client_or_conditions
from integrations.autotask.simulator.app import NEXT_BODY_MESSAGE
from integrations.autotask.simulator.query import OR_LIMIT_MESSAGE
from integrations.autotask.simulator.query import or_conditions as simulator_or_conditions

from .conftest import ALL


def total(api, filters):
    response = api.post("/Companies/query/count", json={"filter": filters})
    assert response.status_code == 200, response.text
    return response.json()["queryCount"]


# -- item 7: an unknown operator's clause is ignored with 200 (live), refused with the strict switch


def test_unknown_operator_clause_is_silently_ignored_by_default(sim, api):
    everything = total(api, ALL)
    active = total(api, [{"op": "eq", "field": "isActive", "value": True}])
    assert 0 < active < everything

    # "ne" is not an Autotask operator: live Autotask drops the clause and answers 200.
    assert total(api, [{"op": "ne", "field": "isActive", "value": True}]) == everything
    assert total(api, [ALL[0], {"op": "ne", "field": "isActive", "value": True}]) == everything
    nested = [
        {"op": "eq", "field": "isActive", "value": True},
        {"op": "or", "items": [{"op": "like", "field": "companyName", "value": "zzz"}]},
    ]
    assert total(api, nested) == active
    assert sim.requests[-1].errors == ()


def test_unknown_operator_is_refused_with_the_strict_switch(sim, api):
    sim.configure(strict_operators=True)
    response = api.post("/Companies/query", json={"filter": [{"op": "ne", "field": "id", "value": 5}]})
    assert response.status_code == 500
    assert response.json() == {"errors": ["Invalid operator 'ne'."]}
    assert sim.requests[-1].errors == ("Invalid operator 'ne'.",)


# -- item 2: the 500-OR limit is per query, and both sides count the same way


@pytest.mark.parametrize(
    "filters",
    [
        [{"op": "notIn", "field": "id", "value": list(range(501))}],
        [
            {"op": "in", "field": "id", "value": list(range(400))},
            {"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(101)]},
        ],
        [
            {
                "op": "and",
                "items": [
                    {"op": "in", "field": "id", "value": list(range(300))},
                    {"op": "notIn", "field": "id", "value": list(range(201))},
                ],
            }
        ],
    ],
    ids=["notIn-501", "in-400-plus-or-101", "nested-300-plus-201"],
)
def test_or_conditions_are_counted_over_the_whole_filter(api, filters):
    response = api.post("/Companies/query", json={"filter": filters})
    assert response.status_code == 500
    assert response.json() == {"errors": [OR_LIMIT_MESSAGE]}


def _random_filter(rng, depth=0):
    op = rng.choice(["eq", "in", "notIn", "or", "and", "exist"] if depth < 3 else ["eq", "in", "notIn"])
    if op in ("in", "notIn"):
        return {"op": op, "field": "id", "value": list(range(rng.randint(0, 40)))}
    if op in ("or", "and"):
        return {"op": op, "items": [_random_filter(rng, depth + 1) for _ in range(rng.randint(1, 4))]}
    if op == "exist":
        return {"op": op, "field": "id"}
    return {"op": op, "field": "id", "value": rng.randint(0, 10)}


def test_client_and_simulator_count_or_conditions_the_same_way():
    rng = random.Random(7)
    for _ in range(300):
        filters = [_random_filter(rng) for _ in range(rng.randint(1, 4))]
        assert client_or_conditions(filters) == simulator_or_conditions(filters), filters


# -- item 8: a re-POSTed /query/next body must equal the first page's body


def test_next_page_with_a_different_body_is_refused(sim, api):
    body = {"filter": ALL}
    first = api.post("/Companies/query", json=body)
    next_url = first.json()["pageDetails"]["nextPageUrl"]
    other = {"filter": [{"op": "eq", "field": "isActive", "value": True}]}

    response = api.post(next_url, json=other)
    assert response.status_code == 500
    assert response.json() == {"errors": [NEXT_BODY_MESSAGE]}
    assert sim.requests[-1].errors == (NEXT_BODY_MESSAGE,)

    assert api.post(next_url, json=body).status_code == 200  # the same body pages on


def test_next_page_without_a_body_is_refused_with_autotasks_words(api):
    first = api.post("/Companies/query", json={"filter": ALL})
    response = api.post(first.json()["pageDetails"]["nextPageUrl"])
    assert response.status_code == 500
    assert response.json() == {"errors": [NEXT_BODY_MESSAGE]}
