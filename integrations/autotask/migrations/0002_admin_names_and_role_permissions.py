"""Admin names ("Extensions & Integrations → Autotask", "Autotask audit log") and the Admin role's
permission to configure the integration."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_GROUP = "Admin"  # runs.roles.ADMIN; the groups are created by runs/migrations/0002_roles.py
ADMIN_AUTOTASK_PERMISSIONS = [
    "manage_autotask",
    "view_autotasksettings",
    "change_autotasksettings",
    "view_environmentconfig",
    "change_environmentconfig",
    "view_referencevalue",
    "view_auditevent",
]


def _permissions(apps):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("autotask")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(
        content_type__app_label="autotask", codename__in=ADMIN_AUTOTASK_PERMISSIONS
    )


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=ADMIN_GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="autotask", codename__in=ADMIN_AUTOTASK_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("autotask", "0001_initial"),
        ("runs", "0002_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "ordering": ["-at", "-id"],
                "verbose_name": "Autotask audit event",
                "verbose_name_plural": "Autotask audit log",
            },
        ),
        migrations.AlterModelOptions(
            name="autotasksettings",
            options={
                "permissions": [("manage_autotask", "Can configure the Autotask integration")],
                "verbose_name": "Autotask settings",
                "verbose_name_plural": "Autotask",
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
