"""Issue 12.4: list queries never load large columns they do not show; import_runs has the API's limits."""

import io
import json

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backupchecks.admin_hardening import large_fields
from customers.models import Customer
from integrations.autotask.models import AuditEvent
from runs.models import BackupJob, IngestToken, Run
from runs.roles import OPERATOR
from tests.security.conftest import make_user

PROJECT_APPS = {"customers", "runs", "autotask"}


@pytest.fixture
def data(db):
    customer = Customer.objects.create(name="Acme", notes="N" * 5000)
    job = BackupJob.objects.create(customer=customer, name="Nightly")
    for n in range(3):
        Run.objects.create(
            job=job,
            status="error",
            started_at=f"2025-01-2{n}T22:00:00Z",
            source_external_id=f"r{n}",
            details="D" * 100_000,
        )
    AuditEvent.record("settings_changed", user=None, environment="sandbox", message="m", blob="B" * 5000)
    return customer, job


def selected_columns(queries):
    return " ".join(
        query["sql"].split(" FROM ")[0]
        for query in queries
        if query["sql"].lstrip().upper().startswith("SELECT")
    )


def assert_not_loaded(queries, model, names):
    selects = selected_columns(queries)
    for name in names:
        column = model._meta.get_field(name).column
        assert f'"{model._meta.db_table}"."{column}"' not in selects, f"{model.__name__}.{name} loaded"


@pytest.mark.parametrize(
    "url",
    ["/", "/jobs/{job}/", "/customers/", "/customers/{customer}/"],
)
def test_operator_list_pages_do_not_load_run_details(client, data, url):
    customer, job = data
    client.force_login(make_user("lean-op", OPERATOR))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url.format(job=job.pk, customer=customer.pk))
    assert response.status_code == 200
    assert_not_loaded(ctx.captured_queries, Run, ["details"])
    if "customers" not in url:
        assert_not_loaded(ctx.captured_queries, Customer, ["notes"])


def project_admins():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in PROJECT_APPS and model._meta.model_name != "autotasksettings"
    ]


@pytest.mark.parametrize("model,model_admin", project_admins(), ids=lambda v: getattr(v, "__name__", ""))
def test_admin_lists_defer_large_columns_they_do_not_show(client, data, model, model_admin, rf):
    client.force_login(make_user("lean-root", is_staff=True, is_superuser=True))
    request = rf.get("/")
    request.user = make_user("lean-x", is_staff=True, is_superuser=True)
    hidden = large_fields(model, shown=model_admin.get_list_display(request))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
    assert response.status_code == 200
    assert_not_loaded(ctx.captured_queries, model, hidden)


def test_run_admin_change_page_still_shows_details(client, data):
    client.force_login(make_user("lean-root2", is_staff=True, is_superuser=True))
    run = Run.objects.first()
    assert "D" * 1000 in client.get(f"/admin/runs/run/{run.pk}/change/").content.decode()


def item(**overrides):
    return {
        "customer": "Acme",
        "job": "J",
        "status": "error",
        "started_at": "2025-01-31T22:00:00Z",
        "external_id": "e1",
        **overrides,
    }


def test_details_over_the_limit_are_refused_by_the_api_and_import_runs(client, data, settings, tmp_path):
    settings.INGEST_MAX_DETAILS_CHARS = 1000
    from runs import ingest

    ingest._STRING_LIMITS["details"] = (
        settings.INGEST_MAX_DETAILS_CHARS
    )  # read at import: follow the override
    try:
        _, raw = IngestToken.issue("t")
        response = client.post(
            "/api/runs/",
            json.dumps(item(details="x" * 1001)),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "details"
        path = tmp_path / "runs.jsonl"
        path.write_text(json.dumps(item(details="x" * 1001)) + "\n")
        err = io.StringIO()
        with pytest.raises(CommandError):
            call_command("import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
        assert "line 1, details: At most 1000 characters" in err.getvalue()
    finally:
        from django.conf import settings as live

        ingest._STRING_LIMITS["details"] = live.INGEST_MAX_DETAILS_CHARS
    assert Run.objects.filter(job__name="J").count() == 0


def test_import_runs_refuses_a_line_longer_than_the_api_body_limit(data, settings, tmp_path):
    settings.INGEST_MAX_BODY_BYTES = 500
    path = tmp_path / "runs.jsonl"
    path.write_text(
        json.dumps(item(summary="s" * 100))
        + "\n"
        + json.dumps(item(external_id="e2", summary="s" * 480))
        + "\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "line 2: Line is longer than 500 bytes" in err.getvalue()
    assert Run.objects.filter(job__name="J").count() == 0
