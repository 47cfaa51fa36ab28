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
