"""Re-read every mapped Autotask company of the active environment and update cached names and statuses.

Prints a tqdm progress bar (on a terminal) and one summary line
`ok N · renamed N · inactive N · missing N · invalid N (…)`. Exit codes as `autotask_test_connection`:
0 checked, 1 Autotask answered but refused (rate limit, permission …), 2 unreachable, disabled or not
configured. Never a traceback (unless ``--traceback``), never a secret. ⌈N/500⌉ API calls for N mappings.
"""

import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from customers.models import Customer
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.services import ActionRefused
from integrations.autotask.services import mapping as mapping_service

from ._output import quiet_client_logs, unexpected_line
from .autotask_test_connection import EXIT_UNREACHABLE, exit_code_for


class Command(BaseCommand):
    help = (
        "Check the Autotask company mappings of the active environment (⌈N/500⌉ API calls): cached names, "
        "renamed / inactive / missing / invalid. Exit codes as autotask_test_connection."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--customer",
            type=int,
            action="append",
            metavar="ID",
            help="check only this customer (by id; repeatable). Default: every mapped customer.",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        customers = None
        if options["customer"]:
            customers = Customer.objects.filter(pk__in=options["customer"])
        try:
            settings = AutotaskSettings.load()
            total = CompanyMapping.objects.filter(environment=settings.environment)
            if customers is not None:
                total = total.filter(customer__in=customers)
            with (
                quiet_client_logs(options["verbosity"]),
                tqdm(
                    total=total.count(),
                    unit="mapping",
                    file=self.stderr._out,
                    disable=True if options["no_progress"] else None,  # None: only on a terminal
                ) as bar,
            ):
                result = mapping_service.check_mappings(customers, progress=bar.update)
        except ActionRefused as exc:
            self.stderr.write(f"Autotask mapping check refused: {exc}")
            sys.exit(EXIT_UNREACHABLE)
        except AutotaskError as exc:
            self.stderr.write(f"Autotask mapping check failed: {exc}")
            sys.exit(exit_code_for(exc))
        except Exception as exc:
            if options.get("traceback"):
                raise
            self.stderr.write(f"Autotask mapping check failed: {unexpected_line(exc)}")
            sys.exit(EXIT_UNREACHABLE)
        env_name = settings.active_environment().get_environment_display()
        calls = f"{result.api_calls} Autotask call{'s' if result.api_calls != 1 else ''}"
        self.stdout.write(
            f"{result.summary_line()} ({result.checked} {env_name} mapping{'s' if result.checked != 1 else ''} "
            f"checked in {calls}; {result.changed} changed)"
        )
