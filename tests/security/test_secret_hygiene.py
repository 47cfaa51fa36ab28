"""Secret hygiene: one workflow, then a search for the secret and the Tracking Identifier everywhere.

The workflow is a list of steps (`WORKFLOW`); each step drives the site as people would (the staff admin
through the settings page and the customer's mapping panel, an Operator through the ticket, resolve and
link pages) and hands its responses, command output and caught exceptions to the collector. Each step
asserts it reached the page or state it meant to (a mapping saved, a ticket in the simulator …), so the
scan really sees those pages. Steps: configure, test connection, failing calls, 500s under DEBUG true and
false (settings page; ticket creation crashing inside the Autotask client), map a customer, preview and
create a ticket, a failing ticket create, resolve it, link an existing ticket (compatibility mode), the
status-sync and mapping-check commands (working and failing).

Scanned afterwards: every response of the workflow, every page of the site and the admin as a superuser,
command output, every log record (message, arguments and traceback), exception texts, the admin history
(LogEntry) and the audit log, and a raw dump of every database table. Expected: zero hits — the encrypted
columns hold only ciphertext, so a raw dump does not contain the plain values either.
"""

import contextlib
import io
import logging

import httpx
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from integrations.autotask.admin import AutotaskSettingsAdmin
from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.models import AuditEvent, AutotaskTicket, CompanyMapping, RunTicket, TicketState
from integrations.autotask.services import connection as autotask_connection
from integrations.autotask.simulator import SANDBOX
from tests.security.test_permission_matrix import PATTERNS, concrete_path
from tests.unit.autotask_settings.conftest import (
    REFRESH_URL,
    SANDBOX_DEFAULTS,
    SETTINGS_URL,
    TEST_URL,
    form_data,
)

SECRETS = {"API secret": SANDBOX.secret, "Tracking Identifier": SANDBOX.integration_code}


class Collector:
    def __init__(self, client):
        self.client = client  # the staff admin (Admin role)
        self.operator = None  # an Operator's client, made by the first step that needs it
        self.state = {}  # objects the steps share: customer, runs
        self.texts = []  # (where, text)

    def add(self, where, text):
        self.texts.append((where, text if isinstance(text, str) else repr(text)))

    def response(self, where, response):
        self.add(where, response.content.decode("utf-8", "replace"))
        for name, value in response.items():
            self.add(f"{where} header {name}", value)
        for _url, _status in getattr(response, "redirect_chain", []):
            self.add(f"{where} redirect", _url)
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
    c.add(
        "autotask_test_connection --json",
        run_command("autotask_test_connection", "--while-disabled", "--json"),
    )


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
    c.add(
        "autotask_test_connection (failing)",
        run_command("autotask_test_connection", "--while-disabled", "-v", "2"),
    )
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


# --- phases 3–6: map, create, resolve, link — as the staff admin and an Operator would ------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


def operator(c):
    """An Operator's logged-in client (created once)."""
    if c.operator is None:
        from runs.roles import OPERATOR
        from tests.security.conftest import make_user

        c.operator = Client()
        c.operator.force_login(make_user("hygiene-operator", OPERATOR))
    return c.operator


def failing_run(c, job_name):
    """A failed run of the workflow's customer (a job of its own, so no earlier open ticket is offered)."""
    from runs.models import BackupJob, Run

    job = BackupJob.objects.get_or_create(customer=c.state["customer"], name=job_name)[0]
    return Run.objects.create(
        job=job,
        status="error",
        started_at="2026-11-29T22:00:00Z",
        finished_at="2026-11-29T23:10:00Z",
        summary="Job failed: the backup target is unreachable",
    )


def sim_ticket(sim, ticket_id):
    return next(t for t in sim.tickets(SANDBOX.database_id) if t["id"] == ticket_id)


def map_company(c, sim):
    """Staff maps a customer from its admin page: search (htmx and plain page), choose, check; a failing search."""
    from customers.models import Customer

    customer = c.state["customer"] = Customer.objects.create(name="Hygiene Dental Group")
    change = reverse("admin:customers_customer_change", args=[customer.pk])
    page = c.response("customer admin (unmapped)", c.client.get(change))
    assert b'id="autotask-company-q"' in page.content
    company = next(x for x in sim.companies(SANDBOX.database_id) if x["id"] and x["isActive"])
    search = reverse("autotask:company_search", args=[customer.pk])
    results = c.response("company search (htmx)", c.client.get(search, {"q": company["companyName"]}, **HTMX))
    assert f'value="{company["id"]}"'.encode() in results.content
    c.response("company search (page)", c.client.get(search, {"q": company["companyName"]}))
    sim.inject_fault(entity="Companies", method=None, mode="fail_500", times=None)
    failed = c.response("company search (Autotask 500)", c.client.get(search, {"q": "Dental"}, **HTMX))
    assert b"HTTP 500" in failed.content, failed.content
    sim.clear_faults()
    c.response(
        "map customer",
        c.client.post(reverse("autotask:map_customer", args=[customer.pk]), {"company_id": company["id"]}),
    )
    assert CompanyMapping.objects.get(customer=customer).company_id == company["id"]
    c.response(
        "check mapping",
        c.client.post(reverse("autotask:check_mapping", args=[customer.pk]), follow=True),
    )
    page = c.response("customer admin (mapped)", c.client.get(change))
    assert b'data-status="ok"' in page.content


def create_ticket(c, sim):
    """An Operator previews the ticket of a failed run (no API call) and creates it."""
    run = c.state["ticketed_run"] = failing_run(c, "Nightly VM backup")
    url = reverse("autotask:create_ticket", args=[run.pk])
    preview = c.response("ticket preview", operator(c).get(url))
    assert b'id="confirm-create-ticket"' in preview.content
    done = c.response("create ticket", operator(c).post(url, follow=True))
    ticket = RunTicket.objects.get(run=run).ticket
    assert ticket.state == TicketState.CREATED
    assert f"Created Autotask ticket {ticket.ticket_number}.".encode() in done.content
    assert sim_ticket(sim, ticket.ticket_id)["ticketNumber"] == ticket.ticket_number
    c.response("run detail (ticket)", operator(c).get(run.get_absolute_url()))


def failing_ticket_create(c, sim):
    """Autotask fails the ticket POST every time (state unknown), then a rate limit and a 500 after the
    write on the retries: the client's retry and the search-first check finish it without a second ticket."""
    run = failing_run(c, "File server backup")
    url = reverse("autotask:create_ticket", args=[run.pk])
    sim.inject_fault(entity="Tickets", method="POST", mode="fail_500", times=None)
    failed = c.response("create ticket (Autotask 500)", operator(c).post(url, follow=True))
    assert "Could not create the Autotask ticket" in said(failed)
    assert RunTicket.objects.get(run=run).ticket.state == TicketState.UNKNOWN
    c.response("run detail (ticket unknown)", operator(c).get(run.get_absolute_url()))
    sim.clear_faults()
    sim.inject_fault(entity="Tickets", method="POST", mode="thread_threshold", times=1)
    done = c.response("create ticket (retry, rate limited once)", operator(c).post(url, follow=True))
    assert "Created Autotask ticket" in said(done)
    run = failing_run(c, "SQL backup")
    url = reverse("autotask:create_ticket", args=[run.pk])
    sim.inject_fault(entity="Tickets", method="POST", mode="commit_then_500", times=None)
    c.response("create ticket (500 after the write)", operator(c).post(url, follow=True))
    sim.clear_faults()
    c.response("create ticket (retry after 500)", operator(c).post(url, follow=True))
    assert RunTicket.objects.get(run=run).ticket.state == TicketState.CREATED


def said(response):
    """The messages shown on the page a followed POST landed on."""
    return " | ".join(m.message for m in response.context["messages"])


def resolve_ticket(c, sim):
    """An Operator opens the resolve page, a first attempt fails in Autotask, the second resolves it."""
    run = c.state["ticketed_run"]
    url = reverse("autotask:resolve_ticket", args=[run.pk])
    page = c.response("resolve page", operator(c).get(url))
    assert page.context["can_submit"], page.content
    sim.inject_fault(entity="TicketNotes", method="POST", mode="fail_500", times=1)
    failed = c.response("resolve (Autotask 500)", operator(c).post(url, {"remark": "NAS back"}, follow=True))
    assert "HTTP 500" in said(failed), said(failed)
    done = c.response("resolve", operator(c).post(url, {"remark": "NAS back online"}, follow=True))
    ticket = RunTicket.objects.get(run=run).ticket
    complete = SANDBOX_DEFAULTS["resolved_status_id"]
    assert sim_ticket(sim, ticket.ticket_id)["status"] == complete, said(done)
    c.response("resolve page (resolved)", operator(c).get(url))


def link_existing_ticket(c, sim):
    """Compatibility mode on (settings page); an Operator looks up a seeded ticket of another company, is
    warned, links it; a lookup of a ticket Autotask does not have."""
    c.response(
        "compatibility mode on", c.client.post(SETTINGS_URL, form_data(compatibility_mode="on"), follow=True)
    )
    seeded = next(
        t
        for t in sim.tickets(SANDBOX.database_id)
        if t["id"] == 7702  # open, seeded by the simulator
    )
    run = failing_run(c, "Exchange backup")
    lookup = reverse("autotask:link_lookup", args=[run.pk])
    missing = c.response(
        "link lookup (no such ticket)", operator(c).post(lookup, {"reference": "T20990101.0001"}, follow=True)
    )
    assert b"Autotask has no ticket T20990101.0001" in missing.content
    page = c.response("link confirm", operator(c).post(lookup, {"reference": seeded["ticketNumber"]}))
    assert page.status_code == 200 and seeded["title"].encode() in page.content
    c.response(
        "link ticket",
        operator(c).post(
            reverse("autotask:link_ticket", args=[run.pk]),
            {"ticket_id": "7702", "allow_company_mismatch": "1"},
            follow=True,
        ),
    )
    assert RunTicket.objects.get(run=run).ticket.ticket_id == 7702


def commands(c, sim):
    """The status-sync and mapping-check commands, working and with Autotask failing."""
    c.add("autotask_sync_tickets", out := run_command("autotask_sync_tickets", "--no-progress", "-v", "2"))
    assert out.strip(), "the sync printed its summary"
    c.add(
        "autotask_check_mappings", out := run_command("autotask_check_mappings", "--no-progress", "-v", "2")
    )
    assert "ok 1" in out, out
    sim.inject_fault(entity=None, method=None, mode="fail_500", times=None)
    c.add(
        "autotask_sync_tickets (500)", out := run_command("autotask_sync_tickets", "--no-progress", "-v", "2")
    )
    assert "failed" in out, out
    c.add("autotask_check_mappings (500)", run_command("autotask_check_mappings", "--no-progress", "-v", "2"))
    sim.clear_faults()


def client_crash(c, sim, settings, monkeypatch):
    """A 500 while creating a ticket that crashes deep in the Autotask client (the request, with its
    credential headers, in the frames' local variables), under DEBUG true and false."""

    def crash(self, request):
        raise RuntimeError(f"transport exploded on {request.method} {request.url}")

    monkeypatch.setattr(httpx.WSGITransport, "handle_request", crash)
    client = operator(c)
    client.raise_request_exception = False
    for debug in (True, False):
        settings.DEBUG = debug
        run = failing_run(c, f"Crash {debug}")
        response = c.response(
            f"500 create ticket DEBUG={debug}", client.post(reverse("autotask:create_ticket", args=[run.pk]))
        )
        assert response.status_code == 500, response.status_code
        # DEBUG=True: Django's technical page, with every frame's local variables, is what the scan reads
        assert (b"Local vars" in response.content) is debug
    settings.DEBUG = False
    monkeypatch.undo()
    client.raise_request_exception = True


WORKFLOW = [
    configure,
    connection_test,
    failing_calls,
    crashes,
    map_company,
    create_ticket,
    failing_ticket_create,
    resolve_ticket,
    link_existing_ticket,
    commands,
    client_crash,
]


# --- the scan -------------------------------------------------------------------------------------------


def crawl(c):
    """Every GET-able page of the site and the admin, as the superuser sees it."""
    from tests.security.conftest import make_user

    c.client.force_login(make_user("hygiene-root", is_staff=True, is_superuser=True))
    objects = objects_for_crawl(c.state)
    for key, route in PATTERNS:
        route = route.replace("<int:customer_pk>", str(objects["customer"].pk))
        path = concrete_path(key, route, objects)
        response = c.client.get(path, follow=True)
        c.response(f"GET {path}", response)


def objects_for_crawl(state):
    """The workflow's mapped customer and its ticketed, resolved run (pages show the most there)."""
    from django.contrib.auth.models import Group, User

    from runs.models import IngestToken, Run

    customer = state["customer"]
    run = state["ticketed_run"]
    job = run.job
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
    autotask_connection.set_transport_factory(  # the client's retry back-off: recorded, not slept
        lambda: httpx.WSGITransport(app=sim), sleep=lambda seconds: None
    )
    c = Collector(admin_client)
    for step in WORKFLOW:
        kwargs = {"settings": settings, "monkeypatch": monkeypatch} if step in (crashes, client_crash) else {}
        step(c, sim, **kwargs)
    assert AuditEvent.objects.filter(action="test_connection").exists()  # the workflow really ran
    assert AutotaskTicket.objects.filter(state=TicketState.CREATED).count() >= 3
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
    assert len(c.texts) > 1500  # pages, logs, rows: the scan covered a lot (about 2,150)
    assert hits == []
    # Issue 14: the API-call log (in the raw dump above, and on the crawled health page) recorded the
    # workflow's requests — and holds no credential, username, query string, header or body.
    from integrations.autotask.models import ApiCall

    calls = list(ApiCall.objects.values())
    assert len(calls) > 10
    logged = repr(calls)
    for value in (*SECRETS.values(), SANDBOX.username, "ApiIntegrationCode", "Secret"):
        assert value not in logged
    assert all("?" not in call["path"] and "://" not in call["path"] for call in calls)
    health_pages = [text for where, text in c.texts if where == "GET /autotask/health/"]
    assert health_pages and "health-calls" in health_pages[0]
