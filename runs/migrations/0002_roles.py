"""Create the Admin / Operator / Viewer groups with their permissions.

The role table is frozen here rather than imported from runs.roles: a migration must keep doing what it
did when it was written, whatever runs.roles later grows into. Later changes get their own migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["customers.view_customer", "runs.view_backupjob", "runs.view_run"]
OPERATE = VIEW + ["runs.review_run", "runs.edit_manual_ticket_number"]
ADMINISTER = OPERATE + [
    f"{app}.{action}_{model}"
    for app, model in (
        ("customers", "customer"),
        ("runs", "backupjob"),
        ("runs", "run"),
        ("runs", "ingesttoken"),
    )
    for action in ("view", "add", "change", "delete")
    if not (action == "view" and model in ("customer", "backupjob", "run"))
]
ROLES = {"Viewer": VIEW, "Operator": OPERATE, "Admin": ADMINISTER}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
