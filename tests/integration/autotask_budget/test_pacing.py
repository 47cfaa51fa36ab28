"""Pacing of background work by ThresholdInformation (services/budget.py), in simulated time.

The simulator's hourly window and the pacer share one fake clock (conftest.FakeTime): a pacing sleep
advances it, so requests of "another integration" spread over the last hour age out as they would.
"""

import math
from datetime import timedelta

import pytest

from integrations.autotask.exceptions import AutotaskRateLimitError
from integrations.autotask.models import PacingState, UsageSample
from integrations.autotask.services import budget
from integrations.autotask.simulator import SANDBOX

from .conftest import SCOPE, budget_client

EVERY_COMPANY = [{"op": "exist", "field": "id"}]
THRESHOLD = 10_000


def threshold_reads(sim):
    return sum(1 for r in sim.requests if r.operation == "thresholdInformation")


def background_calls(client, count, label="test job"):
    with budget.background_work(label):
        for _ in range(count):
            client.count("Companies", EVERY_COMPANY)


def start_at(sim, ratio):
    """Another integration used `ratio` of the threshold over the last hour (evenly spread)."""
    sim.add_usage(SANDBOX, round(ratio * THRESHOLD), spread_seconds=3600)


def test_full_speed_below_half(db, sim, fake_time):
    start_at(sim, 0.40)
    client = budget_client(sim, clock=fake_time, ceiling=0.8)
    background_calls(client, 30)
    assert fake_time.sleeps == []
    assert threshold_reads(sim) == 1  # one reading covers up to READ_EVERY_REQUESTS requests
    status = budget.pacing_status(SCOPE, now=fake_time.now())
    assert status.state == "full" and status.reason == ""
    assert status.usage_ratio == pytest.approx((4000 + 1 + 30) / THRESHOLD, abs=0.001)
    assert UsageSample.objects.get().used == 4001  # the sample for the trend


def test_slowed_between_half_and_the_ceiling_spreads_what_is_left(db, sim, fake_time):
    start_at(sim, 0.60)
    client = budget_client(sim, clock=fake_time, ceiling=0.8)
    background_calls(client, 10)
    # what is left up to the ceiling (8,000 − ~6,000) spread over the 60-minute window: ~1.8 s apart
    gaps = [s for s in fake_time.sleeps if s > 0]
    assert len(gaps) >= 8
    assert all(1.5 < gap < 2.0 for gap in gaps), gaps
    status = budget.pacing_status(SCOPE, now=fake_time.now())
    assert status.state == "slowed"
    assert status.reason.startswith("Slowed:")


def test_paused_at_the_ceiling_with_a_visible_reason_then_resumes(db, sim, fake_time):
    start_at(sim, 0.80)
    client = budget_client(sim, clock=fake_time, ceiling=0.8)
    seen = []
    fake_time.on_sleep.append(lambda seconds: seen.append(budget.pacing_status(SCOPE, now=fake_time.now())))
    background_calls(client, 20)
    paused = [s for s in seen if s.state == "paused"]
    assert paused, "the job should have paused at the ceiling"
    assert paused[0].reason.startswith("Paused:") and "80 %" in paused[0].reason
    assert paused[0].resume_at is not None
    assert budget.PAUSE_RECHECK_SECONDS in fake_time.sleeps
    # resumed automatically once old requests aged out of the window, and never went past the ceiling
    assert budget.pacing_status(SCOPE, now=fake_time.now()).state in ("slowed", "full")
    # only the first reading (which found 8,000 already used) went past the ceiling
    assert sim.peak_usage(SANDBOX) <= 8001


def test_usage_is_estimated_between_readings_so_the_ceiling_is_never_passed(db, sim, fake_time):
    """Without counting its own requests between two readings the loop would overshoot; with another
    integration adding requests meanwhile, readings near the ceiling come often enough to see them."""
    start_at(sim, 0.75)

    def other_integration(seconds):
        sim.add_usage(SANDBOX, math.floor(seconds * 0.5))

    fake_time.on_sleep.append(other_integration)
    client = budget_client(sim, clock=fake_time, ceiling=0.8)
    background_calls(client, 600)
    assert sim.peak_usage(SANDBOX) <= 8000
    ours = sim.api_call_count(SANDBOX, exclude_zone=True)
    assert ours > 600  # the readings themselves are requests too
    assert threshold_reads(sim) <= 600 // 4  # bounded cost of the readings


def test_interactive_calls_are_never_paused(db, sim, fake_time):
    start_at(sim, 0.85)
    client = budget_client(sim, clock=fake_time, ceiling=0.8)
    for _ in range(5):
        assert client.count("Companies", EVERY_COMPANY) > 0
    assert fake_time.sleeps == []
    assert threshold_reads(sim) == 0  # interactive calls cost no extra reading


def test_the_ceiling_comes_from_the_settings_page(db, sim, fake_time):
    from integrations.autotask.models import AutotaskSettings

    settings = AutotaskSettings.load()
    settings.pacing_ceiling_percent = 60
    settings.save()
    start_at(sim, 0.62)
    client = budget_client(sim, clock=fake_time)  # no ceiling given: the stored one
    seen = []
    fake_time.on_sleep.append(
        lambda seconds: seen.append(budget.pacing_status(SCOPE, now=fake_time.now()).state)
    )
    background_calls(client, 3)
    assert "paused" in seen
    assert sim.peak_usage(SANDBOX) <= 6200 + 3  # started above 60 %: nothing but readings added


def test_a_pause_longer_than_the_limit_gives_up_without_sending(db, sim, fake_time, monkeypatch):
    monkeypatch.setattr(budget, "MAX_PAUSE_SECONDS", 120)
    sim.add_usage(SANDBOX, 9000)  # all now: nothing ages out within the test
    client = budget_client(sim, clock=fake_time, ceiling=0.8)
    with budget.background_work("test job"), pytest.raises(AutotaskRateLimitError) as caught:
        client.count("Companies", EVERY_COMPANY)
    assert caught.value.kind == "hourly" and "was not sent" in str(caught.value)
    assert not [r for r in sim.requests if r.operation != "thresholdInformation" and r.entity == "Companies"]


def test_several_pacers_share_one_estimate(db, sim, fake_time):
    """Two clients (two processes' worth) reserve from one counter in the database."""
    start_at(sim, 0.7990)
    first = budget_client(sim, clock=fake_time, ceiling=0.8)
    second = budget_client(sim, clock=fake_time, ceiling=0.8)
    with budget.background_work("a"):
        for _ in range(5):
            first.count("Companies", EVERY_COMPANY)
            second.count("Companies", EVERY_COMPANY)
    assert sim.peak_usage(SANDBOX) <= 8000
    row = PacingState.objects.get(scope=SCOPE)
    assert row.usage_estimate >= sim.hourly_usage(SANDBOX) - 1


def test_pacing_status_is_unknown_without_a_reading(db):
    status = budget.pacing_status()
    assert status.state == "unknown" and status.usage_ratio is None and status.ceiling == 0.8


def test_a_reading_older_than_an_hour_is_unknown_and_says_when_it_was_taken(db, sim, fake_time):
    start_at(sim, 0.40)
    background_calls(budget_client(sim, clock=fake_time, ceiling=0.8), 1)
    read_at = fake_time.now()
    fresh = read_at + timedelta(seconds=budget.STATUS_STALE_SECONDS)
    assert budget.pacing_status(SCOPE, now=fresh).state == "full"
    stale = budget.pacing_status(SCOPE, now=fresh + timedelta(seconds=1))
    assert stale.state == "unknown" and stale.measured_at == read_at
    assert stale.reason == f"The last Autotask usage reading is from {read_at:%Y-%m-%d %H:%M} UTC."
    assert stale.usage_ratio == pytest.approx(0.4, abs=0.01)  # the old figure is still shown


def test_requests_between_readings_count_so_full_speed_stops_at_the_ceiling(db, sim, fake_time):
    """At full speed no time passes between readings: only counting our own requests since the last
    reading keeps the loop from running past the ceiling (here the lowest allowed, 50 %)."""
    start_at(sim, 0.45)
    client = budget_client(sim, clock=fake_time, ceiling=0.5)
    background_calls(client, 800)
    assert sim.peak_usage(SANDBOX) <= 5000
    assert threshold_reads(sim) <= 800 // 10


def test_another_integrations_rate_is_learned_so_our_requests_stay_below_the_ceiling(db, sim, fake_time):
    """Benchmark 5's hardest case: 75 % used in the last 15 minutes (nothing ages out soon) and another
    integration sending 0.5 requests/s. Our work requests never arrive above the ceiling — without the
    other integration's rate (measured between readings) they did (8,012)."""
    sim.add_usage(SANDBOX, 7500, spread_seconds=15 * 60)
    carry = {"n": 0.0}

    def other_integration(seconds):
        carry["n"] += seconds * 0.5
        whole = int(carry["n"])
        carry["n"] -= whole
        if whole:
            sim.add_usage(SANDBOX, whole)

    fake_time.on_sleep.append(other_integration)
    sim.sleep = fake_time.sleep
    sim.configure(latency_seconds=0.15)
    peak = {"work": 0}

    def observed(environ, start_response):
        body = sim(environ, start_response)
        if "thresholdinformation" not in environ["PATH_INFO"].lower() and "zoneinformation" not in (
            environ["PATH_INFO"].lower()
        ):
            peak["work"] = max(peak["work"], sim.hourly_usage(SANDBOX))
        return body

    client = budget_client(observed, clock=fake_time, ceiling=0.8)
    background_calls(client, 250)
    assert peak["work"] <= 8000, peak
