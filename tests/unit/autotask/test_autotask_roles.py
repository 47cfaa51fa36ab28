"""The roles' Autotask permissions: migration 0003 grants exactly the table in integrations/autotask/roles.py."""

import importlib

from django.contrib.auth.models import Group

from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
from runs.roles import VIEWER

migration = importlib.import_module("integrations.autotask.migrations.0003_mapping_tickets")


def _granted(group_name):
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group_name).permissions.select_related("content_type")
        if p.content_type.app_label == "autotask"
    }


def test_the_frozen_migration_table_equals_the_roles_module():
    frozen = {
        role: {f"autotask.{c}" for c in codes} for role, codes in migration.ROLE_AUTOTASK_PERMISSIONS.items()
    }
    assert frozen == {role: set(perms) for role, perms in ROLE_AUTOTASK_PERMISSIONS.items()}


def test_operators_may_create_resolve_and_link_tickets_but_not_map(db):
    granted = _granted("Operator")
    assert {"autotask.create_ticket", "autotask.resolve_ticket", "autotask.link_ticket"} <= granted
    assert "autotask.map_company" not in granted


def test_admins_may_map_companies_and_work_tickets(db):
    assert set(ROLE_AUTOTASK_PERMISSIONS["Admin"]) <= _granted("Admin")


def test_viewers_get_no_autotask_permission(db):
    assert _granted(VIEWER) == set()
