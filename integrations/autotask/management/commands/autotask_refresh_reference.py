"""Refresh the cached Autotask reference data (queues, sources, priorities, statuses, note picklists).

Exit codes as `autotask_test_connection`: 0 refreshed, 1 Autotask refused, 2 unreachable or misconfigured.
One line of output, never a traceback (unless ``--traceback``), never a secret.
"""

import sys

from django.core.management.base import BaseCommand

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AutotaskSettings, Environment, EnvironmentConfig
from integrations.autotask.services import reference

from ._output import quiet_client_logs, unexpected_line
from .autotask_test_connection import EXIT_UNREACHABLE, exit_code_for


class Command(BaseCommand):
    help = "Fetch Autotask picklists into the local cache (at most 3 API calls). Exit codes as autotask_test_connection."

    def add_arguments(self, parser):
        parser.add_argument(
            "--environment",
            choices=Environment.values,
            help="Which stored credential set to use (default: the selected environment).",
        )

    def handle(self, *args, **options):
        try:
            environment = options["environment"] or AutotaskSettings.load().environment
            env_config = EnvironmentConfig.for_environment(environment)
            with quiet_client_logs(options["verbosity"]):
                result = reference.refresh_reference_data(env_config)
        except AutotaskError as exc:
            self.stderr.write(f"Autotask reference refresh failed: {exc}")
            sys.exit(exit_code_for(exc))
        except Exception as exc:
            if options.get("traceback"):
                raise
            self.stderr.write(f"Autotask reference refresh failed: {unexpected_line(exc)}")
            sys.exit(EXIT_UNREACHABLE)
        parts = ", ".join(
            f"{count} {kind}" + (f" ({result.inactive[kind]} inactive)" if result.inactive[kind] else "")
            for kind, count in result.counts.items()
        )
        self.stdout.write(
            f"Refreshed {env_config.get_environment_display()} (database {result.database_id}): {parts}."
        )
