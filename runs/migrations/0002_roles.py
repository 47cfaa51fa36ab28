"""Create the Admin / Operator / Viewer groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from runs.roles import ROLE_PERMISSIONS, sync_role_permissions


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    sync_role_permissions(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLE_PERMISSIONS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
