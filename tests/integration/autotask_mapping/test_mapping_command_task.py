"""manage.py autotask_check_mappings (summary line, exit codes) and the check_mappings_task."""

import io

import pytest
from django.core.management import call_command

from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.services import mapping as svc
from integrations.autotask.tasks import check_mappings_task, enqueue_check_mappings

from .conftest import SANDBOX_DB, sandbox_company


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("autotask_check_mappings", *args, "--no-progress", stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def _three(sim, customer, other_customer):
    svc.map_customer(customer, sandbox_company(sim, 0)["id"])
    svc.map_customer(other_customer, sandbox_company(sim, 1)["id"])
    sim.rename_company(SANDBOX_DB, sandbox_company(sim, 0)["id"], "New Name Ltd")
    sim.delete_company(SANDBOX_DB, sandbox_company(sim, 1)["id"])


def test_command_prints_the_summary_line(sandbox, sim, customer, other_customer):
    _three(sim, customer, other_customer)
    code, out, err = run()
    assert code == 0 and err == ""
    assert out.startswith("ok 0 · renamed 1 · inactive 0 · missing 1 · invalid 0 (2 Sandbox mappings checked")
    assert "in 1 Autotask call;" in out


def test_command_selected_customer(sandbox, sim, customer, other_customer):
    _three(sim, customer, other_customer)
    code, out, _ = run("--customer", str(customer.pk))
    assert code == 0 and out.startswith("ok 0 · renamed 1 · inactive 0 · missing 0 · invalid 0 (1 ")


def test_command_disabled_exits_2_without_a_call(sandbox, sim, customer):
    CompanyMapping.objects.create(
        customer=customer, environment="sandbox", database_id=SANDBOX_DB, company_id=1174, company_name="x"
    )
    settings = AutotaskSettings.load()
    settings.enabled = False
    settings.save()
    sim.clear_requests()
    code, out, err = run()
    assert code == 2 and "disabled" in err and out == ""
    assert sim.api_call_count() == 0


@pytest.mark.parametrize("mode, code", [("hourly_threshold", 1), ("fail_500", 2)])
def test_command_autotask_failure_exit_codes(sandbox, sim, customer, mode, code):
    svc.map_customer(customer, sandbox_company(sim)["id"])
    sim.inject_fault(entity="Companies", method="POST", mode=mode, times=None)
    exit_code, _, err = run()
    assert exit_code == code and "Autotask mapping check failed" in err
    assert "Secret" not in err and "sim-sandbox" not in err


def test_task_checks_by_primary_key(sandbox, sim, customer, other_customer, mapping_admin):
    _three(sim, customer, other_customer)
    result = check_mappings_task.enqueue(customer_ids=[customer.pk], user_id=mapping_admin.pk)
    assert result.return_value["status"] == "ok"
    assert result.return_value["counts"]["renamed"] == 1 and result.return_value["checked"] == 1
    assert CompanyMapping.objects.get(customer=customer).status == "renamed"
    assert CompanyMapping.objects.get(customer=other_customer).status == "ok"  # not selected


def test_task_started_while_disabled_does_nothing_and_says_why(sandbox, sim, customer):
    svc.map_customer(customer, sandbox_company(sim)["id"])
    settings = AutotaskSettings.load()
    settings.enabled = False
    settings.save()
    sim.clear_requests()
    result = check_mappings_task.enqueue()
    assert result.return_value == {
        "status": "refused",
        "message": svc.mapping_problems()[0],
    }
    assert "disabled" in result.return_value["message"]
    assert sim.api_call_count() == 0


def test_enqueue_waits_for_commit(sandbox, sim, customer, django_capture_on_commit_callbacks):
    svc.map_customer(customer, sandbox_company(sim)["id"])
    sim.clear_requests()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_check_mappings([customer.pk])
    assert sim.api_call_count() == 0 and len(callbacks) == 1
    callbacks[0]()
    assert sim.api_call_count(exclude_zone=True) == 1
