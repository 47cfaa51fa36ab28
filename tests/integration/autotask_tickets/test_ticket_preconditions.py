"""Each precondition refuses with a clear message and zero requests in the simulator's log."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    AutotaskTicket,
    CompanyMapping,
    EnvironmentConfig,
    RunTicket,
    TicketState,
)
from integrations.autotask.services import ActionRefused, tickets

from .conftest import make_run


def _refused(sim, run, code, match):
    sim.clear_requests()
    records = list(AutotaskTicket.objects.values_list("pk", "state", "claimed_at"))
    for verb in (tickets.preview_ticket, tickets.create_ticket_for_run):
        with pytest.raises(ActionRefused, match=match) as exc_info:
            verb(run)
        assert exc_info.value.code == code
    assert sim.requests == [], "a refused action makes zero Autotask requests"
    assert list(AutotaskTicket.objects.values_list("pk", "state", "claimed_at")) == records, "nothing claimed"
    return exc_info.value


def test_disabled(sim, env_config, run):
    settings = AutotaskSettings.load()
    settings.enabled = False
    settings.save()
    _refused(sim, run, "disabled", "integration is disabled")


def test_configuration_problems(sim, env_config, run):
    settings = AutotaskSettings.load()
    settings.base_url = ""
    settings.save()
    _refused(sim, run, "not_configured", "The Backupchecks base URL is not set.")


def test_incomplete_defaults(sim, env_config, run):
    EnvironmentConfig.objects.filter(pk=env_config.pk).update(queue_id=None)
    _refused(sim, run, "not_configured", "Choose a queue")


def test_unmapped_customer(sim, env_config, run):
    CompanyMapping.objects.all().delete()
    _refused(sim, run, "unmapped", "is not mapped to an Autotask company in Sandbox")


@pytest.mark.parametrize("status", ["inactive", "missing", "invalid"])
def test_unusable_mapping(sim, env_config, run, status):
    CompanyMapping.objects.update(status=status)
    _refused(sim, run, "mapping_unusable", "check the mapping")


def test_renamed_mapping_is_usable(sim, env_config, run):
    CompanyMapping.objects.update(status="renamed", previous_name="Old name")
    assert tickets.create_ticket_for_run(run).state == TicketState.CREATED


def test_mapping_of_another_database(sim, env_config, run):
    CompanyMapping.objects.update(database_id=env_config.database_id + 1)
    _refused(sim, run, "mapping_other_tenant", "belongs to Autotask database")


def test_successful_run(sim, env_config, job, mapping):
    run = make_run(job, status="success")
    _refused(sim, run, "status", "this run's status is Success")


def test_run_with_a_ticket_names_its_number(sim, env_config, run):
    record = tickets.create_ticket_for_run(run)
    exc = _refused(sim, run, "already_has_ticket", f"already has Autotask ticket {record.ticket_number}")
    assert record.ticket_number in str(exc)


def test_fresh_pending_claim_names_who_is_creating_it(sim, env_config, run):
    bob = User.objects.create_user("bob")
    ticket = AutotaskTicket.objects.create(
        environment="sandbox",
        database_id=env_config.database_id,
        correlation_key="BC-x",
        state=TicketState.PENDING,
        claimed_by=bob,
        claimed_at=timezone.now(),
    )
    RunTicket.objects.create(run=run, ticket=ticket)
    _refused(sim, run, "being_created", "being created right now by bob")


def test_refusals_are_audited(sim, env_config, job, mapping):
    run = make_run(job, status="success")
    with pytest.raises(ActionRefused):
        tickets.create_ticket_for_run(run)
    event = AuditEvent.objects.get(run=run)
    assert (event.action, event.outcome, event.data["code"]) == ("create_ticket", "refused", "status")
