"""`manage.py autotask_link_manual_tickets` against the simulator: linked / not found / company mismatch,
dry run changes nothing, ≤ 500 numbers per query, refused (zero calls) while disabled."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.autotask.models import AuditEvent, AutotaskTicket, RunTicket
from integrations.autotask.services.linking import link_manual_tickets

from .conftest import api_calls, make_run, map_customer, set_switches


@pytest.fixture
def manual_runs(active, seeded, job):
    """Runs with manual numbers: two real + matching (one typed in lower case), one mismatch, one unknown,
    one free text, and one run that already has a ticket."""
    map_customer(job.customer, seeded[7702]["companyID"])
    other_company = seeded[7704]["ticketNumber"]
    return {
        "linked": make_run(job, 0, manual_ticket_number=seeded[7702]["ticketNumber"]),
        "linked_lower": make_run(job, 1, manual_ticket_number=" " + seeded[7702]["ticketNumber"].lower()),
        "mismatch": make_run(job, 2, manual_ticket_number=other_company),
        "not_found": make_run(job, 3, manual_ticket_number="T20990101.0007"),
        "free_text": make_run(job, 4, manual_ticket_number="Called Bob"),
        "empty": make_run(job, 5),
    }


def _run_command(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("autotask_link_manual_tickets", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def _state():
    return (
        sorted(RunTicket.objects.values_list("run_id", "ticket_id")),
        AutotaskTicket.objects.count(),
        AuditEvent.objects.count(),
    )


def test_dry_run_reports_and_changes_nothing(manual_runs, sim):
    before = _state()
    code, out, _ = _run_command()
    assert code == 0
    assert _state() == before
    assert "Dry run" in out and "1 Autotask query" in out
    assert "Would link: 2" in out
    assert "Company mismatch (would not link): 1" in out
    assert "Not found in Autotask: 1" in out
    assert "Not an Autotask ticket number (skipped): 1" in out
    assert f"run {manual_runs['not_found'].pk}: T20990101.0007" in out
    assert api_calls(sim) == 1
    request = next(r for r in sim.requests if r.authenticated)
    assert (request.method, request.entity) == ("POST", "Tickets")


def test_apply_links_matching_runs_only_and_is_idempotent(manual_runs, sim):
    code, out, _ = _run_command("--apply")
    assert code == 0 and "Applied" in out and "Linked: 2" in out
    linked = dict(RunTicket.objects.values_list("run_id", "ticket__ticket_id"))
    assert linked == {manual_runs["linked"].pk: 7702, manual_runs["linked_lower"].pk: 7702}
    assert AutotaskTicket.objects.count() == 1  # one ticket, two runs
    assert AuditEvent.objects.filter(action="manual_ticket_linked").count() == 2
    manual_runs["linked"].refresh_from_db()
    assert manual_runs["linked"].manual_ticket_number  # the manual number is kept
    # again: nothing left to link
    sim.clear_requests()
    code, out, _ = _run_command("--apply")
    assert "Linked: 0" in out and AutotaskTicket.objects.count() == 1


def test_one_query_per_500_distinct_numbers(active, sim, job):
    from runs.models import Run

    Run.objects.bulk_create(
        [
            Run(
                job=job,
                status="error",
                started_at=make_run(job, 0).started_at,
                manual_ticket_number=f"T20990101.{i:04d}",
            )
            for i in range(1001)
        ]
    )
    report = link_manual_tickets()
    assert report.queries == 3 and api_calls(sim) == 3
    assert len(report.not_found) == 1001
    assert all(r.status == 200 for r in sim.requests if r.authenticated)  # within Autotask's 500 OR limit


def test_refused_while_disabled_zero_calls(manual_runs, sim):
    set_switches(enabled=False)
    before = _state()
    code, _, err = _run_command("--apply")
    assert code == 1 and "disabled" in err
    assert api_calls(sim) == 0 and _state() == before


def test_autotask_failure_exits_2_and_links_nothing(manual_runs, sim):
    sim.inject_fault(entity="Tickets", method="POST", mode="fail_500", times=None)
    code, _, err = _run_command("--apply")
    assert code == 2 and "Nothing was linked" in err
    assert not RunTicket.objects.exists()


def test_report_as_json_shape(manual_runs, sim):
    report = link_manual_tickets()
    assert json.dumps(report.__dict__, default=str)
    assert {r[0] for r in report.linked} == {manual_runs["linked"].pk, manual_runs["linked_lower"].pk}
    assert [r[0] for r in report.company_mismatch] == [manual_runs["mismatch"].pk]
