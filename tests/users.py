"""Users per role for the tests, and the role groups put back after a flush. Shared by the conftests and the
browser tests (tests/e2e/support.py)."""

from django.contrib.auth.models import Group, Permission, User


def make_user(username, group=None, *, password=None, **extra):
    """A user with `password` (default "pw-<username>") in the named role group (runs.roles: "Viewer",
    "Operator", "Admin"), if one is given. Extra keyword arguments go to `User.objects.create_user`."""
    user = User.objects.create_user(username=username, password=password or f"pw-{username}", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def restore_role_groups(*, autotask=True, admin_autotask=None):
    """Put the role groups back: a transactional test's flush empties what the data migrations created.

    The groups get runs.roles.ROLE_PERMISSIONS and, with `autotask=True`, the roles' Autotask permissions
    (integrations/autotask/roles.py, as migration autotask 0003 grants them). `admin_autotask` gives the
    Admin group more: one codename such as "manage_autotask", or "all" for every permission of the autotask
    app. Idempotent; needs the database.
    """
    from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
    from runs.roles import ADMIN, ROLE_PERMISSIONS, sync_role_permissions

    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    if autotask:
        sync_role_permissions(Group, Permission, ROLE_AUTOTASK_PERMISSIONS)
    if admin_autotask == "all":
        extra = Permission.objects.filter(content_type__app_label="autotask")
    elif admin_autotask:
        extra = [Permission.objects.get(codename=admin_autotask)]
    else:
        extra = []
    Group.objects.get(name=ADMIN).permissions.add(*extra)
