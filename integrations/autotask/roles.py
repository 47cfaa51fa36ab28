"""The roles' Autotask permissions ("autotask.<codename>"), as granted by migration 0003.

The migration keeps its own frozen copy; `tests/unit/test_roles.py`-style tests keep the two equal. Test
fixtures that flush the database (live_server) re-grant these with `runs.roles.sync_role_permissions`.
"""

from runs.roles import ADMIN, OPERATOR

OPERATOR_AUTOTASK_PERMISSIONS = [
    "autotask.create_ticket",
    "autotask.resolve_ticket",
    "autotask.link_ticket",
    "autotask.view_autotaskticket",
]
ADMIN_AUTOTASK_PERMISSIONS = OPERATOR_AUTOTASK_PERMISSIONS + [
    "autotask.map_company",
    "autotask.view_companymapping",
    "autotask.change_companymapping",
]
ROLE_AUTOTASK_PERMISSIONS = {OPERATOR: OPERATOR_AUTOTASK_PERMISSIONS, ADMIN: ADMIN_AUTOTASK_PERMISSIONS}
