"""Fixtures for the security and reliability suites (issue 12): users of every role, the simulator."""

import pytest

from runs.roles import ADMIN, OPERATOR, VIEWER
from tests import users
from tests.unit.autotask_settings.conftest import (  # noqa: F401 - fixtures re-used here
    admin_client,
    admin_user,
    enabled_sandbox,
    sandbox_tested,
    sim,
)

PASSWORD = "Correct-Horse-Battery-9"


def make_user(username, group=None, **extra):
    return users.make_user(username, group, password=PASSWORD, **extra)


@pytest.fixture
def role_users(db):
    """{role: user} for every role the permission matrix checks (anonymous is None)."""
    return {
        "anonymous": None,
        "viewer": make_user("m-viewer", VIEWER),
        "operator": make_user("m-operator", OPERATOR),
        "staff_admin": make_user("m-admin", ADMIN, is_staff=True),
        "superuser": make_user("m-root", is_staff=True, is_superuser=True),
    }
