"""The demo (`make run`): after seeding and `autotask_demo_setup`, an operator can create a real ticket in the
simulator for a failing demo run."""

import io

from django.core.management import call_command

from integrations.autotask.models import CompanyMapping, TicketState
from integrations.autotask.services import tickets
from runs.models import Run

from .conftest import sim_tickets


def _setup(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("autotask_demo_setup", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_demo_maps_customers_once_and_a_ticket_can_be_created(sim, db):
    call_command("seed_demo", customers=4, days=3, no_users=True, stdout=io.StringIO())
    _setup("--once")
    usable = [m for m in CompanyMapping.objects.filter(environment="sandbox") if m.is_usable]
    assert usable, "the demo maps customers so that tickets can be created at once"

    sim.clear_requests()
    _setup("--once")
    assert sim.api_call_count() == 0, "idempotent: a second set-up maps nothing"

    run = (
        Run.objects.needing_review()
        .filter(job__customer__in=[m.customer_id for m in usable])
        .select_related("job")
        .first()
    )
    record = tickets.create_ticket_for_run(run)
    assert record.state == TicketState.CREATED
    [stored] = sim_tickets(sim)
    mapping = CompanyMapping.objects.get(customer=run.job.customer, environment="sandbox")
    assert stored["companyID"] == mapping.company_id
    assert f"http://127.0.0.1:8000/jobs/{run.job_id}/" in stored["description"]
