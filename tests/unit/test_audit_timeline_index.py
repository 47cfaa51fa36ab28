"""A run's timeline (its own audit events OR those about its ticket) is served by two indexes on both
databases: neither side of the OR reads the whole audit log."""

import re

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from integrations.autotask.models import AuditEvent, AutotaskTicket, TicketState
from integrations.autotask.template_content import TicketExtension
from runs.models import BackupJob, Run


@pytest.fixture
def run_and_ticket(db):
    job = BackupJob.objects.create(customer=Customer.objects.create(name="Acme"), name="Image")
    runs = Run.objects.bulk_create(Run(job=job, status="error", started_at=timezone.now()) for _ in range(20))
    AuditEvent.objects.bulk_create(
        AuditEvent(action="x", environment="sandbox", run=runs[k % 20], data={"ticket_id": 1000 + k % 50})
        for k in range(400)
    )
    ticket = AutotaskTicket(environment="sandbox", database_id=1, state=TicketState.CREATED, ticket_id=1007)
    return runs[3], ticket


def _plan(queryset):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Ask whether the two indexes *can* serve the OR, whatever the statistics: tiny test tables make
            # a sequential scan the cheapest plan, and with statistics left by earlier tests (a one-row
            # estimate) a walk of the whole `at` index with a filter is as cheap as it gets. With plain index
            # scans and sequential scans off, only bitmap scans remain: a BitmapOr when both sides of the OR
            # have an index, and a (disabled, still shown) Seq Scan when one side has none.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        return queryset.explain()


def test_the_timeline_query_reads_two_indexes_never_the_whole_audit_log(run_and_ticket):
    run, ticket = run_and_ticket
    timeline = AuditEvent.objects.filter(TicketExtension.timeline_filter(run, ticket)).order_by("-at", "-id")[
        :101
    ]

    plan = _plan(timeline)

    assert "audit_ticket_idx" in plan, plan
    assert re.search(r"autotask_auditevent_run_id_\w+", plan), plan
    if connection.vendor == "sqlite":
        assert "MULTI-INDEX OR" in plan and not re.search(r"SCAN autotask_auditevent\b(?! USING)", plan), plan
    else:
        assert "BitmapOr" in plan and "Seq Scan" not in plan, plan
    assert len(list(timeline)) == 20 + 8  # its own 20, and the 8 (of other runs) about ticket 1007


def test_without_a_ticket_the_timeline_reads_the_run_index_only(run_and_ticket):
    run, _ticket = run_and_ticket
    plan = _plan(
        AuditEvent.objects.filter(TicketExtension.timeline_filter(run, None)).order_by("-at", "-id")[:101]
    )
    assert re.search(r"autotask_auditevent_run_id_\w+", plan) and "audit_ticket_idx" not in plan, plan
