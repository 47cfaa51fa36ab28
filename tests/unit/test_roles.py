from django.contrib.auth.models import Group


def test_roles_exist_with_expected_permissions(db):
    operator = Group.objects.get(name="Operator")
    viewer = Group.objects.get(name="Viewer")
    admin = Group.objects.get(name="Admin")
    op_perms = {p.codename for p in operator.permissions.all()}
    assert {"review_run", "edit_manual_ticket_number", "view_run"} <= op_perms
    assert {p.codename for p in viewer.permissions.all()} == {"view_customer", "view_backupjob", "view_run"}
    assert "change_customer" in {p.codename for p in admin.permissions.all()}


def test_viewer_user_cannot_review(viewer):
    assert viewer.has_perm("runs.view_run")
    assert not viewer.has_perm("runs.review_run")


def test_operator_user_can_review(operator):
    assert operator.has_perm("runs.review_run")
    assert operator.has_perm("runs.edit_manual_ticket_number")


def test_the_roles_migration_matches_runs_roles():
    """The migration freezes the role table; runs.roles (used by tests and fixtures) must agree with it."""
    import importlib

    from runs.roles import ROLE_PERMISSIONS

    migration = importlib.import_module("runs.migrations.0002_roles")
    assert {name: sorted(perms) for name, perms in migration.ROLES.items()} == {
        name: sorted(perms) for name, perms in ROLE_PERMISSIONS.items()
    }
