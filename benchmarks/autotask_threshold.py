"""Benchmark 5 (issue 14): hourly-threshold pacing — a bulk-like background loop never passes the ceiling.

    python benchmarks/autotask_threshold.py [--operations 600] [--starts 40 60 75 79] [--ceiling 80]
                                            [--other-rate 0.5] [--latency-ms 150] [--quick]

For each starting usage the simulator's production tenant (threshold 10,000 requests per rolling 60
minutes, as Autotask's default) starts with that share already used by another integration, spread over
the past hour so that it ages out as in Autotask. A background loop (inside ``budget.background_work()``)
then creates tickets and reads each back (2 requests per operation) through the real client under the
shared budget (database limiter, pacer, call log), while "another integration" keeps sending
``--other-rate`` requests per second.

The hour runs in **simulated time**: the pacer, the simulator's rolling window and its per-request latency
(``--latency-ms``) share one clock that advances when anything sleeps, so a case that pauses for 40
minutes finishes in seconds. Nothing else is scaled: 10,000 requests, 60 minutes, the configured ceiling.

One row per case: peak tenant usage when one of *our* work requests (create, read back) arrived (the
target: never above the ceiling), the peak overall (the other integration alone may pass it while we
are paused), operations and requests done, ThresholdInformation readings (and how many of them found
usage above the ceiling: while paused, a reading per minute is the only way to see usage fall, and it
counts as a request), simulated time paused and in total, and the ratio peak ÷ ceiling (target ≤ 1.00). Exits 1 when a case passed the ceiling. Uses a throwaway SQLite file (tests.settings).
"""

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = 10_000


def setup(db_path):
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class SimulatedTime:
    """One clock for the pacer (aware UTC), the simulator's window (seconds) and its latency."""

    def __init__(self, on_advance):
        self.start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        self.seconds = 100_000.0
        self.on_advance = on_advance
        self.paused = 0.0
        self.pacing = False  # set while the pacer sleeps (not the simulator's latency)

    def now(self):
        return self.start + timedelta(seconds=self.seconds)

    def monotonic(self):
        return self.seconds

    def sleep(self, seconds):
        self.on_advance(seconds)
        self.seconds += seconds


def run_case(start_percent, args):
    import httpx

    from integrations.autotask.client import AutotaskClient, Credentials, clear_zone_cache
    from integrations.autotask.models import ApiCall, EndpointLease, PacingState, UsageSample
    from integrations.autotask.services import budget
    from integrations.autotask.simulator import PRODUCTION, AutotaskSimulator

    for model in (ApiCall, EndpointLease, PacingState, UsageSample):
        model.objects.all().delete()
    clear_zone_cache()
    sim = AutotaskSimulator()
    sim.configure(hourly_limit=THRESHOLD, latency_seconds=args.latency_ms / 1000)
    other = {"carry": 0.0, "sent": 0}

    def other_integration(seconds):
        other["carry"] += seconds * args.other_rate
        whole = int(other["carry"])
        if whole:
            other["carry"] -= whole
            other["sent"] += whole
            sim.add_usage(PRODUCTION, whole)

    clock = SimulatedTime(other_integration)
    sim.clock = clock.monotonic
    sim.sleep = clock.sleep  # each request's latency advances simulated time
    sim.add_usage(PRODUCTION, round(start_percent / 100 * THRESHOLD), spread_seconds=args.spread_minutes * 60)
    peak = {"ours": 0, "readings_over": 0}
    ceiling_count = THRESHOLD * args.ceiling // 100

    def observed(environ, start_response):
        body = sim(environ, start_response)
        if environ.get("HTTP_APIINTEGRATIONCODE") == PRODUCTION.integration_code:
            usage = sim.hourly_usage(PRODUCTION)
            if "thresholdinformation" in environ.get("PATH_INFO", "").lower():
                # a reading while paused: the only way to see usage fall (it counts as a request itself)
                peak["readings_over"] += usage > ceiling_count
            else:
                peak["ours"] = max(peak["ours"], usage)
        return body

    def pacer_sleep(seconds):
        clock.paused += seconds if seconds >= budget.PAUSE_RECHECK_SECONDS else 0
        clock.sleep(seconds)

    creds = Credentials(PRODUCTION.username, PRODUCTION.secret, PRODUCTION.integration_code)
    scope = budget.scope_for(creds.integration_code)
    client = AutotaskClient(
        creds,
        zone_info_url="https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation",
        transport=httpx.WSGITransport(app=observed),
        sleep=lambda seconds: None,
        limiter=budget.DatabaseLimiter(scope, clock=clock.now),
        pacer=budget.Pacer(scope, clock=clock.now, sleep=pacer_sleep, ceiling=args.ceiling / 100),
        call_log=budget.CallLog(clock=clock.now),
    )
    began = clock.seconds
    done = 0
    with budget.background_work("benchmark 5"):
        for i in range(args.operations):
            ticket_id = client.create(
                "Tickets",
                {
                    "companyID": 174,
                    "title": f"Benchmark 5 ticket {i}",
                    "status": 1,
                    "priority": 2,
                    "queueID": 29682833,
                },
            )
            client.get("Tickets", ticket_id)
            done += 1
    ours = sum(
        1
        for r in sim.requests
        if r.tenant_db_id == PRODUCTION.database_id and r.operation != "zoneInformation"
    )
    reads = sum(1 for r in sim.requests if r.operation == "thresholdInformation")
    return {
        "start": start_percent,
        "peak_ours": peak["ours"],
        "peak_all": sim.peak_usage(PRODUCTION),
        "ceiling": ceiling_count,
        "operations": done,
        "requests": ours,
        "reads": reads,
        "readings_over": peak["readings_over"],
        "other": other["sent"],
        "paused_s": clock.paused,
        "total_s": clock.seconds - began,
        "ratio": peak["ours"] / ceiling_count,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=600, help="creates (+ read back) per case")
    parser.add_argument("--starts", type=int, nargs="+", default=[40, 60, 75, 79], help="starting usage, %%")
    parser.add_argument("--ceiling", type=int, default=80, help="pause point, %% of the threshold")
    parser.add_argument("--other-rate", type=float, default=0.5, help="another integration's requests/s")
    parser.add_argument("--latency-ms", type=int, default=150, help="simulated latency per request")
    parser.add_argument(
        "--spread-minutes",
        type=float,
        default=15,
        help="the starting usage was sent over the last N minutes (it leaves the window after 60 − N)",
    )
    parser.add_argument("--quick", action="store_true", help="100 operations per case")
    args = parser.parse_args()
    if args.quick:
        args.operations = 100
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp) / "bench.sqlite3")
        import logging

        logging.getLogger("integrations.autotask").setLevel(logging.ERROR)
        rows = [run_case(start, args) for start in args.starts]
    print(
        f"# Benchmark 5: hourly threshold pacing (threshold {THRESHOLD:,}/60 min, ceiling {args.ceiling} %, "
        f"{args.operations} creates + read-backs per case, other integration {args.other_rate}/s, "
        f"latency {args.latency_ms} ms, starting usage sent over the last {args.spread_minutes:g} min, "
        "simulated time)"
    )
    print()
    print(
        "| start | peak at our work requests | peak overall | ceiling | operations | our requests | readings "
        "(above ceiling) | other's requests | paused (sim. s) | total (sim. s) | peak ÷ ceiling (target ≤ 1.00) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    for r in rows:
        ok = r["peak_ours"] <= r["ceiling"]
        failed |= not ok
        print(
            f"| {r['start']} % | {r['peak_ours']:,} | {r['peak_all']:,} | {r['ceiling']:,} | {r['operations']} "
            f"| {r['requests']:,} | {r['reads']} ({r['readings_over']}) | {r['other']:,} | {r['paused_s']:,.0f} | {r['total_s']:,.0f} "
            f"| {r['ratio']:.3f} {'ok' if ok else 'MISSED'} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
