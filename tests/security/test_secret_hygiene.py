"""Secret hygiene: one workflow, then a search for the secret and the Tracking Identifier everywhere.

The workflow is a list of steps (`WORKFLOW`); each step drives the site as an admin would and hands its
responses, command output and caught exceptions to the collector. Later phases add their steps (map a
company, create a ticket, resolve it) to `WORKFLOW` — the scan covers them without further changes.

Scanned afterwards: every response of the workflow, every page of the site and the admin as a superuser,
command output, every log record (message, arguments and traceback), exception texts, the admin history
(LogEntry) and the audit log, and a raw dump of every database table. Expected: zero hits — the encrypted
columns hold only ciphertext, so a raw dump does not contain the plain values either.
"""

import contextlib
import io
import logging

from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import connection

from integrations.autotask.admin import AutotaskSettingsAdmin
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AuditEvent
from integrations.autotask.services import connection as autotask_connection
from integrations.autotask.simulator import SANDBOX
from tests.security.test_permission_matrix import PATTERNS, concrete_path
from tests.unit.autotask_settings.conftest import REFRESH_URL, SETTINGS_URL, TEST_URL, form_data

SECRETS = {"API secret": SANDBOX.secret, "Tracking Identifier": SANDBOX.integration_code}


class Collector:
    def __init__(self, client):
        self.client = client
        self.texts = []  # (where, text)

    def add(self, where, text):
        self.texts.append((where, text if isinstance(text, str) else repr(text)))

    def response(self, where, response):
        self.add(where, response.content.decode("utf-8", "replace"))
        for name, value in response.items():
            self.add(f"{where} header {name}", value)
        return response


def run_command(*args):
    """Run a management command; return everything it printed (it exits with its status code)."""
    out = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


# --- the workflow ---------------------------------------------------------------------------------------


def configure(c, sim):
    """Type the credentials, test, refresh reference data, then enable with ticket defaults."""
    typed = {"secret": SANDBOX.secret, "integration_code": SANDBOX.integration_code}
    c.response(
        "save credentials (disabled)",
        c.client.post(SETTINGS_URL, form_data(enabled=None, **typed), follow=True),
    )
    c.response(
        "test connection (typed)",
        c.client.post(
            TEST_URL, {"environment": "sandbox", "username": SANDBOX.username, **typed}, follow=True
        ),
    )
    c.response(
        "refresh reference",
        c.client.post(REFRESH_URL, {"environment": "sandbox", "username": SANDBOX.username}, follow=True),
    )
    c.response("enable", c.client.post(SETTINGS_URL, form_data(), follow=True))


def connection_test(c, sim):
    c.response(
        "test connection (stored)",
        c.client.post(TEST_URL, {"environment": "sandbox", "username": SANDBOX.username}, follow=True),
    )
    c.add("autotask_test_connection --json", run_command("autotask_test_connection", "--json"))


def failing_calls(c, sim):
    """Autotask refuses and fails: wrong secret, a 500, a command that fails."""
    wrong = {"secret": SANDBOX.secret + "-wrong", "integration_code": SANDBOX.integration_code}
    c.response(
        "test connection (wrong secret)",
        c.client.post(
            TEST_URL, {"environment": "sandbox", "username": SANDBOX.username, **wrong}, follow=True
        ),
    )
    sim.inject_fault(entity=None, method=None, mode="fail_500", times=None)
    c.response(
        "test connection (Autotask 500)",
        c.client.post(TEST_URL, {"environment": "sandbox", "username": SANDBOX.username}, follow=True),
    )
    c.add("autotask_test_connection (failing)", run_command("autotask_test_connection", "-v", "2"))
    from integrations.autotask.models import EnvironmentConfig

    try:
        autotask_connection.probe(
            autotask_connection.credentials_for(EnvironmentConfig.for_environment("sandbox"))
        )
    except AutotaskError as exc:
        c.add("exception text", f"{exc!s} {exc!r} {exc.args!r}")
    sim.clear_faults()


def crashes(c, sim, settings, monkeypatch):
    """A 500 during Test connection (typed secrets) and during a save (stored ones), DEBUG true and false."""

    def crash(*args, **kwargs):
        raise RuntimeError(f"boom {args!r} {kwargs!r}")

    monkeypatch.setattr(autotask_connection, "check_connection", crash)
    monkeypatch.setattr(AutotaskSettingsAdmin, "save_model", crash)
    c.client.raise_request_exception = False
    for debug in (True, False):
        settings.DEBUG = debug
        typed = {"secret": SANDBOX.secret, "integration_code": SANDBOX.integration_code}
        c.response(
            f"500 test connection DEBUG={debug}",
            c.client.post(TEST_URL, {"environment": "sandbox", "username": SANDBOX.username, **typed}),
        )
        c.response(f"500 save DEBUG={debug}", c.client.post(SETTINGS_URL, form_data()))
    settings.DEBUG = False
    monkeypatch.undo()
    c.client.raise_request_exception = True


WORKFLOW = [configure, connection_test, failing_calls, crashes]  # later phases: map, create, resolve


# --- the scan -------------------------------------------------------------------------------------------


def crawl(c):
    """Every GET-able page of the site and the admin, as the superuser sees it."""
    from tests.security.conftest import make_user

    c.client.force_login(make_user("hygiene-root", is_staff=True, is_superuser=True))
    objects = objects_for_crawl()
    for key, route in PATTERNS:
        path = concrete_path(key, route, objects)
        response = c.client.get(path, follow=True)
        c.response(f"GET {path}", response)


def objects_for_crawl():
    from django.contrib.auth.models import Group, User

    from customers.models import Customer
    from runs.models import BackupJob, IngestToken, Run

    customer = Customer.objects.get_or_create(name="Acme")[0]
    job = BackupJob.objects.get_or_create(customer=customer, name="Nightly")[0]
    run = Run.objects.filter(job=job).first() or Run.objects.create(
        job=job, status="error", started_at="2025-01-31T22:00:00Z", source_external_id="s1"
    )
    return {
        "customer": customer,
        "job": job,
        "run": Run.objects.get(pk=run.pk),
        "customers_customer": customer,
        "runs_backupjob": job,
        "runs_run": run,
        "runs_ingesttoken": IngestToken.issue("hygiene")[0],
        "auth_user": User.objects.first(),
        "auth_group": Group.objects.first(),
        "autotask_auditevent": AuditEvent.objects.first(),
    }


def raw_database_dump():
    """Every row of every table as the database stores it (encrypted columns stay ciphertext)."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
            rows += [f"{table}: {row!r}" for row in cursor.fetchall()]
    return rows


def test_no_secret_anywhere_after_the_whole_workflow(admin_client, sim, settings, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    c = Collector(admin_client)
    for step in WORKFLOW:
        kwargs = {"settings": settings, "monkeypatch": monkeypatch} if step is crashes else {}
        step(c, sim, **kwargs)
    assert AuditEvent.objects.filter(action="test_connection").exists()  # the workflow really ran
    crawl(c)

    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        c.add(f"log {record.name}", text + repr(record.args))
    for entry in LogEntry.objects.all():
        c.add("admin history", f"{entry.object_repr} {entry.change_message}")
    for event in AuditEvent.objects.all():
        c.add("audit log", f"{event.message} {event.data!r}")
    for row in raw_database_dump():
        c.add("database", row)

    hits = [
        f"{label} in {where}" for where, text in c.texts for label, value in SECRETS.items() if value in text
    ]
    assert len(c.texts) > 200  # pages, logs, rows: the scan covered a lot
    assert hits == []
