"""Enable → create and link tickets → disable → everything still visible, manual entry works → re-enable with
compatibility mode → links intact, nothing duplicated; the switch itself calls nothing (disabling: zero
requests; enabling: only the settings page's connection check, never a ticket call)."""

from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.autotask.models import (
    AutotaskSettings,
    AutotaskTicket,
    RunTicket,
    TicketOrigin,
    TicketState,
)
from integrations.autotask.services import linking
from integrations.autotask.simulator import SANDBOX

from .conftest import SANDBOX_DEFAULTS, api_calls, make_run, map_customer

SETTINGS_URL = "/admin/autotask/autotasksettings/1/change/"


def _settings_post(*, enabled, compatibility_mode):
    data = {
        "environment": "sandbox",
        "base_url": "https://backupchecks.example.com",
        "username": SANDBOX.username,
        "secret": "",
        "integration_code": "",
        "impersonation_resource_id": "",
        "missed_priority_id": "",
        **{name: str(value) for name, value in SANDBOX_DEFAULTS.items()},
    }
    if enabled:
        data["enabled"] = "on"
    if compatibility_mode:
        data["compatibility_mode"] = "on"
    return data


def _snapshot():
    return (
        sorted(RunTicket.objects.values_list("run_id", "ticket_id", "linked_at")),
        sorted(AutotaskTicket.objects.values_list("pk", "ticket_id", "ticket_number", "origin", "state")),
    )


def test_switch_round_trip(active, sim, seeded, job, client, staff_admin, operator):
    staff_admin.user_permissions.add(Permission.objects.get(codename="manage_autotask"))
    admin_client = client
    admin_client.force_login(staff_admin)
    from django.test import Client

    operator_client = Client()
    operator_client.force_login(operator)
    map_customer(job.customer, seeded[7702]["companyID"])

    # Enabled: one ticket "created" by phase 4 (direct rows), one existing ticket linked to two runs.
    created_run = make_run(job, 0)
    created = AutotaskTicket.objects.create(
        environment="sandbox",
        database_id=SANDBOX.database_id,
        correlation_key="phase4-1",
        state=TicketState.CREATED,
        origin=TicketOrigin.CREATED,
        ticket_id=7705,
        ticket_number=seeded[7705]["ticketNumber"],
        status_id=1,
    )
    RunTicket.objects.create(run=created_run, ticket=created)
    linked_runs = [make_run(job, 1), make_run(job, 2)]
    for run in linked_runs:
        linking.link_ticket_to_run(run, seeded[7702]["ticketNumber"], user=operator)
    manual_run = make_run(job, 3)
    before = _snapshot()
    sim.clear_requests()

    # Disable through the settings page: zero requests.
    response = admin_client.post(SETTINGS_URL, _settings_post(enabled=False, compatibility_mode=False))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AutotaskSettings.load().enabled is False
    assert api_calls(sim) == 0 and sim.api_call_count() == 0

    # Disabled: every ticket still visible (number, last known status, "not live"); manual entry works.
    for run, number in (
        (created_run, seeded[7705]["ticketNumber"]),
        (linked_runs[0], seeded[7702]["ticketNumber"]),
    ):
        html = operator_client.get(run.get_absolute_url()).content.decode()
        assert number in html and 'id="autotask-not-live"' in html and "New" in html
        assert 'id="ticket-number-form"' in html and 'id="autotask-link-form"' not in html
    operator_client.post(
        reverse("runs:run_ticket_number", args=[manual_run.pk]), {"manual_ticket_number": "PSA-77"}
    )
    manual_run.refresh_from_db()
    assert manual_run.manual_ticket_number == "PSA-77"
    assert operator_client.get(reverse("runs:run_checks")).status_code == 200
    assert operator_client.get(reverse("runs:job_detail", args=[job.pk])).status_code == 200
    assert _snapshot() == before
    assert sim.api_call_count() == 0

    # Re-enable with compatibility mode: the page's own connection check only — no ticket is read or written.
    response = admin_client.post(SETTINGS_URL, _settings_post(enabled=True, compatibility_mode=True))
    assert response.status_code == 302, response.content.decode()[:3000]
    settings = AutotaskSettings.load()
    assert settings.enabled and settings.compatibility_mode
    assert {r.entity for r in sim.requests if r.authenticated} <= {"ThresholdInformation"}
    assert not [r for r in sim.requests if r.entity in ("Tickets", "TicketNotes")]
    assert _snapshot() == before  # links intact, nothing duplicated
    sim.clear_requests()

    # Still one ticket row per Autotask ticket when another run links the same ticket again.
    html = operator_client.get(manual_run.get_absolute_url()).content.decode()
    assert "PSA-77" in html and 'id="autotask-link-form"' in html and 'id="ticket-number-form"' in html
    assert (
        'id="autotask-not-live"'
        not in operator_client.get(linked_runs[0].get_absolute_url()).content.decode()
    )
    linking.link_ticket_to_run(manual_run, "7702")
    assert AutotaskTicket.objects.count() == 2
    assert RunTicket.objects.filter(ticket__ticket_id=7702).count() == 3
    manual_run.refresh_from_db()
    assert manual_run.manual_ticket_number == "PSA-77"  # never deleted

    # Enabled without compatibility mode: manual entry is not offered, the number stays visible.
    admin_client.post(SETTINGS_URL, _settings_post(enabled=True, compatibility_mode=False))
    html = operator_client.get(manual_run.get_absolute_url()).content.decode()
    assert "PSA-77" in html and 'id="ticket-number-form"' not in html
