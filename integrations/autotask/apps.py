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
