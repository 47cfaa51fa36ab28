"""Test the Autotask connection: zone discovery + one authenticated call.

Exit codes (the django-health-check contract): 0 connected; 1 Autotask answered but refused
(credentials, Tracking Identifier, permission, rate limit); 2 could not reach Autotask, or
Backupchecks is misconfigured, or the integration is disabled. Prints one line (or JSON), never a
traceback, never a secret.

While the integration is disabled it refuses (exit 2, JSON error "disabled") and sends nothing, unless
``--while-disabled`` is given: an admin's explicit act, the command-line form of the settings page's
Test connection button (the only calls allowed while disabled; docs/security.md).
"""

import json
import os
import sys

from django.core.management.base import BaseCommand

from integrations.autotask.client import Credentials
from integrations.autotask.exceptions import (
    AutotaskAuthError,
    AutotaskError,
    AutotaskPermissionError,
    AutotaskRateLimitError,
    AutotaskValidationError,
)
from integrations.autotask.messages import error_summary
from integrations.autotask.models import AutotaskSettings, Environment, EnvironmentConfig
from integrations.autotask.services import connection

from ._output import (
    WHILE_DISABLED_HELP,
    IntegrationDisabled,
    quiet_client_logs,
    refuse_while_disabled,
    unexpected_line,
)

EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2
REFUSED = (AutotaskAuthError, AutotaskPermissionError, AutotaskRateLimitError, AutotaskValidationError)


class ConfigurationProblem(Exception):
    """Something Backupchecks itself lacks (e.g. an environment variable): exit 2."""


def exit_code_for(exc):
    return EXIT_REFUSED if isinstance(exc, REFUSED) else EXIT_UNREACHABLE


def credentials_from_environment():
    missing = [
        name
        for name in ("AUTOTASK_USERNAME", "AUTOTASK_SECRET", "AUTOTASK_INTEGRATION_CODE")
        if not os.environ.get(name)
    ]
    if missing:
        return None, f"missing environment variable(s): {', '.join(missing)}"
    resource = os.environ.get("AUTOTASK_IMPERSONATION_RESOURCE_ID") or None
    if resource is not None and not resource.isdigit():
        return None, "AUTOTASK_IMPERSONATION_RESOURCE_ID must be a whole number"
    return Credentials(
        username=os.environ["AUTOTASK_USERNAME"],
        secret=os.environ["AUTOTASK_SECRET"],
        integration_code=os.environ["AUTOTASK_INTEGRATION_CODE"],
        impersonation_resource_id=int(resource) if resource else None,
    ), None


class Command(BaseCommand):
    help = "Test the Autotask connection (zone, database id, API usage). Exit 0 ok, 1 refused, 2 unreachable."

    def add_arguments(self, parser):
        parser.add_argument(
            "--environment",
            choices=Environment.values,
            help="Which stored credential set to test (default: the selected environment).",
        )
        parser.add_argument(
            "--from-env",
            action="store_true",
            help="Use AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE (and "
            "AUTOTASK_ZONE_INFO_URL) instead of the stored settings; stores nothing.",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument("--while-disabled", action="store_true", help=WHILE_DISABLED_HELP)

    def handle(self, *args, **options):
        as_json = options["json"]
        try:
            refuse_while_disabled(options, "the connection test")
            with quiet_client_logs(options["verbosity"]):
                result, label = self.probe(options)
        except AutotaskError as exc:
            return self.finish(exit_code_for(exc), as_json, **error_summary(exc))
        except IntegrationDisabled as problem:
            return self.finish(EXIT_UNREACHABLE, as_json, error="disabled", message=str(problem))
        except ConfigurationProblem as problem:
            return self.finish(EXIT_UNREACHABLE, as_json, error="configuration", message=str(problem))
        except Exception as exc:
            if options.get("traceback"):
                raise
            # Misconfigured (no database, missing migrations, broken settings): still one line, exit 2.
            return self.finish(
                EXIT_UNREACHABLE, as_json, error=type(exc).__name__, message=unexpected_line(exc)
            )
        database = result.database_id if result.database_id is not None else "id not reported"
        message = (
            f"OK ({label}): zone {result.zone_name}, API {result.api_url}, database {database}, "
            f"{result.usage_text}."
        )
        return self.finish(EXIT_OK, as_json, message=message, **result.as_dict())

    def probe(self, options):
        if options["from_env"]:
            credentials, problem = credentials_from_environment()
            if problem:
                raise ConfigurationProblem(problem)
            return connection.probe(credentials), "environment variables"
        environment = options["environment"] or AutotaskSettings.load().environment
        env_config = EnvironmentConfig.for_environment(environment)
        return connection.check_connection(env_config), env_config.get_environment_display()

    def finish(self, code, as_json, **payload):
        payload = {"ok": code == EXIT_OK, **payload}
        if as_json:
            self.stdout.write(json.dumps(payload, sort_keys=True))
        elif code == EXIT_OK:
            self.stdout.write(payload["message"])
        else:
            self.stderr.write(f"Autotask connection failed: {payload['message']}")
        sys.exit(code)
