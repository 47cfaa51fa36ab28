"""Issue 12.11: invisible and direction-changing characters are refused in every single-line field.

The same characters through every way text gets in: the ingest API, import_runs, the admin forms of
customers, jobs and ingest tokens, the manual ticket number, the Autotask settings username. Nothing is
written. A completeness check fails when a new single-line model field forgets the shared validator.
"""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models

from backupchecks.validators import validate_single_line
from customers.models import Customer
from runs.models import BackupJob, IngestToken, Run
from tests.security.conftest import make_user
from tests.unit.autotask_settings.conftest import SETTINGS_URL

# zero-width space, byte-order mark, right-to-left override, line separator, paragraph separator,
# first-strong isolate, soft hyphen, tab, newline, escape
HOSTILE = ["\u200b", "\ufeff", "\u202e", "\u2028", "\u2029", "\u2068", "\u00ad", "\t", "\n", "\x1b"]

#: multi-line by design (what the sender reports), or not typed by people
NOT_SINGLE_LINE = {
    ("runs", "run", "summary"),
    ("runs", "run", "status"),
    ("runs", "ingesttoken", "prefix"),
    ("runs", "ingesttoken", "token_hash"),
}


def test_every_single_line_model_field_has_the_shared_validator():
    from django.apps import apps

    missing = []
    for app_label in ("customers", "runs"):
        for model in apps.get_app_config(app_label).get_models():
            for field in model._meta.get_fields():
                if not isinstance(field, models.CharField) or isinstance(field, models.TextField):
                    continue
                key = (app_label, model._meta.model_name, field.name)
                if key in NOT_SINGLE_LINE or field.choices:
                    continue
                if validate_single_line not in field.validators:
                    missing.append(".".join(key))
    assert missing == []


@pytest.fixture
def acme(db):
    return Customer.objects.create(name="Acme")


def api_post(client, items):
    _, raw = IngestToken.issue("hostile")
    return client.post(
        "/api/runs/",
        data=json.dumps(items),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def item(**overrides):
    return {
        "customer": "Acme",
        "job": "Nightly",
        "status": "error",
        "started_at": "2025-01-31T22:00:00Z",
        "external_id": "x-1",
        **overrides,
    }


@pytest.mark.parametrize("char", HOSTILE, ids=[f"U+{ord(c):04X}" for c in HOSTILE])
@pytest.mark.parametrize("field", ["job", "customer", "external_id", "backup_software", "schedule"])
def test_ingest_api_refuses(client, acme, char, field):
    value = {
        "job": "Nightly",
        "customer": "Acme",
        "external_id": "x-1",
        "backup_software": "Veeam",
        "schedule": "daily",
    }[field]
    response = api_post(
        client,
        [
            item(),
            item(
                **{field: value[:3] + char + value[3:], "external_id": "x-2"}
                if field != "external_id"
                else {field: "x-" + char + "2"}
            ),
        ],
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["field"] == field and e["index"] == 1 for e in errors), errors
    assert Run.objects.count() == 0 and BackupJob.objects.count() == 0


@pytest.mark.parametrize("char", ["\u200b", "\u202e", "\u2028"])
def test_import_runs_refuses(acme, tmp_path, char):
    path = tmp_path / "runs.jsonl"
    path.write_text(
        json.dumps(item()) + "\n" + json.dumps(item(job="Night" + char + "ly", external_id="x-2")) + "\n"
    )
    with pytest.raises(CommandError):
        call_command("import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert Run.objects.count() == 0


@pytest.fixture
def superuser_client(client, db):
    client.force_login(make_user("text-root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("char", HOSTILE, ids=[f"U+{ord(c):04X}" for c in HOSTILE])
def test_admin_customer_and_token_forms_refuse(superuser_client, char):
    response = superuser_client.post(
        "/admin/customers/customer/add/", {"name": f"Ac{char}me", "is_active": "on"}
    )
    assert response.status_code == 200 and "single_line" not in response.content.decode()
    assert "Must be one line of visible text" in response.content.decode()
    assert not Customer.objects.exists()
    response = superuser_client.post(
        "/admin/runs/ingesttoken/add/", {"name": f"mail{char}er", "is_active": "on"}
    )
    assert "Must be one line of visible text" in response.content.decode()
    assert not IngestToken.objects.exists()


def test_admin_job_form_refuses(superuser_client, acme):
    job = BackupJob.objects.create(customer=acme, name="Nightly")
    response = superuser_client.post(
        f"/admin/runs/backupjob/{job.pk}/change/",
        {"customer": acme.pk, "name": "Night\u202ely", "backup_software": "Veeam\u200b", "is_active": "on"},
    )
    html = response.content.decode()
    assert html.count("Must be one line of visible text") == 2
    job.refresh_from_db()
    assert job.name == "Nightly"


def test_manual_ticket_number_refuses(client, acme):
    from django.contrib.auth.models import Group

    from runs.roles import OPERATOR

    user = make_user("text-op", OPERATOR)
    assert Group.objects.get(name=OPERATOR) in user.groups.all()
    client.force_login(user)
    job = BackupJob.objects.create(customer=acme, name="Nightly")
    run = Run.objects.create(
        job=job, status="error", started_at="2025-01-31T22:00:00Z", source_external_id="x"
    )
    response = client.post(f"/runs/{run.pk}/ticket-number/", {"manual_ticket_number": "T2025\u200b.1"})
    assert response.status_code == 400
    run.refresh_from_db()
    assert run.manual_ticket_number == ""


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\u202e", "\u2028"])
def test_autotask_settings_username_refuses(admin_client, sim, char):
    response = admin_client.post(
        SETTINGS_URL, {"environment": "sandbox", "username": f"api{char}user@example.com"}
    )
    assert response.status_code == 200
    assert "Must be one line of visible text" in response.content.decode()
    from integrations.autotask.models import EnvironmentConfig

    assert EnvironmentConfig.for_environment("sandbox").username == ""


@pytest.mark.parametrize(
    "text", ["Acme GmbH & Co. KG", "Sauvegarde nocturne – serveur", "バックアップ", "Ölz 🙂", "a/b (c) #1"]
)
def test_ordinary_text_in_any_script_is_accepted(text):
    validate_single_line(text)
