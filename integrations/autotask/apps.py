from django.apps import AppConfig


class AutotaskConfig(AppConfig):
    name = "integrations.autotask"
    label = "autotask"
    verbose_name = "Autotask"

    def ready(self):
        # Wiring only (receivers, template extensions, checks) — never database access here.
        pass
