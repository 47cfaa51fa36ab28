"""Pages at two data sizes with the Autotask integration enabled, every customer mapped and tickets on
runs (issue 14.4). The integration is set up against the in-process simulator (autotask_tickets fixtures)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from customers.models import Customer
from integrations.autotask.models import AuditEvent, AutotaskTicket, CompanyMapping, RunTicket
from runs.models import BackupJob, Run
from tests.integration.autotask_tickets.conftest import env_config, sim  # noqa: F401 - fixtures

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
STATUSES = ["success", "warning", "error", "missed", "success", "success"]


def add_data(config, n_customers, jobs_per_customer, runs_per_job, offset=0):
    """Customers (mapped), jobs and runs; a ticket and an audit event on every 4th attention run; the newest
    two runs of each job stay unreviewed. Returns (customers, jobs)."""
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {offset + i:05d}") for i in range(n_customers)
    )
    CompanyMapping.objects.bulk_create(
        CompanyMapping(
            customer=customer,
            environment=config.environment,
            database_id=config.database_id,
            company_id=100_000 + offset + i,
            company_name=f"Company {offset + i}",
        )
        for i, customer in enumerate(customers)
    )
    jobs = BackupJob.objects.bulk_create(
        BackupJob(customer=c, name=f"Job {j}", backup_software="Veeam")
        for c in customers
        for j in range(jobs_per_customer)
    )
    Run.objects.bulk_create(
        (
            Run(
                job=job,
                status=STATUSES[(k + job.pk) % len(STATUSES)],
                started_at=T0 - timedelta(hours=k),
                summary=f"run {k}",
                reviewed_at=None if k < 2 else T0,
            )
            for job in jobs
            for k in range(runs_per_job)
        ),
        batch_size=2000,
    )
    attention = list(
        Run.objects.filter(job__in=jobs)
        .exclude(status="success")
        .order_by("pk")
        .values_list("pk", "job__customer_id")[::4]
    )
    tickets = AutotaskTicket.objects.bulk_create(
        AutotaskTicket(
            environment=config.environment,
            database_id=config.database_id,
            correlation_key=f"BC-test-{run_id}",
            state="created",
            ticket_id=900_000 + run_id,
            ticket_number=f"T20250101.{run_id:05d}",
            title="Backup failed",
        )
        for run_id, _ in attention
    )
    if tickets and tickets[0].pk is None:
        tickets = list(AutotaskTicket.objects.order_by("-pk")[: len(attention)])[::-1]
    RunTicket.objects.bulk_create(
        RunTicket(run_id=run_id, ticket=ticket)
        for (run_id, _), ticket in zip(attention, tickets, strict=True)
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(action="create_ticket", message="Ticket created", customer_id=customer_id, run_id=run_id)
        for run_id, customer_id in attention
    )
    return customers, jobs


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("root", password="pw-root"))
    return client
