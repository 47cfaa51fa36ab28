"""The Django admin for customers, jobs, runs and ingest tokens."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, IngestToken, Run, hash_token

CHANGELISTS = [
    "admin:customers_customer_changelist",
    "admin:runs_backupjob_changelist",
    "admin:runs_run_changelist",
    "admin:runs_ingesttoken_changelist",
]


@pytest.fixture
def admin_client(client, staff_admin):
    client.force_login(staff_admin)
    return client


_external_ids = itertools.count()


def make_runs(count, *, customers=1):
    start = datetime(2025, 3, 1, 22, tzinfo=UTC)
    for c in range(customers):
        customer, _ = Customer.objects.get_or_create(name=f"Customer {chr(ord('A') + c)}")
        job, _ = BackupJob.objects.get_or_create(customer=customer, name="Nightly", backup_software="Veeam")
        Run.objects.bulk_create(
            Run(
                job=job,
                started_at=start - timedelta(days=n),
                status=["success", "warning", "error", "missed"][n % 4],
                source_external_id=f"ext-{next(_external_ids)}",
            )
            for n in range(count)
        )


# --- access ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["admin:index", *CHANGELISTS])
def test_non_staff_users_get_no_admin_access(client, operator, url_name):
    client.force_login(operator)

    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_staff_admin_sees_every_changelist(admin_client, url_name):
    make_runs(3)
    assert admin_client.get(reverse(url_name)).status_code == 200


def test_models_registered_with_search_filters_and_select_related():
    run_admin = admin.site.get_model_admin(Run)
    job_admin = admin.site.get_model_admin(BackupJob)
    customer_admin = admin.site.get_model_admin(Customer)
    # a date list filter, not date_hierarchy (which reads every run's date on each page view)
    assert run_admin.date_hierarchy is None
    assert ("started_at", admin.DateFieldListFilter) in run_admin.list_filter
    assert run_admin.list_select_related and job_admin.list_select_related
    assert run_admin.search_fields and job_admin.search_fields and customer_admin.search_fields
    assert run_admin.list_filter and job_admin.list_filter and customer_admin.list_filter
    assert "job" in run_admin.autocomplete_fields and "customer" in job_admin.autocomplete_fields


# --- constant queries (list_select_related, annotated counts) ---------------------------------------------


def _changelist_queries(client, url_name):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url_name",
    ["admin:runs_run_changelist", "admin:runs_backupjob_changelist", "admin:customers_customer_changelist"],
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, url_name):
    make_runs(2, customers=2)
    few = _changelist_queries(admin_client, url_name)
    make_runs(10, customers=20)
    many = _changelist_queries(admin_client, url_name)
    assert many == few


# --- filters, search, date hierarchy -----------------------------------------------------------------------


def test_run_changelist_search_filter_and_date_hierarchy(admin_client):
    make_runs(8, customers=2)
    url = reverse("admin:runs_run_changelist")

    by_customer = admin_client.get(url, {"q": "Customer B"})
    by_status = admin_client.get(url, {"status__exact": "error"})
    unreviewed = admin_client.get(
        url, {"reviewed": "no", "started_at__year": "2025", "started_at__month": "2"}
    )

    assert {r.job.customer.name for r in by_customer.context["cl"].result_list} == {"Customer B"}
    assert {r.status for r in by_status.context["cl"].result_list} == {"error"}
    assert by_status.context["cl"].result_count == 4
    assert {r.started_at.month for r in unreviewed.context["cl"].result_list} == {2}
    assert unreviewed.context["cl"].result_count == 2 * 7


def test_job_autocomplete_for_run_form(admin_client):
    make_runs(1, customers=2)
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "runs", "model_name": "run", "field_name": "job", "term": "Customer B"},
    )
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Customer B / Nightly"]


def test_external_id_is_read_only_on_an_existing_run(admin_client):
    make_runs(1)
    run = Run.objects.get()
    response = admin_client.get(reverse("admin:runs_run_change", args=[run.pk]))
    assert "source_external_id" not in response.context["adminform"].form.fields


# --- ingest tokens ------------------------------------------------------------------------------------------


def test_adding_a_token_shows_the_raw_token_once_and_stores_only_its_hash(admin_client):
    response = admin_client.post(
        reverse("admin:runs_ingesttoken_add"), {"name": "Veeam mailer", "is_active": "on"}, follow=True
    )

    assert response.status_code == 200
    token = IngestToken.objects.get()
    shown = [str(m) for m in response.context["messages"] if "shown again" in str(m)]
    assert len(shown) == 1
    raw = re.search(r'<code id="new-ingest-token">(bc_[^<]+)</code>', shown[0]).group(1)
    assert raw.startswith("bc_") and len(raw) > 40
    assert raw in response.content.decode()
    # hashed at rest: the raw token is nowhere in the row, and authenticates through the hash
    assert token.token_hash == hash_token(raw) != raw
    assert raw not in {token.name, token.prefix, token.token_hash}
    assert token.prefix == raw[:10]
    assert IngestToken.authenticate(raw) == token

    # never shown again: not on the next page, the list or the change form; the hash is never shown
    for url in [
        reverse("admin:runs_ingesttoken_changelist"),
        reverse("admin:runs_ingesttoken_change", args=[token.pk]),
    ]:
        page = admin_client.get(url)
        html = page.content.decode()
        assert raw not in html
        assert token.token_hash not in html
        assert not [m for m in get_messages(page.wsgi_request) if "shown again" in str(m)]


def test_token_list_shows_name_prefix_active_and_dates(admin_client):
    token, _ = IngestToken.issue("Synology relay")

    html = admin_client.get(reverse("admin:runs_ingesttoken_changelist")).content.decode()

    assert "Synology relay" in html and token.prefix in html
    assert token.token_hash not in html


def test_editing_a_token_keeps_its_hash(admin_client):
    token, raw = IngestToken.issue("old name")

    response = admin_client.post(
        reverse("admin:runs_ingesttoken_change", args=[token.pk]), {"name": "new name"}, follow=True
    )

    assert response.status_code == 200
    token.refresh_from_db()
    assert (token.name, token.is_active) == ("new name", False)
    assert token.token_hash == hash_token(raw)
    assert not [m for m in response.context["messages"] if "shown again" in str(m)]


def test_deactivate_action(admin_client):
    token, raw = IngestToken.issue("to retire")

    admin_client.post(
        reverse("admin:runs_ingesttoken_changelist"),
        {"action": "deactivate", "_selected_action": [token.pk]},
    )

    assert IngestToken.authenticate(raw) is None
