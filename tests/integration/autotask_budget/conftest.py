"""The shared API budget (services/budget.py) against the simulator, through the real client."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.autotask.client import AutotaskClient, Credentials, clear_zone_cache
from integrations.autotask.services import budget
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator

OFFICIAL_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
CREDS = Credentials(SANDBOX.username, SANDBOX.secret, SANDBOX.integration_code)
SCOPE = budget.scope_for(SANDBOX.integration_code)


class FakeTime:
    """One clock for the pacer (aware UTC datetimes) and the simulator's hourly window (seconds): sleeping
    advances it, so an hour of pacing runs in milliseconds. `on_sleep` callbacks see each sleep."""

    def __init__(self):
        self.start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        self.seconds = 10_000.0
        self.sleeps = []
        self.on_sleep = []

    def now(self):
        return self.start + timedelta(seconds=self.seconds)

    def monotonic(self):
        return self.seconds

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        for callback in self.on_sleep:
            callback(seconds)
        self.seconds += seconds


@pytest.fixture
def sim():
    simulator = AutotaskSimulator()
    clear_zone_cache()
    yield simulator
    clear_zone_cache()


@pytest.fixture
def fake_time(sim):
    clock = FakeTime()
    sim.clock = clock.monotonic
    return clock


def budget_client(sim, *, clock=None, pacer=True, limiter=None, ceiling=None):
    """A client under the shared budget (as services.connection.build_client makes it) over the simulator."""
    pacer_obj = None
    if pacer:
        options = {"ceiling": ceiling}
        if clock is not None:
            options.update(clock=clock.now, sleep=clock.sleep)
        pacer_obj = budget.Pacer(SCOPE, **options)
    return AutotaskClient(
        CREDS,
        zone_info_url=OFFICIAL_ZONE_URL,
        transport=httpx.WSGITransport(app=sim),  # a simulator (or a WSGI wrapper around one)
        sleep=lambda seconds: None,
        limiter=limiter if limiter is not None else budget.DatabaseLimiter(SCOPE),
        pacer=pacer_obj,
        call_log=budget.CallLog(),
    )


def thread_rejections(sim):
    return [r for r in sim.requests if any("Itgenatr005" in e for e in r.errors)]
