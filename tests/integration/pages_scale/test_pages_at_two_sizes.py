"""Every page of a growing table runs the same number of SQL queries at two data sizes (~10× apart), with
the integration enabled, every customer mapped and tickets on the rows — and makes no Autotask request."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from runs.models import Run

from .conftest import add_data


def count_queries(client, url):
    client.get(url)  # warm-up (content types, the session's first touch)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response


OPERATOR_PAGES = {
    "run checks": lambda d: reverse("runs:run_checks"),
    "run checks page 2": lambda d: reverse("runs:run_checks") + "?page=2",
    "run checks by job": lambda d: reverse("runs:run_checks") + "?group=job",
    "run checks one customer": lambda d: reverse("runs:run_checks") + f"?customer={d['customer'].pk}",
    "run checks customer text": lambda d: reverse("runs:run_checks") + "?customer_name=customer+0",
    "run checks status": lambda d: reverse("runs:run_checks") + "?status=error&sort=customer",
    # every filter of the form with the status filter, and each sort order (issue 14.4: hidx)
    "run checks status newest": lambda d: reverse("runs:run_checks") + "?status=error",
    "run checks status + customer": lambda d: (
        reverse("runs:run_checks") + f"?status=error&customer={d['customer'].pk}"
    ),
    "run checks status + dates": lambda d: (
        reverse("runs:run_checks") + "?status=warning&date_from=2025-01-01&date_to=2025-03-10"
    ),
    "run checks status + search": lambda d: reverse("runs:run_checks") + "?status=missed&q=job",
    "run checks sorted by status": lambda d: reverse("runs:run_checks") + "?sort=status",
    "run checks sorted by status reversed": lambda d: reverse("runs:run_checks") + "?sort=-status",
    "run checks sorted by customer": lambda d: reverse("runs:run_checks") + "?sort=customer",
    "run checks by job, status": lambda d: reverse("runs:run_checks") + "?group=job&status=error",
    "run checks by job, worst first": lambda d: reverse("runs:run_checks") + "?group=job&sort=status",
    "run checks by job, customer A-Z": lambda d: reverse("runs:run_checks") + "?group=job&sort=customer",
    "run checks by job, one customer": lambda d: (
        reverse("runs:run_checks") + f"?group=job&customer={d['customer'].pk}&status=error"
    ),
    "job details": lambda d: reverse("runs:job_detail", args=[d["job"].pk]),
    "job details page 2": lambda d: reverse("runs:job_detail", args=[d["job"].pk]) + "?page=2",
    "customer list": lambda d: reverse("customers:customer_list"),
    "customer detail": lambda d: reverse("customers:customer_detail", args=[d["customer"].pk]),
    "customer search": lambda d: reverse("runs:customer_search") + "?customer_name=customer",
}
ADMIN_PAGES = {
    "admin runs": lambda d: reverse("admin:runs_run_changelist"),
    "admin runs filtered": lambda d: (
        reverse("admin:runs_run_changelist") + "?status__exact=error&reviewed=no"
    ),
    "admin jobs": lambda d: reverse("admin:runs_backupjob_changelist"),
    "admin customers": lambda d: reverse("admin:customers_customer_changelist"),
    "admin tickets": lambda d: reverse("admin:autotask_autotaskticket_changelist"),
    "admin audit log": lambda d: reverse("admin:autotask_auditevent_changelist"),
    "admin audit log one customer": lambda d: (
        reverse("admin:autotask_auditevent_changelist") + f"?customer__id__exact={d['customer'].pk}"
    ),
}


def _two_sizes(client, env_config, sim, url_for):
    customers, jobs = add_data(env_config, n_customers=6, jobs_per_customer=2, runs_per_job=60)
    data = {"customer": customers[0], "job": jobs[0]}
    small, _ = count_queries(client, url_for(data))
    runs_before = Run.objects.count()
    add_data(env_config, n_customers=60, jobs_per_customer=2, runs_per_job=60, offset=1000)
    assert Run.objects.count() >= 10 * runs_before
    Run.objects.bulk_create(  # and a longer history for the measured job
        Run(job=jobs[0], status="error", started_at=run.started_at, summary="old", reviewed_at=run.started_at)
        for run in Run.objects.filter(job__in=jobs[1:3])
    )
    large, response = count_queries(client, url_for(data))
    assert sim.api_call_count() == 0
    return small, large, response


@pytest.mark.parametrize("page", OPERATOR_PAGES)
def test_operator_pages_query_count_is_flat(operator_client, env_config, sim, page):
    small, large, _ = _two_sizes(operator_client, env_config, sim, OPERATOR_PAGES[page])
    assert large == small, f"{page}: {small} queries, then {large}"


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_lists_query_count_is_flat(superuser_client, env_config, sim, page):
    small, large, response = _two_sizes(superuser_client, env_config, sim, ADMIN_PAGES[page])
    assert large == small, f"{page}: {small} queries, then {large}"
    # no list filter offers a choice per customer (or per job, run, ticket): 66 customers exist now
    filters = re.findall(
        r'<details data-filter-title="([^"]+)".*?</details>', response.content.decode(), re.S
    )
    blocks = re.findall(r'<details data-filter-title="[^"]+".*?</details>', response.content.decode(), re.S)
    for title, block in zip(filters, blocks, strict=True):
        assert block.count("<li") < 20, f"{page}: the {title} filter lists {block.count('<li')} choices"
