"""Fixtures for the Autotask settings page: the in-process simulator, staff users, a configured tenant."""

import pytest

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.simulator import SANDBOX
from runs.roles import ADMIN, OPERATOR
from tests.autotask_sim import connect_tenant, in_process_simulator
from tests.users import make_user

SETTINGS_URL = "/admin/autotask/autotasksettings/1/change/"
TEST_URL = "/admin/autotask/autotasksettings/test-connection/"
REFRESH_URL = "/admin/autotask/autotasksettings/refresh-reference/"


@pytest.fixture
def sim(settings):
    """A fresh simulator; every client the services build talks to it in-process."""
    yield from in_process_simulator(settings)


@pytest.fixture
def admin_user(db):
    return make_user("settings-admin", ADMIN, is_staff=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def staff_without_permission(db):
    return make_user("staff-op", OPERATOR, is_staff=True)


@pytest.fixture
def sandbox_tested(sim, db):
    """Sandbox credentials stored, connection tested and reference data cached (integration disabled)."""
    return connect_tenant("sandbox", SANDBOX)


#: valid Sandbox ticket defaults (simulator tenants.py)
SANDBOX_DEFAULTS = {
    "queue_id": 29700109,  # Backup Checks
    "source_id": 71,  # Backup Monitoring
    "new_ticket_status_id": 1,  # New
    "warning_priority_id": 2,  # Medium
    "error_priority_id": 1,  # High
    "missed_priority_id": "",
    "ticket_type_id": 5,  # Alert
    "note_type_id": 18,  # Backup Alert Note
    "note_publish_id": 2,  # Internal Only
    "resolved_status_id": 5,  # Complete
}


def form_data(**overrides):
    """A complete POST for the settings page: enabled Sandbox with valid defaults (secrets left empty)."""
    data = {
        "enabled": "on",
        "environment": "sandbox",
        "base_url": "https://backupchecks.example.com",
        "username": SANDBOX.username,
        "secret": "",
        "integration_code": "",
        "impersonation_resource_id": "",
        **SANDBOX_DEFAULTS,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def enabled_sandbox(sandbox_tested):
    """A fully configured, enabled Sandbox integration."""
    env_config = sandbox_tested
    for field, value in SANDBOX_DEFAULTS.items():
        setattr(env_config, field, value or None)
    env_config.save()
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.base_url = "https://backupchecks.example.com"
    settings.save()
    return settings
