"""Point the Autotask integration at the bundled simulator's Sandbox tenant: store its credentials, test
the connection, refresh reference data, choose sensible ticket defaults and enable. Used by `make run`.

Needs `AUTOTASK_ZONE_INFO_URL` (the simulator's zone-discovery URL) so demo credentials never go to the
real Autotask. Always exits 0: on failure it prints one warning line and the demo starts without a
working integration.
"""

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AuditEvent, AutotaskSettings, Environment, EnvironmentConfig
from integrations.autotask.services import configuration, connection, reference

from ._output import quiet_client_logs


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
        if options["once"] and settings.enabled and not configuration.configuration_problems(settings):
            self.stdout.write("Autotask demo: already configured; nothing to do.")
            self.map_customers(settings, options["verbosity"])
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
        self.map_customers(AutotaskSettings.load(), options["verbosity"])

    def map_customers(self, settings, verbosity):
        """Phase 4 demo step (kept separate from phase 3's mapping UI): map unmapped customers."""
        if settings.environment != Environment.SANDBOX or not settings.enabled:
            return
        try:
            with quiet_client_logs(verbosity):
                count = map_demo_customers(settings.active_environment())
        except Exception as exc:  # a demo convenience must never stop the demo from starting
            self.stderr.write(f"WARNING: Autotask demo: could not map the demo customers: {exc}")
            return
        if count:
            self.stdout.write(f"Autotask demo: mapped {count} customers to Sandbox companies.")

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


def map_demo_customers(env_config):
    """Map every active customer without a mapping in `env_config`'s environment to an active customer
    company of that tenant not mapped yet (in id order), so that the demo can create tickets at once.

    Idempotent: mapped customers and companies are left alone. One API call (a Companies query), none when
    every customer is mapped. Returns the number of new mappings. A stand-in for phase 3's mapping page.
    """
    from django.utils import timezone

    from customers.models import Customer
    from integrations.autotask.models import CompanyMapping, MappingStatus

    customers = list(
        Customer.objects.filter(is_active=True)
        .exclude(autotask_mappings__environment=env_config.environment)
        .order_by("name")
    )
    if not customers:
        return 0
    taken = set(
        CompanyMapping.objects.filter(
            environment=env_config.environment, database_id=env_config.database_id
        ).values_list("company_id", flat=True)
    )
    filters = [
        {"op": "eq", "field": "isActive", "value": True},
        {"op": "eq", "field": "companyType", "value": 1},  # Customer
        {"op": "gt", "field": "id", "value": 0},  # not the MSP's own company
    ]
    with connection.build_client(connection.credentials_for(env_config)) as client:
        companies = [
            c
            for c in client.query("Companies", filters, include_fields=["id", "companyName"])
            if c["id"] not in taken
        ]
    now = timezone.now()
    created = 0
    for customer, company in zip(customers, companies, strict=False):
        _, new = CompanyMapping.objects.get_or_create(
            customer=customer,
            environment=env_config.environment,
            defaults={
                "database_id": env_config.database_id,
                "company_id": company["id"],
                "company_name": company["companyName"],
                "status": MappingStatus.OK,
                "last_checked_at": now,
            },
        )
        created += new
    if created:
        AuditEvent.record(
            "demo_mapping",
            environment=env_config.environment,
            message=f"Mapped {created} demo customers to {env_config.get_environment_display()} companies.",
            count=created,
        )
    return created
