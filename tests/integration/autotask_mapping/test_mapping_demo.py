"""The demo (`make run` → autotask_demo_setup): every mapping status at once, and only once."""

import io

from django.core.management import call_command

from integrations.autotask.models import CompanyMapping
from runs import demo


def run_setup():
    out, err = io.StringIO(), io.StringIO()
    call_command("autotask_demo_setup", "--once", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_demo_maps_most_customers_and_shows_every_status(sim, db):
    demo.seed(customers=12, jobs_per_customer=1, days=2, with_users=False)
    out, err = run_setup()
    assert err == ""
    assert (
        "mapped 11 demo customers (1 left unmapped): ok 7 · renamed 1 · inactive 1 · missing 1 · invalid 1"
        in out
    )
    renamed = CompanyMapping.objects.get(status="renamed")
    assert renamed.company_name == renamed.customer.name + " Holding"
    assert renamed.previous_name == renamed.customer.name
    # every other usable mapping reads as a person would have chosen it: the company has the customer's name
    for mapping in CompanyMapping.objects.filter(status="ok").select_related("customer"):
        assert mapping.company_name == mapping.customer.name
    sim.clear_requests()
    out, _ = run_setup()  # a second `make run`: nothing changes, no call
    assert "mapped" not in out and sim.api_call_count() == 0
    assert CompanyMapping.objects.count() == 11
