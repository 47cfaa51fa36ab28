"""Refresh the cached Autotask reference data (queues, sources, priorities, statuses, note picklists).

Options, exit codes and wording as `autotask_test_connection`: 0 refreshed, 1 Autotask refused, 2
unreachable or misconfigured; one line (or JSON with ``--json``), never a traceback (unless
``--traceback``), never a secret.
"""

import json
import sys

from django.core.management.base import BaseCommand

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import error_summary
from integrations.autotask.models import AutotaskSettings, Environment, EnvironmentConfig
from integrations.autotask.services import reference

from ._output import quiet_client_logs, unexpected_line
from .autotask_test_connection import EXIT_OK, EXIT_UNREACHABLE, exit_code_for


class Command(BaseCommand):
    help = (
        "Fetch Autotask picklists into the local cache (at most 3 API calls). "
        "Exit 0 ok, 1 refused, 2 unreachable."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--environment",
            choices=Environment.values,
            help="Which stored credential set to use (default: the selected environment).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        as_json = options["json"]
        try:
            environment = options["environment"] or AutotaskSettings.load().environment
            env_config = EnvironmentConfig.for_environment(environment)
            with quiet_client_logs(options["verbosity"]):
                result = reference.refresh_reference_data(env_config)
        except AutotaskError as exc:
            return self.finish(exit_code_for(exc), as_json, **error_summary(exc))
        except Exception as exc:
            if options.get("traceback"):
                raise
            return self.finish(
                EXIT_UNREACHABLE, as_json, error=type(exc).__name__, message=unexpected_line(exc)
            )
        label = env_config.get_environment_display()
        message = f"OK ({label}): refreshed from database {result.database_id}: {result.counts_text}."
        return self.finish(EXIT_OK, as_json, message=message, environment=environment, **result.as_dict())

    def finish(self, code, as_json, **payload):
        payload = {"ok": code == EXIT_OK, **payload}
        if as_json:
            self.stdout.write(json.dumps(payload, sort_keys=True))
        elif code == EXIT_OK:
            self.stdout.write(payload["message"])
        else:
            self.stderr.write(f"Autotask reference refresh failed: {payload['message']}")
        if code != EXIT_OK:
            sys.exit(code)
