"""manage.py seed_demo: realistic, deterministic demo data and the demo users (see runs/demo.py)."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import ProtectedError

from customers.models import Customer
from runs import demo


def default_logins_file():
    return Path(settings.BASE_DIR) / "var" / "demo-logins.txt"


class Command(BaseCommand):
    help = (
        "Create demo customers, backup jobs and nightly runs ending last night, plus the users admin, "
        "operator and viewer (passwords printed and written to var/demo-logins.txt). Deterministic: the "
        "same options give the same data. Seeded runs do not send the run_recorded signal."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers", type=int, default=demo.DEFAULT_CUSTOMERS, help="default: %(default)s"
        )
        parser.add_argument(
            "--jobs-per-customer",
            type=int,
            default=demo.DEFAULT_JOBS_PER_CUSTOMER,
            help="default: %(default)s",
        )
        parser.add_argument(
            "--days", type=int, default=demo.DEFAULT_DAYS, help="nights of history (default: %(default)s)"
        )
        parser.add_argument(
            "--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (default: %(default)s)"
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="do nothing (exit 0) if the database already holds customers — `make run` uses this",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete earlier demo customers (and their jobs and runs) first",
        )
        parser.add_argument("--no-users", action="store_true", help="do not create or reset the demo users")
        parser.add_argument(
            "--logins-file",
            type=Path,
            default=None,
            help="where to write the demo logins (default: var/demo-logins.txt)",
        )

    def handle(self, *args, **options):
        for name in ("customers", "jobs_per_customer", "days"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")
        if options["jobs_per_customer"] > demo.MAX_JOBS_PER_CUSTOMER:
            raise CommandError(f"--jobs-per-customer can be at most {demo.MAX_JOBS_PER_CUSTOMER}.")

        if options["once"] and Customer.objects.exists():
            self.stdout.write("The database already holds customers; not seeding (--once).")
            return
        if options["reset"]:
            try:
                removed = demo.delete_demo_data()
            except ProtectedError as exc:
                raise CommandError(
                    "Cannot remove the earlier demo data: other records still refer to its runs."
                ) from exc
            self.stdout.write(f"Removed {removed} demo customers with their jobs and runs.")
        elif demo.demo_exists():
            raise CommandError("Demo data already exists. Use --reset to replace it, or --once to keep it.")

        started = time.perf_counter()
        result = demo.seed(
            customers=options["customers"],
            jobs_per_customer=options["jobs_per_customer"],
            days=options["days"],
            seed=options["seed"],
            with_users=not options["no_users"],
            progress=self._progress if options["verbosity"] >= 2 else None,
        )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.customers} customers, {result.jobs} jobs and {result.runs} runs in {elapsed:.1f} s."
            )
        )
        if result.logins:
            path = demo.write_logins(options["logins_file"] or default_logins_file(), result.logins)
            # Demo passwords are meant to be shown: printing them is the point of this command.
            self.stdout.write(f"\nDemo logins (also in {path}):")
            self.stdout.write(path.read_text())

    def _progress(self, done):
        self.stdout.write(f"  {done} runs written")
