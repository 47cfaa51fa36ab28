"""The demo (`make run`): after seeding and `autotask_demo_setup`, an operator can create a real ticket in the
simulator for a failing demo run."""

import io

from django.core.management import call_command

from customers.models import Customer
from integrations.autotask.models import CompanyMapping, TicketState
from integrations.autotask.services import tickets
from runs.models import Run

from .conftest import sim_tickets


def _setup(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("autotask_demo_setup", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_demo_customers_are_mapped_once_and_a_ticket_can_be_created(sim, db):
    call_command("seed_demo", customers=4, days=3, no_users=True, stdout=io.StringIO())
    out, err = _setup("--once")
    assert err == "" and "mapped 4 customers" in out
    mappings = CompanyMapping.objects.filter(environment="sandbox")
    assert mappings.count() == Customer.objects.count() == 4
    assert len({m.company_id for m in mappings}) == 4

    sim.clear_requests()
    out, _ = _setup("--once")
    assert "mapped" not in out and sim.api_call_count() == 0, "idempotent: nothing left to map"

    run = Run.objects.needing_review().select_related("job").first()
    record = tickets.create_ticket_for_run(run)
    assert record.state == TicketState.CREATED
    [stored] = sim_tickets(sim)
    assert stored["companyID"] == mappings.get(customer=run.job.customer).company_id
    assert f"http://127.0.0.1:8000/jobs/{run.job_id}/" in stored["description"]
