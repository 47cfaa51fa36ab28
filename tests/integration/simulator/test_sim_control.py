"""Control API over HTTP, helper methods, request log, persistence and the served command."""

import io
import threading

import httpx
import pytest

from integrations.autotask.simulator import PRODUCTION, SANDBOX, AutotaskSimulator
from integrations.autotask.simulator.server import make_server

from .conftest import ALL, ZONE_BASE, auth_headers, new_ticket

PROD = PRODUCTION.database_id


@pytest.fixture
def control(sim):
    with httpx.Client(
        transport=httpx.WSGITransport(app=sim), base_url="http://127.0.0.1:8001/_simulator"
    ) as client:
        yield client


def test_rename_deactivate_delete_company_over_http(control, api):
    assert (
        control.post(f"/tenants/{PROD}/companies/174/rename", json={"name": "Renamed B.V."}).status_code
        == 200
    )
    assert api.get("/Companies/174").json()["item"]["companyName"] == "Renamed B.V."
    assert control.post(f"/tenants/{PROD}/companies/174/deactivate").status_code == 200
    assert api.get("/Companies/174").json()["item"]["isActive"] is False
    assert control.post(f"/tenants/{PROD}/companies/174/delete").status_code == 200
    assert api.get("/Companies/174").json() == {"item": None}
    found = api.post("/Companies/query", json={"filter": [{"op": "in", "field": "id", "value": [174, 0]}]})
    assert [c["id"] for c in found.json()["items"]] == [0]
    assert control.post(f"/tenants/{PROD}/companies/174/rename", json={"name": "x"}).status_code == 404


def test_time_entry_tickets_and_notes_over_http(control, api):
    response = control.post(f"/tenants/{PROD}/tickets/128902/time-entries", json={"hours": 2.5})
    entry_id = response.json()["id"]
    assert api.get(f"/TimeEntries/{entry_id}").json()["item"]["hoursWorked"] == 2.5
    assert control.post(f"/tenants/{PROD}/tickets/128902/time-entries", json={"hours": 30}).status_code == 400
    tickets = control.get(f"/tenants/{PROD}/tickets").json()["tickets"]
    assert [t["id"] for t in tickets][:2] == [128900, 128901]
    notes = control.get(f"/tenants/{PROD}/tickets/128900/notes").json()["notes"]
    assert notes and notes[0]["ticketID"] == 128900


def test_request_log_and_call_count_exclude_control_routes(sim, control, api, http):
    http.get("/zoneInformation", params={"user": PRODUCTION.username})
    api.post("/Companies/query", json={"filter": ALL})
    api.get("/Companies/174")
    control.get("/requests")
    records = control.get("/requests").json()
    assert records["count"] == 3
    assert [r["entity"] for r in records["requests"]] == ["zoneInformation", "Companies", "Companies"]
    assert records["requests"][1] | {"path": None} == {
        "method": "POST",
        "path": None,
        "entity": "Companies",
        "tenant_db_id": PROD,
        "status": 200,
        "authenticated": True,
        "operation": "query",
        "query_string": "",
        "errors": [],
    }
    assert sim.api_call_count() == 3
    assert sim.api_call_count(exclude_zone=True) == 2
    assert sim.api_call_count(tenant=SANDBOX) == 0
    assert sim.api_call_count(tenant=PROD) == 3
    assert control.get("/api-call-count", params={"tenant": PROD, "exclude_zone": "1"}).json() == {"count": 2}
    assert control.delete("/requests").status_code == 200
    assert sim.requests == [] and sim.api_call_count() == 0


def test_faults_and_config_over_http(sim, control, api):
    fault = {"entity": "Tickets", "method": "POST", "mode": "commit_then_500", "times": 1}
    assert control.post("/faults", json=fault).status_code == 200
    assert control.get("/faults").json()["faults"][0]["mode"] == "commit_then_500"
    assert control.delete("/faults").status_code == 200
    assert api.post("/Tickets", json=new_ticket()).status_code == 200
    assert control.post("/faults", json={"mode": "bogus"}).status_code == 400
    assert control.post("/config", json={"missing_item_status": 404}).json()["missing_item_status"] == 404
    assert api.get("/Tickets/1").status_code == 404
    assert control.post("/config", json={"no_such_option": 1}).status_code == 400
    assert control.get("/config").json()["thread_limit"] == 3


def test_reset_over_http(sim, control, api):
    api.post("/Tickets", json=new_ticket())
    sim.configure(missing_item_status=404)
    sim.inject_fault(mode="fail_500", times=None)
    assert control.post("/reset").status_code == 200
    assert len(sim.tickets(PROD)) == 6
    assert sim.requests == [] and sim.faults.list() == []
    assert api.get("/Tickets/1").json() == {"item": None}


def test_tenants_listing_and_unknown_control_route(control):
    tenants = {t["key"]: t for t in control.get("/tenants").json()["tenants"]}
    assert tenants["sandbox"]["database_id"] == SANDBOX.database_id
    assert tenants["production"]["username"] == PRODUCTION.username
    assert control.get("/nope").status_code == 404
    assert control.get("/tenants/1/tickets").status_code == 404


def test_demo_credentials_differ_per_tenant():
    for attr in ("username", "secret", "integration_code", "database_id"):
        assert getattr(SANDBOX, attr) != getattr(PRODUCTION, attr)


def test_seed_is_deterministic():
    first, second = AutotaskSimulator(seed=1), AutotaskSimulator(seed=1)
    names = [c["companyName"] for c in first.companies(PROD)]
    assert names == [c["companyName"] for c in second.companies(PROD)]
    assert names != [c["companyName"] for c in AutotaskSimulator(seed=2).companies(PROD)]
    assert sum(not c["isActive"] for c in first.companies(PROD)) > 10


def test_state_persists_across_instances(tmp_path):
    path = tmp_path / "state" / "sim.json"
    sim = AutotaskSimulator(state_file=path, seed=1)
    assert path.exists()
    with httpx.Client(
        transport=httpx.WSGITransport(app=sim), base_url=ZONE_BASE, headers=auth_headers()
    ) as api:
        ticket_id = api.post("/Tickets", json=new_ticket(externalID="persist-me")).json()["itemId"]
        number = api.get(f"/Tickets/{ticket_id}").json()["item"]["ticketNumber"]
    sim.rename_company(PROD, 174, "Persisted Name")
    sim.delete_company(PROD, 179)
    restarted = AutotaskSimulator(state_file=path, seed=99)
    with httpx.Client(
        transport=httpx.WSGITransport(app=restarted), base_url=ZONE_BASE, headers=auth_headers()
    ) as api:
        item = api.get(f"/Tickets/{ticket_id}").json()["item"]
        assert (item["externalID"], item["ticketNumber"]) == ("persist-me", number)
        assert api.get("/Companies/174").json()["item"]["companyName"] == "Persisted Name"
        assert api.get("/Companies/179").json() == {"item": None}
        next_id = api.post("/Tickets", json=new_ticket()).json()["itemId"]
    assert next_id == ticket_id + 1
    assert not list(path.parent.glob(".simulator-state-*"))  # atomic replace leaves no temp files


def test_served_simulator_drops_the_connection_without_a_response(capfd):
    sim = AutotaskSimulator(seed=1)
    server = make_server(sim, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            zone = client.get(
                "/atservicesrest/v1.0/zoneInformation", params={"user": PRODUCTION.username}
            ).json()
            assert zone["url"] == f"{base}/ATServicesRest/"
            sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_drop")
            # RemoteProtocolError, or ReadError when the reset wins the race
            with pytest.raises(httpx.TransportError):
                client.post(f"{zone['url']}V1.0/Tickets", json=new_ticket(), headers=auth_headers())
            assert len(sim.tickets(PROD)) == 7
            ok = client.post(f"{zone['url']}V1.0/Tickets", json=new_ticket(), headers=auth_headers())
            assert ok.status_code == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert "Traceback" not in capfd.readouterr().err


def test_management_command_serves_and_prints_credentials(tmp_path):
    from django.core.management import call_command

    from integrations.autotask.management.commands import autotask_simulator

    out = io.StringIO()
    servers = []
    made = threading.Event()
    command = autotask_simulator.Command(stdout=out)
    real_make_server = autotask_simulator.make_server

    def spy_make_server(*args, **kwargs):
        servers.append(real_make_server(*args, **kwargs))
        made.set()
        return servers[-1]

    autotask_simulator.make_server = spy_make_server
    state = tmp_path / "sim.json"
    thread = threading.Thread(
        target=call_command, args=(command,), kwargs={"port": 0, "state_file": str(state)}, daemon=True
    )
    try:
        thread.start()
        assert made.wait(10)  # the socket listens once make_server returned; a connect waits in the backlog
        port = servers[0].server_port
        response = httpx.get(f"http://127.0.0.1:{port}/atservicesrest/versioninformation", timeout=5)
        assert response.json() == {"apiVersions": ["V1.0"]}
    finally:
        autotask_simulator.make_server = real_make_server
        if servers:
            servers[0].shutdown()
        thread.join(10)
    text = out.getvalue()
    assert f"http://127.0.0.1:{port}/atservicesrest/v1.0/zoneInformation" in text
    for tenant in (SANDBOX, PRODUCTION):
        assert tenant.username in text and tenant.integration_code in text and str(tenant.database_id) in text
    assert state.exists()
    assert servers[0].server_address[0] == "127.0.0.1"
