"""Point the Autotask integration at the bundled simulator's Sandbox tenant: store its credentials, test
the connection, refresh reference data, choose sensible ticket defaults and enable. Used by `make run`.

Needs `AUTOTASK_ZONE_INFO_URL` (the simulator's zone-discovery URL) so demo credentials never go to the
real Autotask. Always exits 0: on failure it prints one warning line and the demo starts without a
working integration.
"""

from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AuditEvent, AutotaskSettings, Environment, EnvironmentConfig
from integrations.autotask.services import configuration, connection, reference

from ._output import quiet_client_logs


def _origin(url):
    parts = urlsplit(url or "")
    return (parts.scheme.lower(), (parts.netloc or "").lower())


def _tested_against_current_simulator(settings):
    """Whether the stored connection test reached the simulator that AUTOTASK_ZONE_INFO_URL names now.

    `make run SIM_PORT=…` with another port than last time must set the demo up again, not report "already
    configured" for a simulator that is no longer there.
    """
    override = django_settings.AUTOTASK_ZONE_INFO_URL
    if urlsplit(override or "").hostname not in ("127.0.0.1", "localhost"):
        return True  # a real zone answer names another host than the discovery URL
    return _origin(settings.active_environment().api_url) == _origin(override)


class Command(BaseCommand):
    help = "Configure the integration against the Autotask simulator's Sandbox tenant (demo). Always exits 0."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing when the integration is already enabled and usable.",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Backupchecks base URL for links in tickets (default: http://127.0.0.1:8000).",
        )

    def handle(self, *args, **options):
        settings = AutotaskSettings.load()
        if (
            options["once"]
            and settings.enabled
            and not configuration.configuration_problems(settings)
            and _tested_against_current_simulator(settings)
        ):
            self.stdout.write("Autotask demo: already configured; nothing to do.")
            self.demo_mappings(options)
            return
        if not django_settings.AUTOTASK_ZONE_INFO_URL:
            self.stderr.write(
                "WARNING: Autotask demo setup skipped: AUTOTASK_ZONE_INFO_URL is not set, so the simulator "
                "cannot be found (demo credentials are never sent to the real Autotask)."
            )
            return
        try:
            base_url = configuration.normalise_base_url(options["base_url"])
            with quiet_client_logs(options["verbosity"]):
                message = self.configure(settings, base_url)
        except AutotaskError as exc:
            self.stderr.write(f"WARNING: Autotask demo setup failed; the demo runs without Autotask: {exc}")
            return
        except Exception as exc:  # a demo convenience must never stop the demo from starting
            self.stderr.write(
                "WARNING: Autotask demo setup failed; the demo runs without Autotask: "
                f"{type(exc).__name__}: {exc}"
            )
            return
        self.stdout.write(message)
        self.demo_mappings(options)

    def demo_mappings(self, options):
        """Phase 3: map the demo customers so every mapping status shows (integrations/autotask/demo_mappings.py)."""
        from integrations.autotask.demo_mappings import map_demo_customers

        try:
            with quiet_client_logs(options["verbosity"]):
                message = map_demo_customers()
        except Exception as exc:  # a demo convenience must never stop the demo from starting
            self.stderr.write(f"WARNING: Autotask demo mappings failed: {type(exc).__name__}: {exc}")
            return
        if message:
            self.stdout.write(message)

    def configure(self, settings, base_url):
        from integrations.autotask.simulator import SANDBOX

        env_config = EnvironmentConfig.for_environment(Environment.SANDBOX)
        env_config.username = SANDBOX.username
        env_config.secret = SANDBOX.secret
        env_config.integration_code = SANDBOX.integration_code
        env_config.impersonation_resource_id = None
        result = connection.check_connection(env_config)  # stores the credentials on success
        reference.refresh_reference_data(env_config)
        env_config.refresh_from_db()
        defaults = configuration.suggested_defaults(env_config)
        problems = configuration.default_problems(env_config.environment, env_config.database_id, defaults)
        if problems:
            raise AutotaskError("no usable ticket defaults: " + "; ".join(problems.values()))
        with transaction.atomic():
            for field, value in defaults.items():
                setattr(env_config, field, value)
            env_config.save()
            settings.environment = Environment.SANDBOX
            settings.base_url = base_url
            settings.enabled = True
            settings.save()
            AuditEvent.record(
                "demo_setup",
                environment=env_config.environment,
                message="Configured against the simulator's Sandbox tenant and enabled.",
                fields=["enabled", "environment", "base_url", "username", "secret", "integration_code"]
                + list(defaults),
                database_id=env_config.database_id,
            )
        return (
            f"Autotask demo: Sandbox configured and enabled (zone {result.zone_name}, "
            f"database {result.database_id}, base URL {base_url})."
        )
