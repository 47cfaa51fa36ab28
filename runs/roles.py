"""The three roles, as Django groups. Used by the data migration and by tests/seed to stay in sync."""

ADMIN, OPERATOR, VIEWER = "Admin", "Operator", "Viewer"

VIEW_PERMISSIONS = [
    "customers.view_customer",
    "runs.view_backupjob",
    "runs.view_run",
]
OPERATOR_PERMISSIONS = VIEW_PERMISSIONS + [
    "runs.review_run",
    "runs.edit_manual_ticket_number",
]
ADMIN_PERMISSIONS = OPERATOR_PERMISSIONS + [
    "customers.add_customer",
    "customers.change_customer",
    "customers.delete_customer",
    "runs.add_backupjob",
    "runs.change_backupjob",
    "runs.delete_backupjob",
    "runs.add_run",
    "runs.change_run",
    "runs.delete_run",
    "runs.view_ingesttoken",
    "runs.add_ingesttoken",
    "runs.change_ingesttoken",
    "runs.delete_ingesttoken",
]

ROLE_PERMISSIONS = {VIEWER: VIEW_PERMISSIONS, OPERATOR: OPERATOR_PERMISSIONS, ADMIN: ADMIN_PERMISSIONS}


def sync_role_permissions(group_model, permission_model, role_permissions):
    """Give each group exactly the listed permissions ("app_label.codename"), adding to what it has."""
    for group_name, perms in role_permissions.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            permission = permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(permission)
