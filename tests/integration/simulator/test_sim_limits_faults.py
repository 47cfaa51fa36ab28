"""Fault injection, the per-endpoint thread limit and the hourly request threshold."""

import threading

import httpx
import pytest

from integrations.autotask.simulator import PRODUCTION, SANDBOX, SimulatedConnectionDrop

from .conftest import ALL, ZONE_BASE, auth_headers, new_ticket

THREAD_ERROR = (
    "Thread Threshold Exceeded: The Autotask API thread threshold of 3 threads has been exceeded. Itgenatr005"
)


def ticket_count(sim):
    return len(sim.tickets(PRODUCTION.database_id))


def test_commit_then_drop_writes_and_surfaces_as_a_transport_error(sim, api):
    before = ticket_count(sim)
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_drop")
    with pytest.raises(httpx.TransportError) as caught:
        api.post("/Tickets", json=new_ticket(externalID="corr-1"))
    assert isinstance(caught.value, httpx.RemoteProtocolError)
    assert isinstance(caught.value, SimulatedConnectionDrop)
    assert ticket_count(sim) == before + 1
    assert sim.tickets(PRODUCTION.database_id)[-1]["externalID"] == "corr-1"
    assert sim.requests[-1].status == 0
    # times=1: the next create goes through normally
    assert api.post("/Tickets", json=new_ticket()).status_code == 200


def test_commit_then_500_writes_and_answers_500_without_body(sim, api):
    before = ticket_count(sim)
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_500")
    response = api.post("/Tickets", json=new_ticket())
    assert (response.status_code, response.content) == (500, b"")
    assert ticket_count(sim) == before + 1


def test_fail_500_does_not_write(sim, api):
    before = ticket_count(sim)
    sim.inject_fault(entity="tickets", method="post", mode="fail_500", times=2)
    assert [api.post("/Tickets", json=new_ticket()).status_code for _ in range(3)] == [500, 500, 200]
    assert ticket_count(sim) == before + 1


def test_faults_match_entity_and_method_only(sim, api):
    sim.inject_fault(entity="Tickets", method="POST", mode="fail_500")
    assert api.get("/Tickets/128900").status_code == 200
    assert (
        api.post("/Tickets/128900/Notes", json={"description": "x", "noteType": 3, "publish": 1}).status_code
        == 200
    )
    sim.inject_fault(entity="TicketNotes", method="POST", mode="fail_500")
    note = api.post("/Tickets/128900/Notes", json={"description": "x", "noteType": 3, "publish": 1})
    assert note.status_code == 500


def test_delay_performs_the_request_then_sleeps(sim, api):
    slept = []
    sim.sleep = slept.append
    before = ticket_count(sim)
    sim.inject_fault(entity="Tickets", method="POST", mode="delay", seconds=45)
    assert api.post("/Tickets", json=new_ticket()).status_code == 200
    assert slept == [45] and ticket_count(sim) == before + 1
    sim.inject_fault(mode="delay")
    api.get("/Companies/0")
    assert slept[-1] == sim.config.fault_delay_seconds


def test_delay_with_a_raising_sleep_simulates_a_client_timeout_after_commit(sim, api):
    def time_out(_seconds):
        raise httpx.ReadTimeout("timed out")

    sim.sleep = time_out
    before = ticket_count(sim)
    sim.inject_fault(entity="Tickets", method="POST", mode="delay")
    with pytest.raises(httpx.ReadTimeout):
        api.post("/Tickets", json=new_ticket())
    assert ticket_count(sim) == before + 1
    assert sim.requests[-1].status == 0
    assert api.get("/Tickets/128900").status_code == 200


@pytest.mark.parametrize("status", [429, 500])
def test_thread_threshold_fault(sim, api, status):
    sim.configure(thread_limit_status=status)
    sim.inject_fault(entity="Companies", method="GET", mode="thread_threshold")
    response = api.get("/Companies/0")
    assert response.status_code == status
    assert response.json() == {"errors": [THREAD_ERROR]}


def test_hourly_threshold_fault(sim, api):
    sim.inject_fault(mode="hourly_threshold")
    response = api.get("/Companies/0")
    assert response.status_code == 429
    [text] = response.json()["errors"]
    assert "threshold" in text and "exceeded" in text


def test_unknown_fault_mode_is_refused(sim):
    with pytest.raises(ValueError):
        sim.inject_fault(mode="explode")


def test_thread_limit_per_integration_code_and_endpoint(sim):
    """Three requests held inside Companies; the fourth is rejected, other endpoints and codes are not."""
    inside = threading.Semaphore(0)
    release = threading.Event()

    def held_sleep(_seconds):
        inside.release()
        assert release.wait(10)

    sim.sleep = held_sleep
    sim.inject_fault(entity="Companies", method="GET", mode="delay", times=3)
    transport = httpx.WSGITransport(app=sim)
    results = []

    def slow_call():
        with httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()) as client:
            results.append(client.get("/Companies/0").status_code)

    threads = [threading.Thread(target=slow_call) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            assert inside.acquire(timeout=10)
        with httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()) as client:
            rejected = client.get("/Companies/174")
            other_endpoint = client.get("/Tickets/128900")
            zone = client.get("/zoneInformation", params={"user": PRODUCTION.username})
        with httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers(SANDBOX)) as client:
            other_code = client.get("/Companies/0")
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    assert rejected.status_code == 429 and rejected.json() == {"errors": [THREAD_ERROR]}
    assert (other_endpoint.status_code, zone.status_code, other_code.status_code) == (200, 200, 200)
    assert results == [200, 200, 200]
    with httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()) as client:
        assert client.get("/Companies/174").status_code == 200  # slots were released


def test_thread_limit_counts_sub_paths_against_the_parent_endpoint(sim):
    sim.configure(thread_limit=1)
    gate = threading.Event()
    inside = threading.Event()

    def held_sleep(_seconds):
        inside.set()
        gate.wait(10)

    sim.sleep = held_sleep
    sim.inject_fault(entity="Tickets", method="GET", mode="delay")
    transport = httpx.WSGITransport(app=sim)
    thread = threading.Thread(
        target=lambda: httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()).get(
            "/Tickets/128900"
        )
    )
    thread.start()
    try:
        assert inside.wait(10)
        with httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()) as client:
            fields = client.get("/Tickets/entityInformation/fields")
            notes = client.get("/Tickets/128900/Notes")
    finally:
        gate.set()
        thread.join(10)
    assert fields.status_code == notes.status_code == 429


def test_thread_limit_can_be_disabled(sim):
    sim.configure(thread_limit=1, enforce_thread_limit=False)
    inside, gate = threading.Event(), threading.Event()
    sim.sleep = lambda _s: (inside.set(), gate.wait(10))
    sim.inject_fault(entity="Companies", method="GET", mode="delay")
    transport = httpx.WSGITransport(app=sim)
    thread = threading.Thread(
        target=lambda: httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()).get(
            "/Companies/0"
        )
    )
    thread.start()
    try:
        assert inside.wait(10)
        with httpx.Client(transport=transport, base_url=ZONE_BASE, headers=auth_headers()) as client:
            assert client.get("/Companies/0").status_code == 200
    finally:
        gate.set()
        thread.join(10)


def test_threshold_information_counts_itself(sim, api):
    api.post("/Companies/query", json={"filter": ALL})
    api.get("/zoneInformation", params={"user": PRODUCTION.username})  # not counted
    body = api.get("/ThresholdInformation").json()
    assert body == {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 2,
    }
    assert api.get("/thresholdinformation").json()["currentTimeframeRequestCount"] == 3


@pytest.mark.parametrize("status", [429, 500])
def test_hourly_threshold_blocks_the_tenant_until_the_window_rolls(sim, api, sandbox_api, status):
    now = [1000.0]
    sim.clock = lambda: now[0]
    sim.configure(hourly_limit=3, hourly_limit_status=status)
    assert [api.get("/Companies/0").status_code for _ in range(3)] == [200, 200, 200]
    blocked = api.get("/ThresholdInformation")
    assert blocked.status_code == status
    assert "exceeded" in blocked.json()["errors"][0]
    assert sandbox_api.get("/Companies/0").status_code == 200  # per database
    now[0] += 3601
    usage = api.get("/ThresholdInformation").json()
    assert usage["externalRequestThreshold"] == 3 and usage["currentTimeframeRequestCount"] == 1


def test_usage_based_latency(sim, api):
    slept = []
    sim.sleep = slept.append
    sim.configure(hourly_limit=8, latency_enabled=True)
    for _ in range(7):
        api.get("/Companies/0")
    assert slept == [0.5, 0.5, 1.0, 1.0]


def test_no_latency_by_default(sim, api):
    slept = []
    sim.sleep = slept.append
    sim.configure(hourly_limit=4)
    for _ in range(4):
        api.get("/Companies/0")
    assert slept == []


def test_fixed_latency_switch(sim, api, http):
    slept = []
    sim.sleep = slept.append
    sim.configure(latency_seconds=0.2)
    api.get("/Companies/0")
    api.post("/Companies/query", json={"filter": [{"op": "eq", "field": "id", "value": 0}]})
    http.get("/zoneInformation", params={"user": "nobody@example.com"})  # unauthenticated: no latency
    assert slept == [0.2, 0.2]
