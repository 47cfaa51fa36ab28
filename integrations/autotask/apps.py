from django.apps import AppConfig


class AutotaskConfig(AppConfig):
    name = "integrations.autotask"
    label = "autotask"
    # The admin index section; the settings page inside it is called "Autotask".
    verbose_name = "Extensions & Integrations"

    def ready(self):
        # Wiring only (receivers, template extensions, checks) — never database access here.
        from integrations.autotask import template_content

        template_content.register_all()

        from django.core import checks

        from integrations.autotask.schedules import check_schedule_settings

        checks.register(check_schedule_settings)

        from backupchecks.error_reports import register_secret_source

        register_secret_source(stored_secrets)


def stored_secrets():
    """The stored API secrets and Tracking Identifiers, for scrubbing error reports (read when one is built)."""
    from integrations.autotask.models import EnvironmentConfig

    values = []
    for secret, integration_code in EnvironmentConfig.objects.values_list("secret", "integration_code"):
        values += [secret, integration_code]
    return values
