"""Benchmark runner (`make bench`): page render time and SQL queries at 1k, 10k and 100k runs.

Builds a throwaway database (a temporary SQLite file, or with `--postgres URL` a fresh `test_…` database
on that server, dropped afterwards — the named database itself is never touched), migrates it, and for
each size seeds the demo data through `runs.demo`, then measures the operator pages (logged in as the
demo operator) and, when ingestion exists, POST /api/runs/ throughput. Prints a Markdown report and
writes it to benchmarks/results/latest.md. See benchmarks/README.md.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_SIZES = "1000,10000,100000"
#: demo shape per size: nights of history and jobs per customer; customers follow from the size
DAYS = 30
JOBS_PER_CUSTOMER = 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help="comma-separated run counts (default: %(default)s)"
    )
    parser.add_argument(
        "--requests", type=int, default=30, help="timed requests per page (default: %(default)s)"
    )
    parser.add_argument(
        "--ingest-batches", type=int, default=5, help="timed 500-run POSTs per size (0: skip)"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="benchmark on PostgreSQL (a test_ database is created)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md", help="default: %(default)s")
    return parser.parse_args(argv)


def configure_django(database_url):
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory and slows everything down
    # WhiteNoise warns when `collectstatic` has not run; irrelevant for render timings.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def shape_for(size):
    """(customers, jobs per customer, days) giving about `size` runs in the demo's shape."""
    customers = max(1, round(size / (JOBS_PER_CUSTOMER * DAYS)))
    return customers, JOBS_PER_CUSTOMER, DAYS


def git_revision():
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def run_benchmarks(args):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from benchmarks import ingest, pages
    from runs import demo
    from runs.models import Run

    demo.create_demo_users()  # passwords are discarded: the client logs in with force_login
    operator = get_user_model().objects.get(username="operator")
    rows, ingest_rows = [], []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        demo.delete_demo_data()
        customers, jobs_per_customer, days = shape_for(size)
        print(
            f"Seeding ~{size} runs ({customers} customers × {jobs_per_customer} jobs × {days} nights)…",
            flush=True,
        )
        started = time.perf_counter()
        result = demo.seed(customers, jobs_per_customer, days, with_users=False)
        seed_s = time.perf_counter() - started
        unreviewed = Run.objects.filter(reviewed_at__isnull=True).exclude(status="success").count()

        client = Client()
        client.force_login(operator)
        timings = [pages.measure(client, label, url, args.requests) for label, url in pages.page_urls()]
        rows.append((result.runs, unreviewed, seed_s, timings))
        print(
            "  " + "; ".join(f"{t.page}: {t.median_ms:.1f} ms, {t.queries} queries" for t in timings),
            flush=True,
        )

        if args.ingest_batches and ingest.available():
            timing = ingest.measure(client, batches=args.ingest_batches, tag=str(size))
            ingest_rows.append((result.runs, timing))
            print(f"  ingest: {timing.runs_per_second:.0f} runs/s", flush=True)
    return rows, ingest_rows


def render(rows, ingest_rows, args, vendor):
    import django

    from benchmarks import ingest

    lines = [
        "# Backupchecks benchmark",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · commit {git_revision()} · {vendor} · Python "
        f"{platform.python_version()} · Django {django.get_version()} · {platform.machine()}, "
        f"{os.cpu_count()} CPUs · {args.requests} timed requests per page (after 2 warm-up requests), "
        "Django test client logged in as the demo operator.",
        "",
        "| runs | unreviewed | seed (s) | Run Checks median / p95 (ms) | queries | "
        "Job Details median / p95 (ms) | queries |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    skeletons = set()
    for runs, unreviewed, seed_s, timings in rows:
        cells = [f"{runs:,}", f"{unreviewed:,}", f"{seed_s:.1f}"]
        for t in timings:
            cells += [f"{t.median_ms:.1f} / {t.p95_ms:.1f}", str(t.queries)]
            if t.looks_like_skeleton:
                skeletons.add(t.page)
        lines.append("| " + " | ".join(cells) + " |")
    if skeletons:
        lines += [
            "",
            f"**Note:** {', '.join(sorted(skeletons))} returned fewer than 200 bytes — still a skeleton view "
            "when measured; these numbers are not the real page.",
        ]
    lines += ["", "Job Details shows one job (each demo job has the same history length: one run per night)."]
    if ingest_rows:
        lines += [
            "",
            "## Ingestion (POST /api/runs/)",
            "",
            "| runs before | batch | median per POST (ms) | runs/s | queries per POST | re-post of a known batch (ms) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for runs, t in ingest_rows:
            lines.append(
                f"| {runs:,} | {t.batch_size} | {t.median_ms:.0f} | {t.runs_per_second:,.0f} | {t.queries} | "
                f"{t.repost_ms:.0f} |"
            )
    elif args.ingest_batches and not ingest.available():
        lines += ["", "Ingestion not measured: runs/ingest.py does not exist yet."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="backupchecks-bench-") as tmp:
        configure_django(args.postgres or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import setup_test_environment

        setup_test_environment()  # allows the "testserver" host of the test client
        if args.postgres:
            old_name = connection.settings_dict["NAME"]
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        else:
            call_command("migrate", verbosity=0)
        try:
            rows, ingest_rows = run_benchmarks(args)
        finally:
            if args.postgres:
                connection.creation.destroy_test_db(old_name, verbosity=0)
            connection.close()
        report = render(rows, ingest_rows, args, connection.vendor)
    print()
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
