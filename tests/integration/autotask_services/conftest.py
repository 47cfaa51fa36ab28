"""The Autotask services against the in-process simulator, through the real client."""

import pytest

from integrations.autotask.simulator import PRODUCTION, SANDBOX
from tests.autotask_sim import in_process_simulator, store_credentials

#: `configure(environment, tenant)`: the tenant's credentials stored (the name other packages import)
configure = store_credentials


@pytest.fixture
def sim(settings):
    """A fresh simulator; every client built by the services talks to it in-process."""
    yield from in_process_simulator(settings)


@pytest.fixture
def sandbox_config(db):
    return configure("sandbox", SANDBOX)


@pytest.fixture
def production_config(db):
    return configure("production", PRODUCTION)
