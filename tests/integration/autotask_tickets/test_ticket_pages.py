"""The pages: preview (zero API calls) → confirm POST, permissions, the ticket on run detail, Run Checks
and Job Details, messages, and constant query counts with a ticket on every row."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.autotask.models import AutotaskSettings, TicketState
from integrations.autotask.services import tickets
from runs.models import Run

from .conftest import COMPANY_NAME, make_run, map_customer, sim_tickets, ticket_posts


def _url(run):
    return reverse("autotask:create_ticket", args=[run.pk])


def test_preview_shows_what_will_be_sent_without_calling_autotask(sim, env_config, run, operator_client):
    response = operator_client.get(_url(run))
    assert response.status_code == 200
    assert sim.requests == []
    html = response.content.decode()
    assert "Backup Error: Van der Berg Accountants – Backup Job - Hyper-V hosts" in html
    assert COMPANY_NAME.replace("&", "&amp;") in html
    assert f"https://backupchecks.example.com/jobs/{run.job_id}/" in html
    assert 'id="confirm-create-ticket"' in html
    draft = response.context["draft"]
    assert draft.payload["externalID"] in html


def test_confirm_creates_the_ticket_and_the_run_shows_its_number(sim, env_config, run, operator_client):
    response = operator_client.post(_url(run), follow=True)
    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    record = tickets.ticket_for_run(run)
    assert record.state == TicketState.CREATED
    html = response.content.decode()
    assert f"Created Autotask ticket {record.ticket_number}." in html
    link = (
        "https://ww2.autotask.net/Autotask/AutotaskExtend/ExecuteCommand.aspx"
        f"?Code=OpenTicketDetail&amp;TicketID={record.ticket_id}"
    )
    assert link in html and record.ticket_number in html
    assert 'id="create-autotask-ticket"' not in html, "the button is gone once the run has a ticket"
    assert record.created_by.username == "op"


def test_a_stale_second_submit_is_refused_with_the_ticket_number(sim, env_config, run, operator_client):
    operator_client.post(_url(run))
    record = tickets.ticket_for_run(run)
    sim.clear_requests()
    response = operator_client.post(_url(run), follow=True)
    assert f"This run already has Autotask ticket {record.ticket_number}." in response.content.decode()
    assert sim.requests == [] and len(sim_tickets(sim)) == 1
    preview = operator_client.get(_url(run)).content.decode()
    assert "ExecuteCommand.aspx?Code=OpenTicketDetail" in preview and record.ticket_number in preview
    assert 'id="confirm-create-ticket"' not in preview
    # the refusal names the ticket once; below it only the badge linking to it (hbreak2 G3: the page said
    # "This run's ticket is T… ." as well, with a space before the full stop)
    assert preview.count(record.ticket_number) == 3  # title attribute + text of the badge, and the refusal
    assert "This run's ticket is" not in preview and " opens the ticket in Autotask" in preview


def test_autotask_errors_reach_the_operator_in_autotasks_words(sim, env_config, run, operator_client):
    sim.inject_fault(mode="commit_then_500", entity="Tickets", method="POST")
    response = operator_client.post(_url(run), follow=True)
    html = response.content.decode()
    # the request in plain words (messages.step_description), then Autotask's own status
    assert (
        "Could not create the Autotask ticket: Autotask failed on sending or searching tickets (HTTP 500)"
        in html
    )
    assert "the next attempt checks Autotask for it first" in html
    assert "Checking Autotask…" in html
    assert 'id="create-autotask-ticket"' in html  # to finish it

    sim.clear_requests()
    operator_client.post(_url(run))
    assert len(ticket_posts(sim)) == 0 and len(sim_tickets(sim)) == 1
    assert tickets.ticket_for_run(run).state == TicketState.CREATED


def test_refused_preview_explains_why(sim, env_config, job, mapping, operator_client):
    run = make_run(job, status="success")
    response = operator_client.get(_url(run))
    assert response.status_code == 200 and response.context["refusal"].code == "status"
    assert 'id="confirm-create-ticket"' not in response.content.decode()
    assert sim.requests == []


def test_viewers_never_see_the_action_and_get_403(sim, env_config, run, viewer_client):
    assert viewer_client.get(_url(run)).status_code == 403
    assert viewer_client.post(_url(run)).status_code == 403
    assert sim.requests == [] and tickets.ticket_for_run(run) is None
    for page in (
        run.get_absolute_url(),
        reverse("runs:run_checks"),
        reverse("runs:job_detail", args=[run.job_id]),
    ):
        html = viewer_client.get(page).content.decode()
        assert "create-autotask-ticket" not in html


def test_anonymous_users_are_sent_to_log_in(sim, env_config, run, client):
    response = client.post(_url(run))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert tickets.ticket_for_run(run) is None


def test_operators_see_the_action_on_run_detail_and_run_checks(sim, env_config, run, operator_client):
    detail = operator_client.get(run.get_absolute_url()).content.decode()
    assert 'id="create-autotask-ticket"' in detail
    checks = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert f'aria-label="Create Autotask ticket for run {run.pk}"' in checks


def test_no_action_while_the_integration_is_disabled(sim, env_config, run, operator_client):
    settings = AutotaskSettings.load()
    settings.enabled = False
    settings.save()
    assert "create-autotask-ticket" not in operator_client.get(run.get_absolute_url()).content.decode()
    assert "create-autotask-ticket" not in operator_client.get(reverse("runs:run_checks")).content.decode()


def test_next_returns_to_run_checks(sim, env_config, run, operator_client):
    response = operator_client.post(_url(run), {"next": reverse("runs:run_checks")})
    assert response["Location"] == reverse("runs:run_checks")
    response = operator_client.post(_url(run), {"next": "https://evil.example/"})
    assert response["Location"] == run.get_absolute_url()


def _count(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def _ticket_every_run(sim):
    for run in Run.objects.filter(autotask_link__isnull=True).select_related("job"):
        tickets.create_ticket_for_run(run)


@pytest.mark.parametrize("page", ["run_checks", "job_detail"])
def test_pages_render_tickets_with_a_constant_number_of_queries(
    sim, env_config, job, mapping, operator_client, page
):
    def url():
        return (
            reverse("runs:run_checks") if page == "run_checks" else reverse("runs:job_detail", args=[job.pk])
        )

    for _ in range(3):
        make_run(job)
    _ticket_every_run(sim)
    small, html = _count(operator_client, url())
    assert len(re.findall(r'class="badge text-bg-primary text-decoration-none autotask-ticket"', html)) == 3

    for _ in range(30):
        make_run(job, status="warning")
    _ticket_every_run(sim)
    sim.clear_requests()
    large, html = _count(operator_client, url())
    assert len(re.findall(r"ExecuteCommand\.aspx\?Code=OpenTicketDetail", html)) == 33
    assert large == small
    assert sim.requests == [], "pages never call Autotask"


def test_autotasks_validation_text_is_shown(sim, env_config, run, operator_client):
    from integrations.autotask.simulator import SANDBOX

    from .conftest import COMPANY_ID

    sim.deactivate_company(SANDBOX.database_id, COMPANY_ID)
    html = operator_client.post(_url(run), follow=True).content.decode()
    assert (
        "Could not create the Autotask ticket: Autotask rejected sending or searching tickets (HTTP 500)"
        in html
    )
    assert f"Autotask said: The company {COMPANY_ID} is inactive and cannot be used on a ticket." in html


@pytest.mark.parametrize("mapping_status", [None, "missing", "inactive", "invalid"])
def test_no_create_action_for_a_customer_without_a_usable_mapping(
    sim, env_config, job, operator_client, mapping_status
):
    """A Create button that can only lead to "not mapped" is not offered; run detail says why instead."""
    from integrations.autotask.models import CompanyMapping

    if mapping_status is not None:
        map_customer(job.customer, env_config)
        CompanyMapping.objects.filter(customer=job.customer).update(status=mapping_status)
    run = make_run(job)
    checks = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert f'aria-label="Create Autotask ticket for run {run.pk}"' not in checks
    detail = operator_client.get(run.get_absolute_url()).content.decode()
    assert 'id="create-autotask-ticket"' not in detail
    assert 'id="autotask-ticket-unmapped"' in detail
    assert sim.requests == []
