"""Phase 6 on the pages: manual entry by switch state (offered and enforced), the link flow, the run's
timeline, the "not live" ticket, the audit log filters — all from the database (zero API calls on render)."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.autotask.forms import COMPATIBILITY_MODE_HELP
from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket, TicketOrigin, TicketState
from integrations.autotask.simulator import SANDBOX

from .conftest import api_calls, make_run, map_customer, set_switches

MANUAL_FORM = 'id="ticket-number-form"'
LINK_FORM = 'id="autotask-link-form"'


def _detail(client, run):
    return client.get(reverse("runs:run_detail", args=[run.pk])).content.decode()


def _save_manual(client, run, number):
    return client.post(reverse("runs:run_ticket_number", args=[run.pk]), {"manual_ticket_number": number})


@pytest.mark.parametrize(
    ("enabled", "compatibility_mode", "offered"),
    [(False, False, True), (False, True, True), (True, False, False), (True, True, True)],
)
def test_manual_entry_follows_the_switches(
    active, sim, job, operator_client, enabled, compatibility_mode, offered
):
    run = make_run(job, manual_ticket_number="PSA-1")
    set_switches(enabled=enabled, compatibility_mode=compatibility_mode)
    html = _detail(operator_client, run)
    assert (MANUAL_FORM in html) is offered
    assert "PSA-1" in html  # an existing manual number always stays visible
    _save_manual(operator_client, run, "PSA-2")
    run.refresh_from_db()
    assert run.manual_ticket_number == ("PSA-2" if offered else "PSA-1")  # enforced on the POST too
    assert api_calls(sim) == 0


@pytest.mark.parametrize(
    ("enabled", "compatibility_mode", "shown"), [(True, False, False), (False, False, True)]
)
def test_an_empty_manual_number_is_not_shown_while_autotask_tickets_replace_it(
    active, sim, job, viewer_client, enabled, compatibility_mode, shown
):
    run = make_run(job)
    set_switches(enabled=enabled, compatibility_mode=compatibility_mode)
    assert ('id="manual-ticket-number"' in _detail(viewer_client, run)) is shown


def test_refused_manual_post_tells_why(active, job, operator_client):
    set_switches(compatibility_mode=False)
    run = make_run(job)
    response = _save_manual(operator_client, run, "PSA-9")
    assert response.status_code == 302
    page = operator_client.get(response.url).content.decode()
    assert "Manual ticket numbers cannot be entered right now" in page


def test_settings_help_text_says_exactly_when_manual_entry_is_offered(active, client, staff_admin):
    staff_admin.user_permissions.add(Permission.objects.get(codename="manage_autotask"))
    client.force_login(staff_admin)
    html = client.get("/admin/autotask/autotasksettings/1/change/").content.decode()
    assert "Off: operators cannot enter manual ticket numbers" in COMPATIBILITY_MODE_HELP
    assert "(existing manual numbers stay visible)" in COMPATIBILITY_MODE_HELP
    assert "link existing Autotask tickets" in COMPATIBILITY_MODE_HELP
    assert "With the integration disabled" in COMPATIBILITY_MODE_HELP
    assert "existing manual numbers stay visible" in html


def test_link_flow_lookup_confirm_link(active, sim, seeded, job, operator_client):
    map_customer(job.customer, seeded[7702]["companyID"], name="Acme Dental BV")
    run = make_run(job)
    html = _detail(operator_client, run)
    assert LINK_FORM in html
    assert api_calls(sim) == 0

    page = operator_client.post(
        reverse("autotask:link_lookup", args=[run.pk]),
        {"reference": " " + seeded[7702]["ticketNumber"].lower()},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert seeded[7702]["title"] in text
    assert "Acme Dental BV" in text and "New" in text
    assert 'id="link-company-warning"' not in text and 'id="link-ticket-complete"' not in text
    assert api_calls(sim) == 1
    assert not RunTicket.objects.exists()  # the lookup links nothing

    response = operator_client.post(reverse("autotask:link_ticket", args=[run.pk]), {"ticket_id": "7702"})
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    assert api_calls(sim) == 2
    assert RunTicket.objects.get(run=run).ticket.ticket_id == 7702

    html = _detail(operator_client, run)
    assert seeded[7702]["ticketNumber"] in html
    assert "Existing ticket linked" in html  # the timeline, with the readable label
    assert LINK_FORM not in html  # a run has at most one ticket
    assert api_calls(sim) == 2
    # a crafted lookup for a run that has its ticket is refused before any call
    response = operator_client.post(reverse("autotask:link_lookup", args=[run.pk]), {"reference": "7703"})
    assert response.status_code == 302 and api_calls(sim) == 2
    assert "already has Autotask ticket" in operator_client.get(response.url).content.decode()


def test_lookup_of_complete_ticket_says_so(active, sim, seeded, job, operator_client):
    map_customer(job.customer, seeded[7700]["companyID"])
    run = make_run(job)
    text = operator_client.post(
        reverse("autotask:link_lookup", args=[run.pk]), {"reference": "7700"}
    ).content.decode()
    status = re.search(r'<dd class="col-sm-8" id="link-ticket-status">(.*?)</dd>', text, re.S).group(1)
    assert status.count("Complete") == 1  # the status name says it; no "Complete" badge beside it
    assert 'id="link-complete-note"' in text  # and the note explains what linking a complete ticket means
    operator_client.post(reverse("autotask:link_ticket", args=[run.pk]), {"ticket_id": "7700"})
    page = operator_client.get(run.get_absolute_url()).content.decode()
    assert "It is Complete in Autotask" in page


def test_lookup_warns_about_company_mismatch_and_link_needs_the_confirmation(
    active, sim, seeded, job, operator_client
):
    map_customer(job.customer, seeded[7704]["companyID"])
    run = make_run(job)
    text = operator_client.post(
        reverse("autotask:link_lookup", args=[run.pk]), {"reference": "7702"}
    ).content.decode()
    assert 'id="link-company-warning"' in text
    operator_client.post(reverse("autotask:link_ticket", args=[run.pk]), {"ticket_id": "7702"})
    assert not RunTicket.objects.exists()
    operator_client.post(
        reverse("autotask:link_ticket", args=[run.pk]), {"ticket_id": "7702", "allow_company_mismatch": "1"}
    )
    assert RunTicket.objects.filter(run=run).exists()


def test_lookup_of_unknown_ticket_shows_the_reason(active, sim, job, operator_client):
    run = make_run(job)
    response = operator_client.post(
        reverse("autotask:link_lookup", args=[run.pk]), {"reference": "T20990101.0001"}
    )
    assert response.status_code == 302
    assert "Autotask has no ticket T20990101.0001" in operator_client.get(response.url).content.decode()


def test_lookup_shows_other_runs_sharing_the_ticket(active, sim, seeded, job, operator_client):
    from integrations.autotask.services import linking

    map_customer(job.customer, seeded[7702]["companyID"])
    linking.link_ticket_to_run(make_run(job, days=1), "7702")
    run = make_run(job, days=2)
    text = operator_client.post(
        reverse("autotask:link_lookup", args=[run.pk]), {"reference": "7702"}
    ).content.decode()
    assert 'id="link-shared-note"' in text and "1 other run" in text


def test_link_needs_the_permission(active, sim, job, viewer_client):
    run = make_run(job)
    assert LINK_FORM not in _detail(viewer_client, run)
    assert (
        viewer_client.post(reverse("autotask:link_lookup", args=[run.pk]), {"reference": "7702"}).status_code
        == 403
    )
    assert (
        viewer_client.post(reverse("autotask:link_ticket", args=[run.pk]), {"ticket_id": "7702"}).status_code
        == 403
    )
    assert viewer_client.get(reverse("autotask:link_lookup", args=[run.pk])).status_code == 405
    assert api_calls(sim) == 0


@pytest.mark.parametrize("switches", [{"compatibility_mode": False}, {"enabled": False}])
def test_link_ui_absent_and_refused_without_compatibility_mode(active, sim, job, operator_client, switches):
    set_switches(**switches)
    run = make_run(job)
    assert LINK_FORM not in _detail(operator_client, run)
    operator_client.post(reverse("autotask:link_lookup", args=[run.pk]), {"reference": "7702"})
    operator_client.post(
        reverse("autotask:link_ticket", args=[run.pk]), {"ticket_id": "7702", "allow_company_mismatch": "1"}
    )
    assert not RunTicket.objects.exists()
    assert api_calls(sim) == 0


def _ticket(job, ticket_id, origin, *, days=0, status_id=8):
    ticket = AutotaskTicket.objects.create(
        environment="sandbox",
        database_id=SANDBOX.database_id,
        correlation_key=f"k-{ticket_id}-{days}",
        state=TicketState.CREATED,
        origin=origin,
        ticket_id=ticket_id,
        ticket_number=f"T20261101.{ticket_id:04d}",
        title=f"Ticket {ticket_id}",
        status_id=status_id,
    )
    run = make_run(job, days=days)
    RunTicket.objects.create(run=run, ticket=ticket)
    return run, ticket


def test_tickets_stay_visible_not_live_when_disabled(active, sim, job, operator_client):
    created_run, _ = _ticket(job, 7703, TicketOrigin.CREATED)
    linked_run, _ = _ticket(job, 7702, TicketOrigin.LINKED, days=1)
    set_switches(enabled=False)
    for run, number in ((created_run, "T20261101.7703"), (linked_run, "T20261101.7702")):
        html = _detail(operator_client, run)
        assert number in html and 'id="autotask-not-live"' in html
        assert "In Progress" in html  # the last known status, by its cached label
    assert api_calls(sim) == 0


def test_timeline_lists_every_event_of_the_run_with_labels(active, job, operator_client):
    run = make_run(job)
    other = make_run(job, days=1)
    AuditEvent.record("ticket_linked", run=run, message="Linked T1")
    AuditEvent.record("create_ticket", run=run, outcome="started", message="Sending the ticket")
    AuditEvent.record("create_ticket", run=run, outcome="failed", message="Autotask said no")
    AuditEvent.record("some_future_action", run=run, message="From another phase")
    AuditEvent.record("ticket_linked", run=other, message="Not this run")
    html = _detail(operator_client, run)
    assert "Existing ticket linked" in html and "Ticket creation" in html
    assert '<span class="badge text-bg-danger">failed</span>' in html  # the outcome beside its label
    assert '<span class="badge text-bg-secondary">started</span>' in html  # a step, not an error
    assert "Some future action" in html  # unknown codes are humanised
    assert "Autotask said no" in html and "Not this run" not in html
    assert html.index("Linked T1") < html.index("Autotask said no")  # oldest first


def _fill_run(job, n, days_offset):
    for i in range(n):
        run, _ = _ticket(job, 8000 + days_offset + i, TicketOrigin.LINKED, days=days_offset + i)
        for action in ("ticket_linked", "ticket_note_added", "resolve_ticket"):
            AuditEvent.record(action, run=run, message=action)
    return run


def test_run_detail_query_count_is_constant(active, sim, job, operator_client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for offset, events in ((0, 1), (100, 40)):
        run, ticket = _ticket(job, 9000 + offset, TicketOrigin.LINKED, days=offset)
        for i in range(events):
            AuditEvent.record("ticket_linked", run=run, message=f"event {i}")
        for i in range(events):
            RunTicket.objects.create(run=make_run(job, days=offset + i + 1), ticket=ticket)
        with CaptureQueriesContext(connection) as ctx:
            assert operator_client.get(run.get_absolute_url()).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    assert api_calls(sim) == 0


def test_admin_audit_log_filters_and_labels(active, job, client, staff_admin, operator):
    staff_admin.user_permissions.add(Permission.objects.get(codename="manage_autotask"))
    client.force_login(staff_admin)
    run = make_run(job)
    other_customer_run = make_run(
        type(job).objects.create(customer=type(job.customer).objects.create(name="Other BV"), name="Job 2")
    )
    AuditEvent.record("ticket_linked", run=run, user=operator, message="mine")
    AuditEvent.record("ticket_created", run=other_customer_run, message="theirs")
    AuditEvent.record("brand_new_code", message="new")
    url = "/admin/autotask/auditevent/"
    html = client.get(url).content.decode()
    # readable labels in the filter and the list, not raw codes
    assert "Existing ticket linked" in html and "Ticket created" in html and "Brand new code" in html
    assert "?action=ticket_linked" in html
    assert "Acme Dental" in html and "Other BV" in html  # the customer filter
    assert f"?user__id__exact={operator.pk}" in html  # the user filter
    for query, expected, absent in (
        ("?action=ticket_linked", "mine", "theirs"),
        (f"?customer__id__exact={job.customer_id}", "mine", "theirs"),
        (f"?run={run.pk}", "mine", "theirs"),
        (f"?user__id__exact={operator.pk}", "mine", "theirs"),
        ("?run=abc", None, "mine"),
    ):
        page = client.get(url + query)
        assert page.status_code == 200, query
        text = page.content.decode()
        if expected:
            assert f">{expected}<" in text, query
        assert f">{absent}<" not in text, query


def test_admin_audit_log_query_count_is_constant(active, job, client, staff_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff_admin.user_permissions.add(Permission.objects.get(codename="manage_autotask"))
    client.force_login(staff_admin)
    counts = []
    for n in (2, 60):
        for i in range(n):
            AuditEvent.record(
                "ticket_linked", run=make_run(job, days=i + n * 100), user=staff_admin, message="x"
            )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/autotask/auditevent/").status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]
