"""Refresh the cached Autotask reference data (queues, sources, priorities, statuses, note picklists).

Options, exit codes and wording as `autotask_test_connection`: 0 refreshed, 1 Autotask refused, 2
unreachable or misconfigured; one line (or JSON with ``--json``), never a traceback (unless
``--traceback``), never a secret. Refuses while the integration is disabled (exit 2, JSON error
"disabled", nothing sent) unless ``--while-disabled`` is given, like `autotask_test_connection`.
"""

import json
import sys

from django.core.management.base import BaseCommand

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import error_summary
from integrations.autotask.models import AutotaskSettings, Environment, EnvironmentConfig
from integrations.autotask.services import reference

from ._output import (
    WHILE_DISABLED_HELP,
    IntegrationDisabled,
    quiet_client_logs,
    refuse_while_disabled,
    unexpected_line,
)
from .autotask_test_connection import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    ConfigurationProblem,
    credentials_from_environment,
    exit_code_for,
)


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
        parser.add_argument(
            "--from-env",
            action="store_true",
            help="Use AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE (and "
            "AUTOTASK_ZONE_INFO_URL) instead of the stored credentials; stores no credentials, only the "
            "reference data (kept per environment and database id).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument("--while-disabled", action="store_true", help=WHILE_DISABLED_HELP)

    def handle(self, *args, **options):
        as_json = options["json"]
        try:
            refuse_while_disabled(options, "the reference refresh")
            environment = options["environment"] or AutotaskSettings.load().environment
            with quiet_client_logs(options["verbosity"]):
                if options["from_env"]:
                    result, label = self.refresh_from_environment(environment)
                else:
                    env_config = EnvironmentConfig.for_environment(environment)
                    result = reference.refresh_reference_data(env_config)
                    label = env_config.get_environment_display()
        except AutotaskError as exc:
            return self.finish(exit_code_for(exc), as_json, **error_summary(exc))
        except IntegrationDisabled as problem:
            return self.finish(EXIT_UNREACHABLE, as_json, error="disabled", message=str(problem))
        except ConfigurationProblem as problem:
            return self.finish(EXIT_UNREACHABLE, as_json, error="configuration", message=str(problem))
        except Exception as exc:
            if options.get("traceback"):
                raise
            return self.finish(
                EXIT_UNREACHABLE, as_json, error=type(exc).__name__, message=unexpected_line(exc)
            )
        message = f"OK ({label}): refreshed from database {result.database_id}: {result.counts_text}."
        return self.finish(EXIT_OK, as_json, message=message, environment=environment, **result.as_dict())

    def refresh_from_environment(self, environment):
        credentials, problem = credentials_from_environment()
        if problem:
            raise ConfigurationProblem(problem)
        result = reference.refresh_reference_data_with(credentials, environment)
        return result, f"environment variables, {Environment(environment).label}"

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
