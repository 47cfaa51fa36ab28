"""The Autotask services against the in-process simulator, through the real client."""

import httpx
import pytest

from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import EnvironmentConfig
from integrations.autotask.services import connection
from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator

OFFICIAL_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"


@pytest.fixture
def sim(settings):
    """A fresh simulator; every client built by the services talks to it in-process."""
    simulator = AutotaskSimulator()
    clear_zone_cache()  # the client caches zones per username across clients (and simulators)
    settings.AUTOTASK_ZONE_INFO_URL = OFFICIAL_ZONE_URL
    simulator.backoff_sleeps = []
    connection.set_transport_factory(
        lambda: httpx.WSGITransport(app=simulator), sleep=simulator.backoff_sleeps.append
    )
    yield simulator
    connection.set_transport_factory(None)
    clear_zone_cache()


def configure(environment, tenant):
    env_config = EnvironmentConfig.for_environment(environment)
    env_config.username = tenant.username
    env_config.secret = tenant.secret
    env_config.integration_code = tenant.integration_code
    env_config.save()
    return env_config


@pytest.fixture
def sandbox_config(db):
    return configure("sandbox", SANDBOX)


@pytest.fixture
def production_config(db):
    return configure("production", PRODUCTION)
