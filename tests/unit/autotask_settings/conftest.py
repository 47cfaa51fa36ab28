"""Fixtures for the Autotask settings page: the in-process simulator, staff users, a configured tenant."""

import httpx
import pytest
from django.contrib.auth.models import Group, User

from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import AutotaskSettings, EnvironmentConfig
from integrations.autotask.services import connection, reference
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from runs.roles import ADMIN, OPERATOR

OFFICIAL_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
SETTINGS_URL = "/admin/autotask/autotasksettings/1/change/"
TEST_URL = "/admin/autotask/autotasksettings/test-connection/"
REFRESH_URL = "/admin/autotask/autotasksettings/refresh-reference/"


@pytest.fixture
def sim(settings):
    """A fresh simulator; every client the services build talks to it in-process."""
    simulator = AutotaskSimulator()
    settings.AUTOTASK_ZONE_INFO_URL = OFFICIAL_ZONE_URL
    clear_zone_cache()
    connection.set_transport_factory(lambda: httpx.WSGITransport(app=simulator))
    yield simulator
    connection.set_transport_factory(None)
    clear_zone_cache()


@pytest.fixture
def admin_user(db):
    user = User.objects.create_user(username="settings-admin", password="pw-settings-admin", is_staff=True)
    user.groups.add(Group.objects.get(name=ADMIN))
    return user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def staff_without_permission(db):
    user = User.objects.create_user(username="staff-op", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATOR))
    return user


@pytest.fixture
def sandbox_tested(sim, db):
    """Sandbox credentials stored, connection tested and reference data cached (integration disabled)."""
    env_config = EnvironmentConfig.for_environment("sandbox")
    env_config.username = SANDBOX.username
    env_config.secret = SANDBOX.secret
    env_config.integration_code = SANDBOX.integration_code
    env_config.save()
    connection.check_connection(env_config)
    reference.refresh_reference_data(env_config)
    env_config.refresh_from_db()
    return env_config


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
