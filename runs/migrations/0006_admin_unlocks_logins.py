"""The Admin role may see and remove login lockouts (django-axes access attempts) in the admin.

Frozen here like runs/0002_roles: later changes get their own migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

UNLOCK = ["axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accessfailurelog"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="Admin")
    for dotted in UNLOCK:
        app_label, codename = dotted.split(".")
        admin.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0005_single_line_text"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
