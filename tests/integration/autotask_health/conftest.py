"""The integration health page (issue 14) against the simulator, through the real client and services."""

from tests.integration.autotask_tickets.conftest import (  # noqa: F401 - fixtures reused
    customer,
    env_config,
    job,
    sim,
)
