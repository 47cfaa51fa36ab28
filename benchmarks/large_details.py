"""Run Checks with megabyte-sized run details (issue 12.4): page render time with and without deferring.

Builds a throwaway SQLite database with `--runs` unreviewed error runs of which `--heavy` carry `--mb` MB of
details each, then times Run Checks page 1 and the last page as an operator: as shipped (details
deferred) and with the old query (details loaded) for comparison.

    .venv/bin/python benchmarks/large_details.py [--runs 5000] [--heavy 20] [--mb 2]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--heavy", type=int, default=20)
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        sys.path.insert(0, str(ROOT))
        from benchmarks.run import configure_django

        configure_django(f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        report(args)


def report(args):
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth.models import Group, User
    from django.test import Client

    from customers.models import Customer
    from runs import views
    from runs.models import BackupJob, Run
    from runs.roles import OPERATOR

    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Nightly")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    heavy_text = "x" * int(args.mb * 1_000_000)
    step = max(1, args.runs // max(1, args.heavy))
    Run.objects.bulk_create(
        [
            Run(
                job=job,
                status="error",
                started_at=start + timedelta(minutes=n),
                source_external_id=f"b{n}",
                details=heavy_text if n % step == 0 else "",
            )
            for n in range(args.runs)
        ],
        batch_size=200,
    )
    user = User.objects.create_user("bench-op", password="x")
    user.groups.add(Group.objects.get(name=OPERATOR))
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(user)
    last_page = -(-args.runs // views.RUNS_PER_PAGE)

    def timed(url):
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    print(f"{args.runs} runs, {args.heavy} with {args.mb} MB details each (SQLite)")
    for label, deferred in [
        ("details deferred (shipped)", Run.LIST_DEFERRED),
        ("details loaded (before)", ()),
    ]:
        Run.LIST_DEFERRED = deferred
        print(
            f"  {label}: page 1 {timed('/') * 1000:.0f} ms, page {last_page} {timed(f'/?page={last_page}') * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
