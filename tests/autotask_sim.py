"""The Autotask simulator in-process, behind the product's real client: shared by the test packages'
`sim` fixtures (each package keeps its own fixture, for its own transport or extras).

    @pytest.fixture
    def sim(settings):
        yield from in_process_simulator(settings)

Every client the services build (`services.connection.build_client`) then talks to a fresh
`AutotaskSimulator` through `httpx.WSGITransport`; zone discovery goes to the official URL (answered by the
simulator, never the network); the client's backoff waits are recorded in `sim.backoff_sleeps` (seconds)
instead of slept. The browser tests serve the simulator over HTTP instead (tests/e2e/conftest.py).
"""

import httpx

from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import EnvironmentConfig
from integrations.autotask.services import connection
from integrations.autotask.simulator import AutotaskSimulator

OFFICIAL_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"


def install_simulator(simulator, settings, transport=httpx.WSGITransport):
    """Point the services at `simulator`: `transport(app=simulator)` per client, backoff waits recorded in
    `simulator.backoff_sleeps`. The zone cache is cleared (the client caches zones per username across
    clients and simulators). Undo with `uninstall_simulator()`."""
    clear_zone_cache()
    settings.AUTOTASK_ZONE_INFO_URL = OFFICIAL_ZONE_URL
    simulator.backoff_sleeps = []
    connection.set_transport_factory(lambda: transport(app=simulator), sleep=simulator.backoff_sleeps.append)


def uninstall_simulator():
    """The services' real transport again, and an empty zone cache."""
    connection.set_transport_factory(None)
    clear_zone_cache()


def in_process_simulator(settings, simulator=None, transport=httpx.WSGITransport):
    """Generator for a `sim` fixture: installs `simulator` (a fresh one unless given), yields it, uninstalls."""
    simulator = simulator or AutotaskSimulator()
    install_simulator(simulator, settings, transport)
    try:
        yield simulator
    finally:
        uninstall_simulator()


def store_credentials(environment, tenant):
    """`tenant`'s API username, secret and Tracking Identifier saved on that environment's EnvironmentConfig,
    as typed on the settings page (no API call). Returns the EnvironmentConfig."""
    env_config = EnvironmentConfig.for_environment(environment)
    env_config.username = tenant.username
    env_config.secret = tenant.secret
    env_config.integration_code = tenant.integration_code
    env_config.save()
    return env_config


#: ticket defaults valid in the simulator's Sandbox tenant (its reference data: simulator/tenants.py)
SANDBOX_TICKET_DEFAULTS = {
    "queue_id": 29700109,  # Backup Checks
    "source_id": 71,  # Backup Monitoring
    "new_ticket_status_id": 1,  # New
    "warning_priority_id": 2,  # Medium
    "error_priority_id": 1,  # High
    "note_type_id": 18,  # Backup Alert Note
    "note_publish_id": 2,  # Internal Only
    "resolved_status_id": 5,  # Complete
}


def connect_tenant(environment, tenant, defaults=None):
    """As an admin does it on the settings page: credentials stored, Test connection, Refresh reference data
    (real API calls through whatever transport the services use), then `defaults` (field → value), if any,
    chosen and saved. Does not enable the integration. Returns the EnvironmentConfig."""
    from integrations.autotask.services import reference

    env_config = store_credentials(environment, tenant)
    connection.check_connection(env_config)
    reference.refresh_reference_data(env_config)
    env_config.refresh_from_db()
    if defaults:
        for name, value in defaults.items():
            setattr(env_config, name, value)
        env_config.save()
    return env_config
