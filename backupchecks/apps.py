from django.apps import AppConfig


class BackupchecksConfig(AppConfig):
    name = "backupchecks"
    verbose_name = "Backupchecks"

    def ready(self):
        from backupchecks import lookups

        # Out-of-range integers in any query (admin list filters, view parameters) match nothing, never a 500.
        lookups.register()
