from django.apps import AppConfig


class BackupchecksConfig(AppConfig):
    name = "backupchecks"
    verbose_name = "Backupchecks"
