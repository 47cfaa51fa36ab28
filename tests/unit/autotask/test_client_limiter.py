"""At most 3 requests in flight per entity endpoint when one client is shared by threads."""

import threading

import httpx
import pytest

from integrations.autotask.client import _endpoint_of
from integrations.autotask.limiter import EndpointLimiter

WAIT = 10  # seconds; a safety net against a hung test, never reached when the code works


class BlockingTickets:
    """Tickets requests block until released; records the peak number in flight."""

    def __init__(self):
        self.release = threading.Event()
        self.lock = threading.Condition()
        self.in_flight = 0
        self.peak = 0
        self.served = 0

    def __call__(self, request):
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.lock.notify_all()
        assert self.release.wait(WAIT)
        with self.lock:
            self.in_flight -= 1
            self.served += 1
        return httpx.Response(200, json={"item": {"id": 1}, "fields": [], "itemId": 9})

    def wait_for_in_flight(self, n):
        with self.lock:
            return self.lock.wait_for(lambda: self.in_flight >= n, timeout=WAIT)


def test_at_most_three_in_flight_per_entity_and_other_entities_unaffected(fake, client):
    tickets = BlockingTickets()
    fake.on("GET", "/Tickets/1", tickets)
    fake.on("GET", "/Tickets/entityInformation/fields", tickets)
    fake.on("POST", "/Tickets/1/Notes", tickets)
    fake.on("GET", "/Companies/2", lambda r: httpx.Response(200, json={"item": {"id": 2}}))
    client.zone_information()

    calls = (
        [lambda: client.get("Tickets", 1)] * 4
        + [lambda: client.field_info("Tickets")]
        + [lambda: client.create_child("Tickets", 1, "Notes", {"description": "x"})]
    )
    errors = []

    def run(call):
        try:
            call()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    try:
        assert tickets.wait_for_in_flight(3)
        # Tickets is saturated (3 in flight, 3 queued); Companies still goes straight through.
        assert client.get("Companies", 2) == {"id": 2}
        assert tickets.in_flight == 3
    finally:
        tickets.release.set()
        for thread in threads:
            thread.join(WAIT)

    assert tickets.peak == 3
    assert tickets.served == 6
    assert errors == []
    assert all(not t.is_alive() for t in threads)


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://ws.autotask.net/ATServicesRest/V1.0/Tickets/5/Notes", "Tickets"),
        ("https://ws.autotask.net/ATServicesRest/V1.0/Tickets/entityInformation/fields", "Tickets"),
        ("https://ws.autotask.net/atservicesrest/v1.0/Companies/query/next?paging=x", "Companies"),
        ("http://127.0.0.1:8001/ATServicesRest/V1.0/ThresholdInformation", "ThresholdInformation"),
    ],
)
def test_endpoint_is_the_first_segment_after_v1(url, endpoint):
    assert _endpoint_of(url) == endpoint


def test_limiter_keys_are_case_insensitive_and_bounded():
    limiter = EndpointLimiter(2)
    with limiter.slot("Tickets"), limiter.slot("tickets"):
        sem = limiter._semaphore("TICKETS")
        assert sem.acquire(blocking=False) is False
    assert sem.acquire(blocking=False) is True
    sem.release()


def test_limiter_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        EndpointLimiter(0)
