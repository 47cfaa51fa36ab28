"""Fixtures for exercising the Autotask simulator with plain httpx (never the project's client)."""

import httpx
import pytest

from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator

ZONE_BASE = "https://webservices14.autotask.net/ATServicesRest/V1.0"
SANDBOX_BASE = "https://webservices2.autotask.net/ATServicesRest/V1.0"
ALL = [{"op": "exist", "field": "id"}]


def auth_headers(tenant=PRODUCTION, **overrides):
    headers = {
        "ApiIntegrationCode": tenant.integration_code,
        "UserName": tenant.username,
        "Secret": tenant.secret,
    }
    headers.update(overrides)
    return headers


@pytest.fixture
def sim():
    return AutotaskSimulator(seed=1)


@pytest.fixture
def http(sim):
    with httpx.Client(transport=httpx.WSGITransport(app=sim), base_url=ZONE_BASE) as client:
        yield client


@pytest.fixture
def api(sim):
    """A production-tenant client with the three auth headers set."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=sim), base_url=ZONE_BASE, headers=auth_headers(PRODUCTION)
    ) as client:
        yield client


@pytest.fixture
def sandbox_api(sim):
    with httpx.Client(
        transport=httpx.WSGITransport(app=sim), base_url=SANDBOX_BASE, headers=auth_headers(SANDBOX)
    ) as client:
        yield client


def new_ticket(**extra):
    body = {"companyID": 174, "title": "Backup failed", "status": 1, "priority": 2, "queueID": 29682833}
    body.update(extra)
    return body
