"""Gated live tests: the connection and reference services against a REAL Autotask sandbox.

They run only when AUTOTASK_LIVE_USERNAME, AUTOTASK_LIVE_SECRET and AUTOTASK_LIVE_INTEGRATION_CODE are
set (an API-only user of a sandbox tenant; see docs/autotask-sandbox.md). They read only: zone
discovery, ThresholdInformation and the Tickets/TicketNotes field metadata (4 API calls in all).
"""

import os

import pytest

from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import EnvironmentConfig, ReferenceValue
from integrations.autotask.services import connection, reference

LIVE_VARIABLES = ("AUTOTASK_LIVE_USERNAME", "AUTOTASK_LIVE_SECRET", "AUTOTASK_LIVE_INTEGRATION_CODE")
missing = [name for name in LIVE_VARIABLES if not os.environ.get(name)]

pytestmark = [
    pytest.mark.live_autotask,
    pytest.mark.skipif(
        bool(missing), reason=f"live Autotask sandbox not configured ({', '.join(missing)} not set)"
    ),
]


@pytest.fixture
def live_config(db, settings, monkeypatch):
    # The official discovery host, the real network: a developer's AUTOTASK_ZONE_INFO_URL (pointing at the
    # simulator) or a transport left installed by another test must not turn this into a simulator run.
    monkeypatch.delenv("AUTOTASK_ZONE_INFO_URL", raising=False)
    settings.AUTOTASK_ZONE_INFO_URL = ""
    connection.set_transport_factory(None)
    clear_zone_cache()
    env_config = EnvironmentConfig.for_environment("sandbox")
    env_config.username = os.environ["AUTOTASK_LIVE_USERNAME"]
    env_config.secret = os.environ["AUTOTASK_LIVE_SECRET"]
    env_config.integration_code = os.environ["AUTOTASK_LIVE_INTEGRATION_CODE"]
    env_config.save()
    return env_config


def test_live_sandbox_connection(live_config):
    result = connection.check_connection(live_config)
    assert result.database_id
    assert ".autotask.net" in result.api_url
    assert result.requests_limit and result.requests_limit > 0


def test_live_sandbox_reference_data(live_config):
    result = reference.refresh_reference_data(live_config)
    assert result.counts["queue"] > 0
    assert result.counts["priority"] > 0
    assert ReferenceValue.objects.filter(kind="status", value=5).exists()  # Complete is a system value
