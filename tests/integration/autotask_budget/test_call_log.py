"""The API-call log: one row per request sent, never headers, bodies, query strings or credentials."""

import httpx
import pytest

from integrations.autotask.client import AutotaskClient
from integrations.autotask.exceptions import AutotaskConnectionError, AutotaskRateLimitError
from integrations.autotask.models import ApiCall
from integrations.autotask.services import budget

from .conftest import CREDS, OFFICIAL_ZONE_URL, budget_client

EVERY_COMPANY = [{"op": "exist", "field": "id"}]


def test_every_request_is_logged_with_its_label(db, sim):
    client = budget_client(sim, pacer=False)
    client.count("Companies", EVERY_COMPANY)
    with budget.background_work("bulk job 3"):
        client.get("Companies", 999999)
    rows = list(ApiCall.objects.order_by("id"))
    assert [(r.method, r.path, r.status_code, r.outcome, r.label) for r in rows] == [
        ("GET", "/atservicesrest/v1.0/zoneInformation", 200, "ok", "interactive"),
        ("POST", "/ATServicesRest/V1.0/Companies/query/count", 200, "ok", "interactive"),
        ("GET", "/ATServicesRest/V1.0/Companies/999999", 200, "ok", "bulk job 3"),
    ]
    assert [r.endpoint for r in rows] == ["zoneInformation", "Companies", "Companies"]
    assert all(r.duration_ms >= 0 for r in rows)
    assert sim.api_call_count() == len(rows)


def test_autotask_rejections_are_logged_as_such(db, sim):
    client = budget_client(sim, pacer=False)
    client.zone_information()
    sim.inject_fault(entity="Companies", mode="hourly_threshold")
    with pytest.raises(AutotaskRateLimitError):
        client.count("Companies", EVERY_COMPANY)
    assert ApiCall.objects.latest("id").outcome == "rejected_hourly"
    sim.inject_fault(entity="Companies", mode="thread_threshold")
    client.count("Companies", EVERY_COMPANY)  # a read: retried once after the rejection
    assert list(ApiCall.objects.order_by("-id").values_list("outcome", flat=True)[:2]) == [
        "ok",
        "rejected_thread",
    ]


def test_a_transport_failure_is_logged_with_its_kind(db):
    def refuse(request):
        raise httpx.ConnectError("connection refused")

    client = AutotaskClient(
        CREDS,
        zone_info_url=OFFICIAL_ZONE_URL,
        transport=httpx.MockTransport(refuse),
        sleep=lambda seconds: None,
        max_attempts=1,
        call_log=budget.CallLog(),
    )
    with pytest.raises(AutotaskConnectionError):
        client.zone_information()
    row = ApiCall.objects.get()
    assert (row.outcome, row.error_kind, row.status_code) == ("transport_error", "ConnectError", None)


def test_the_log_is_pruned(db, sim, monkeypatch):
    monkeypatch.setattr(budget, "CALL_LOG_KEEP", 20)
    client = budget_client(sim, pacer=False)
    for _ in range(130):
        client.get("Companies", 999999)
    assert ApiCall.objects.count() <= 20 + 50  # pruned every 50 rows down to the newest CALL_LOG_KEEP
    assert ApiCall.objects.count() >= 20
