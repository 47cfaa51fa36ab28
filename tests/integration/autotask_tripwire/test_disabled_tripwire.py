"""The tripwire (phase 6, validation criterion 1): with the integration DISABLED — but fully configured, with
mapped customers, created/linked/pending tickets and compatibility mode on, i.e. everything that could
tempt code into calling Autotask — every page, every action, every admin action and change form, every
management command of the autotask app, every task, every scheduler tick (django-crontask) and every
signal receiver runs while any HTTP request to Autotask fails the test. Zero requests.

Nothing is listed by hand: URL patterns come from the resolver, commands from the app's commands
directory, tasks from `integrations.autotask.tasks`, receivers from the signals they are connected to.
What IS listed by hand is *how to call* each discovered item (`URL_CALLS`, `COMMAND_CALLS`, `TASK_CALLS`,
`SIGNAL_FIRES`), and every discovered item must have an entry: a page, command, task or signal receiver
added later without one fails `test_every_*_has_an_entry` with its name. Admin model pages (changelist,
add, change + re-save, delete confirmation, history) and admin actions are called generically.

The only exceptions (ALLOWED_WHILE_DISABLED) are a staff member's explicit connection test / reference
refresh (the settings page buttons) and the demo set-up, which enables the integration against the
simulator. The command-line forms (`autotask_test_connection`, `autotask_refresh_reference`) refuse while
disabled and are swept here; only their explicit `--while-disabled` flag calls Autotask (tested in
tests/integration/autotask_services/test_commands_refuse_while_disabled.py).
"""

import json
import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command, find_commands
from django.db.models import signals as model_signals
from django.forms import MultiWidget
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import integrations.autotask
from customers.models import Customer
from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import (
    AuditEvent,
    AutotaskSettings,
    AutotaskTicket,
    CompanyMapping,
    EnvironmentConfig,
    RunTicket,
    TicketOrigin,
    TicketState,
)
from integrations.autotask.services import connection
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from runs import signals as run_signals
from runs.models import BackupJob, IngestToken, Run
from tests.autotask_sim import SANDBOX_TICKET_DEFAULTS, connect_tenant

OFFICIAL_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
#: a form, button or htmx element that would POST to one of the integration's operator actions
AUTOTASK_ACTION = re.compile(
    r"""\b(?:action|formaction|hx-post|hx-put|hx-patch|hx-delete)\s*=\s*["']/autotask/"""
)
T0 = datetime(2026, 11, 1, 22, tzinfo=UTC)
APP_DIR = Path(integrations.autotask.__file__).resolve().parent

#: a staff member's explicit actions that may call Autotask while disabled (the documented exceptions)
ALLOWED_WHILE_DISABLED = {
    "admin:autotask_autotasksettings_test_connection": "the settings page's Test connection button",
    "admin:autotask_autotasksettings_refresh_reference": "the settings page's Refresh reference data button",
    "autotask_demo_setup": "configures and ENABLES the integration against the simulator (demo only)",
}
#: discovered items that are not Autotask code paths at all
NOT_APPLICABLE = {
    "autotask_simulator": "serves the Autotask simulator itself until Ctrl-C (it is the fake Autotask)",
    "logout": "ends the session the tripwire uses (no integration code; called last instead)",
    "admin:logout": "ends the session the tripwire uses (no integration code; called last instead)",
}


# --- the tripwire ----------------------------------------------------------------------------------------


class Tripwire:
    """An httpx transport that records and refuses every request."""

    def __init__(self):
        self.requests = []

    def handle(self, request):
        self.requests.append(f"{request.method} {request.url}")
        raise AssertionError(
            f"Autotask request while the integration is disabled: {request.method} {request.url}"
        )

    def transport(self):
        return httpx.MockTransport(self.handle)


@pytest.fixture
def tripwire(monkeypatch, settings):
    wire = Tripwire()
    settings.AUTOTASK_ZONE_INFO_URL = OFFICIAL_ZONE_URL
    clear_zone_cache()  # zone discovery must go through the transport too
    connection.set_transport_factory(wire.transport)
    # A client built without the services' factory would use httpx's network transport: trip that too.
    monkeypatch.setattr(
        httpx.HTTPTransport, "handle_request", lambda self, request: wire.handle(request), raising=True
    )
    yield wire
    connection.set_transport_factory(None)
    clear_zone_cache()


# --- the world: everything that could tempt code into calling Autotask -------------------------------


@pytest.fixture
def world(db, settings, django_capture_on_commit_callbacks):
    """Configured through the simulator (enabled), then DISABLED with compatibility mode on."""
    simulator = AutotaskSimulator()
    settings.AUTOTASK_ZONE_INFO_URL = OFFICIAL_ZONE_URL
    clear_zone_cache()
    connection.set_transport_factory(lambda: httpx.WSGITransport(app=simulator))
    connect_tenant("sandbox", SANDBOX, SANDBOX_TICKET_DEFAULTS)
    connection.set_transport_factory(None)
    clear_zone_cache()
    AutotaskSettings.objects.update_or_create(
        pk=1,
        defaults={"enabled": False, "compatibility_mode": True, "base_url": "https://bc.example.com"},
    )

    admin_user = User.objects.create_superuser("tripwire-admin", password="pw-tripwire")
    operator = User.objects.create_user("tripwire-op", password="pw-op")
    from django.contrib.auth.models import Group

    from runs.roles import OPERATOR

    operator.groups.add(Group.objects.get(name=OPERATOR))
    customer = Customer.objects.create(name="Tripwire Dental")
    CompanyMapping.objects.create(
        customer=customer,
        environment="sandbox",
        database_id=SANDBOX.database_id,
        company_id=1178,
        company_name="X",
    )
    job = BackupJob.objects.create(customer=customer, name="Nightly")
    runs = {
        name: Run.objects.create(job=job, status="error", summary=name, started_at=T0 + timedelta(days=i))
        for i, name in enumerate(["created", "linked", "pending", "unknown", "manual", "plain"])
    }
    Run.objects.filter(pk=runs["manual"].pk).update(manual_ticket_number="T20261101.0001")
    for name, state, origin, ticket_id in (
        ("created", TicketState.CREATED, TicketOrigin.CREATED, 7702),
        ("linked", TicketState.CREATED, TicketOrigin.LINKED, 7703),
        ("pending", TicketState.PENDING, TicketOrigin.CREATED, None),
        ("unknown", TicketState.UNKNOWN, TicketOrigin.CREATED, None),
    ):
        ticket = AutotaskTicket.objects.create(
            environment="sandbox",
            database_id=SANDBOX.database_id,
            correlation_key=f"tripwire-{name}",
            state=state,
            origin=origin,
            ticket_id=ticket_id,
            ticket_number=f"T20261101.{ticket_id}" if ticket_id else "",
            company_id=1178,
            status_id=1,
        )
        RunTicket.objects.create(run=runs[name], ticket=ticket)
        AuditEvent.record("ticket_created", run=runs[name], environment="sandbox", message=name)
    other_customer = Customer.objects.create(name="Tripwire Unmapped")
    _, raw_token = IngestToken.issue("tripwire")
    return SimpleNamespace(
        admin=admin_user,
        operator=operator,
        customer=customer,
        other_customer=other_customer,
        job=job,
        runs=runs,
        run=runs["plain"],
        token=raw_token,
        on_commit=django_capture_on_commit_callbacks,
    )


# --- how to call each discovered URL ---------------------------------------------------------------------


@dataclass
class Call:
    method: str = "get"
    kwargs: object = None  # world -> reverse() kwargs
    data: object = None  # world -> POST data
    as_user: str = "admin"  # "admin" | "operator" | "anonymous"
    extra: dict = field(default_factory=dict)  # headers etc. for the test client
    content_type: str | None = None
    query: str = ""
    path: str | None = None  # for an unnamed pattern (reverse() needs a name)


def _bulk_job(w, failed=False):
    """A bulk create job of the operator's (made while the integration was enabled, before the world was
    disabled): one queued item, or one retryable failed item."""
    from integrations.autotask.models import BulkItemState, BulkJob, BulkJobItem

    key = f"bulk_job_{failed}"
    if not hasattr(w, key):
        job = BulkJob.objects.create(action="create", created_by=w.operator, selection="1 run")
        BulkJobItem.objects.create(
            job=job,
            run=w.runs["plain"],
            state=BulkItemState.FAILED if failed else BulkItemState.QUEUED,
            retryable=failed,
            message="Autotask rate limit" if failed else "",
        )
        setattr(w, key, job)
    return getattr(w, key)


def _run_pk(name="plain"):
    return lambda w: {"pk": w.runs[name].pk}


def _api_body(w):
    return json.dumps(
        {
            "customer": w.customer.name,
            "job": w.job.name,
            "started_at": "2026-11-20T22:00:00Z",
            "status": "error",
            "summary": "from the API",
            "external_id": "tripwire-1",
        }
    )


#: URL name → how to call it (several calls per URL allowed). Generic admin model pages are generated.
URL_CALLS = {
    "favicon.ico": [Call(path="/favicon.ico", as_user="anonymous"), Call(path="/favicon.ico")],
    "login": [Call(as_user="anonymous")],
    "password_change": [
        Call(as_user="operator"),
        Call(),
        Call(  # a wrong old password: the form again, nothing changed
            "post",
            data=lambda w: {
                "old_password": "not-it",
                "new_password1": "Tripwire-New-Pw-9",
                "new_password2": "Tripwire-New-Pw-9",
            },
            as_user="operator",
        ),
    ],
    "password_change_done": [Call(as_user="operator")],
    "api:runs_ingest": [
        Call(
            "post",
            data=_api_body,
            as_user="anonymous",
            content_type="application/json",
            extra={"HTTP_AUTHORIZATION": "__token__"},
        )
    ],
    "runs:run_checks": [
        Call(),
        Call(as_user="operator"),
        Call(query="?status=error&q=Nightly"),
        Call(query="?customer_name=Tripwire&group=job"),
    ],
    "runs:customer_search": [Call(query="?customer_name=Trip", extra={"HTTP_HX_REQUEST": "true"})],
    "runs:review_runs": [
        Call("post", data=lambda w: {"runs": [r.pk for r in w.runs.values()]}, as_user="operator"),
        Call(
            "post", data=lambda w: {"select_all_matching": "1", "queue": "status=error"}, as_user="operator"
        ),
    ],
    "runs:review_groups": [
        Call(
            "post",
            data=lambda w: {"groups": [f"{w.job.pk}:{max(r.pk for r in w.runs.values())}"], "queue": ""},
            as_user="operator",
        ),
        Call("post", data=lambda w: {"select_all_matching": "1", "queue": "group=job"}, as_user="operator"),
    ],
    "runs:run_detail": [
        *(
            Call(kwargs=_run_pk(name))
            for name in ("created", "linked", "pending", "unknown", "manual", "plain")
        ),
        Call(kwargs=_run_pk("linked"), as_user="operator"),
    ],
    "runs:run_ticket_number": [
        Call(
            "post",
            kwargs=_run_pk("plain"),
            data=lambda w: {"manual_ticket_number": "T20261102.0001"},
            as_user="operator",
        )
    ],
    "runs:run_review": [
        Call("post", kwargs=_run_pk("created"), data=lambda w: {"reviewed": "1"}, as_user="operator"),
        Call("post", kwargs=_run_pk("created"), data=lambda w: {"reviewed": "0"}, as_user="operator"),
    ],
    "runs:job_detail": [
        Call(kwargs=lambda w: {"pk": w.job.pk}),
        Call(kwargs=lambda w: {"pk": w.job.pk}, as_user="operator"),
    ],
    "customers:customer_list": [Call(), Call(as_user="operator")],
    "customers:customer_detail": [Call(kwargs=lambda w: {"pk": w.customer.pk}, as_user="operator")],
    # phase 3: the customer's company mapping (staff with autotask.map_company; htmx and plain forms)
    "autotask:company_search": [
        Call(kwargs=lambda w: {"customer_pk": w.customer.pk}, query="?q=Tripwire"),
        Call(
            kwargs=lambda w: {"customer_pk": w.customer.pk},
            query="?q=Dental&include_inactive=1",
            extra={"HTTP_HX_REQUEST": "true"},
        ),
    ],
    "autotask:map_customer": [
        Call("post", kwargs=lambda w: {"customer_pk": w.customer.pk}, data=lambda w: {"company_id": "1178"}),
        Call(
            "post",
            kwargs=lambda w: {"customer_pk": w.other_customer.pk},
            data=lambda w: {"company_id": "1179"},
            extra={"HTTP_HX_REQUEST": "true"},
        ),
    ],
    "autotask:acknowledge_rename": [Call("post", kwargs=lambda w: {"customer_pk": w.customer.pk})],
    "autotask:check_mapping": [Call("post", kwargs=lambda w: {"customer_pk": w.customer.pk})],
    "autotask:unmap_customer": [Call("post", kwargs=lambda w: {"customer_pk": w.customer.pk})],
    # phase 4: the ticket preview and the create action, for every kind of run (and as a plain operator)
    "autotask:create_ticket": [
        *(Call(kwargs=_run_pk(name)) for name in ("plain", "created", "pending", "unknown", "manual")),
        Call(kwargs=_run_pk("plain"), as_user="operator", query="?next=/"),
        *(
            Call("post", kwargs=_run_pk(name), data=lambda w: {"next": "/"}, as_user="operator")
            for name in ("plain", "unknown", "pending", "created")
        ),
        Call(  # the storm-avoidance choice: add the run to the job's open ticket (with an internal note)
            "post",
            kwargs=_run_pk("plain"),
            data=lambda w: {"choice": "link", "open_ticket": w.runs["created"].autotask_link.ticket_id},
            as_user="operator",
        ),
    ],
    # phase 5: the resolve confirmation and the resolve action (created and linked tickets, no ticket)
    "autotask:resolve_ticket": [
        *(Call(kwargs=_run_pk(name)) for name in ("created", "linked", "plain")),
        *(
            Call("post", kwargs=_run_pk(name), data=lambda w: {"remark": "fixed", "next": "/"}, as_user=user)
            for name in ("created", "linked", "plain")
            for user in ("operator", "admin")
        ),
    ],
    # phase 6
    "autotask:link_lookup": [
        Call(
            "post",
            kwargs=_run_pk("plain"),
            data=lambda w: {"reference": "T20261101.0002"},
            as_user="operator",
        )
    ],
    "autotask:link_ticket": [
        Call(
            "post",
            kwargs=_run_pk("plain"),
            data=lambda w: {"ticket_id": "7704", "allow_company_mismatch": "1"},
            as_user="operator",
        )
    ],
    # issue 14: the health page and its "Reconcile now" button (unknown and pending claims)
    "autotask:health": [Call()],
    "autotask:reconcile_claim": [
        Call("post", kwargs=lambda w, name=name: {"pk": w.runs[name].autotask_link.ticket_id})
        for name in ("unknown", "pending", "created")
    ],
    # issue 14: bulk actions (start: every action, checked runs and "all matching"; a queued job's pages)
    "autotask:bulk_start": [
        *(
            Call(
                "post",
                data=lambda w, action=action: {
                    "action": action,
                    "runs": [w.runs["plain"].pk, w.runs["created"].pk],
                    "ticket_reference": "T20261101.7703",
                    "next": "/",
                },
                as_user=user,
            )
            for action in ("create", "resolve", "link")
            for user in ("operator", "admin")
        ),
        Call(
            "post",
            data=lambda w: {
                "action": "create",
                "select_all_matching": "1",
                "queue": "status=error",
                "next": "/",
            },
            as_user="operator",
        ),
        # the group-by-job view: the runs counted in the checked job's row
        *(
            Call(
                "post",
                data=lambda w, action=action: {
                    "action": action,
                    "groups": [f"{w.job.pk}:{max(r.pk for r in w.runs.values())}"],
                    "share_per_job": "1",
                    "ticket_reference": "T20261101.7703",
                    "queue": "group=job",
                    "next": "/?group=job",
                },
                as_user="operator",
            )
            for action in ("create", "resolve", "link")
        ),
    ],
    "autotask:bulk_jobs": [Call(), Call(as_user="operator")],
    "autotask:bulk_job": [
        Call(kwargs=lambda w: {"pk": _bulk_job(w).pk}, as_user="operator"),
        Call(kwargs=lambda w: {"pk": _bulk_job(w).pk}),
    ],
    "autotask:bulk_job_progress": [
        Call(kwargs=lambda w: {"pk": _bulk_job(w).pk}, as_user="operator", extra={"HTTP_HX_REQUEST": "true"})
    ],
    "autotask:bulk_retry": [
        Call("post", kwargs=lambda w: {"pk": _bulk_job(w, failed=True).pk}, as_user="operator")
    ],
    # admin site pages that are not per model
    "admin:index": [Call()],
    "admin:auth_user_password_change": [Call(kwargs=lambda w: {"id": w.operator.pk})],
    "admin:login": [Call(as_user="anonymous")],
    "admin:password_change": [Call()],
    "admin:password_change_done": [Call()],
    "admin:jsi18n": [Call()],
    "admin:autocomplete": [
        Call(query="?app_label=runs&model_name=run&field_name=job&term=Night"),
        Call(query="?app_label=runs&model_name=backupjob&field_name=customer&term=Trip"),
    ],
    "admin:view_on_site": [
        Call(
            kwargs=lambda w: {
                "content_type_id": ContentType.objects.get_for_model(Run).pk,
                "object_id": w.run.pk,
            }
        )
    ],
    "admin:app_list": [
        Call(kwargs=lambda w, label=label: {"app_label": label})
        for label in ("autotask", "runs", "customers", "auth")
    ],
    # the settings page (the generic admin pages below also GET and re-save it): disabling again
    "admin:autotask_autotasksettings_change": [
        Call(kwargs=lambda w: {"object_id": "1"}),
        Call(
            "post",
            kwargs=lambda w: {"object_id": "1"},
            data=lambda w: {
                "environment": "sandbox",
                "base_url": "https://bc.example.com",
                "compatibility_mode": "on",
                "username": SANDBOX.username,
                "secret": "",
                "integration_code": "",
                "impersonation_resource_id": "",
                "queue_id": "29700109",
                "source_id": "71",
                "new_ticket_status_id": "1",
                "warning_priority_id": "2",
                "error_priority_id": "1",
                "missed_priority_id": "",
                "ticket_type_id": "",
                "note_type_id": "18",
                "note_publish_id": "2",
                "resolved_status_id": "5",
            },
        ),
    ],
}

_ADMIN_MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")


def _admin_model_url(name):
    """(model_admin, view) for a generic admin model page name, else None."""
    if not name.startswith("admin:"):
        return None
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix) and name[len(prefix) :] in _ADMIN_MODEL_VIEWS:
            return model_admin, name[len(prefix) :]
    return None


def discovered_urls():
    """{qualified URL name or route: URLPattern} of the whole site (whatever is installed)."""
    found = {}

    def walk(patterns, namespace, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace
                if pattern.namespace:
                    ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, ns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                key = (f"{namespace}:{pattern.name}" if namespace else pattern.name) if pattern.name else None
                found[key or prefix + str(pattern.pattern)] = pattern

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_url_has_an_entry():
    missing = [
        name
        for name in discovered_urls()
        if name not in URL_CALLS
        and name not in ALLOWED_WHILE_DISABLED
        and name not in NOT_APPLICABLE
        and _admin_model_url(name) is None
        and not name.startswith("admin/")  # Django's admin catch-all (redirects/404s only)
    ]
    assert not missing, (
        "These pages are not exercised by the tripwire; add how to call them to URL_CALLS in "
        f"{__file__}: {missing}"
    )


# --- generic admin model pages and actions ---------------------------------------------------------------


def _form_data(form):
    """POST data that re-submits `form` (an unbound admin form) with its current values."""
    data = {}
    for bound in form:
        value = bound.value()
        widget = bound.field.widget
        if value is None:
            continue
        if isinstance(widget, MultiWidget):
            parts = widget.decompress(value)
            for index, (sub, part) in enumerate(zip(widget.widgets, parts, strict=False)):
                data[f"{bound.html_name}_{index}"] = sub.format_value(part) or ""
        elif isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(v) for v in value]
        else:
            formatted = widget.format_value(value)
            data[bound.html_name] = "" if formatted is None else formatted
    return data


def _admin_model_calls(client, world, model_admin, view):
    model = model_admin.model
    info = model._meta.app_label, model._meta.model_name
    responses = []
    obj = (
        model_admin.get_queryset(SimpleNamespace(user=world.admin)).first() if view != "changelist" else None
    )
    if view == "changelist":
        url = reverse("admin:{}_{}_changelist".format(*info))
        responses += [client.get(url), client.get(url + "?q=tripwire")]
        # every admin action on every object (delete_selected only to its confirmation page)
        request = SimpleNamespace(user=world.admin, GET={}, POST={}, method="GET")
        try:
            actions = model_admin.get_actions(request)
        except Exception:  # an admin whose get_actions needs a real request: build one
            from django.test import RequestFactory

            real = RequestFactory().get(url)
            real.user = world.admin
            actions = model_admin.get_actions(real)
        ids = [str(pk) for pk in model_admin.get_queryset(request).values_list("pk", flat=True)]
        for action in actions:
            if ids:
                with world.on_commit(execute=True):
                    responses.append(
                        client.post(url, {"action": action, "_selected_action": ids, "index": 0})
                    )
        return responses
    if view == "add":
        return [client.get(reverse("admin:{}_{}_add".format(*info)))]
    if obj is None:
        return []
    args = [obj.pk]
    if view == "change":
        url = reverse("admin:{}_{}_change".format(*info), args=args)
        page = client.get(url)
        responses.append(page)
        context = page.context
        if (
            page.status_code == 200
            and context
            and context.get("has_change_permission")
            and "adminform" in context
        ):
            data = _form_data(context["adminform"].form)
            for inline in context.get("inline_admin_formsets") or []:
                formset = inline.formset
                data.update(_form_data(formset.management_form))
                for form in formset.forms:
                    data.update(_form_data(form))
            with world.on_commit(execute=True):
                responses.append(client.post(url, data))
        return responses
    return [client.get(reverse(f"admin:{info[0]}_{info[1]}_{view}", args=args))]


# --- management commands, tasks, signals -----------------------------------------------------------------


#: command → the argument lists to run it with (each must exit without an Autotask request)
COMMAND_CALLS = {
    "autotask_link_manual_tickets": [[], ["--apply"]],
    "autotask_check_mappings": [["--no-progress"], ["--no-progress", "--customer", "__customer__"]],
    "autotask_sync_tickets": [["--no-progress"]],
    # refuse while disabled; only --while-disabled (an admin's explicit act) is allowed to call Autotask
    "autotask_test_connection": [[], ["--json"], ["--environment", "production"], ["--from-env"]],
    "autotask_refresh_reference": [[], ["--json"], ["--environment", "sandbox"], ["--from-env"]],
}


def discovered_commands():
    return sorted(find_commands(str(APP_DIR / "management")))


def test_every_command_has_an_entry():
    missing = [
        name
        for name in discovered_commands()
        if name not in COMMAND_CALLS and name not in ALLOWED_WHILE_DISABLED and name not in NOT_APPLICABLE
    ]
    assert not missing, f"Add these autotask commands to COMMAND_CALLS in {__file__}: {missing}"


#: task name (its function's name) → world -> (args, kwargs)
TASK_CALLS = {
    "check_mappings_task": lambda w: ((), {"customer_ids": None, "user_id": w.admin.pk}),
    "sync_ticket_statuses_task": lambda w: ((), {"user_id": w.operator.pk}),
    "run_bulk_job": lambda w: ((_bulk_job(w).pk,), {}),
}


def discovered_tasks():
    from django.tasks import Task

    try:
        from integrations.autotask import tasks
    except ImportError:
        return {}
    return {
        getattr(obj, "name", None) or obj.func.__name__: obj
        for obj in vars(tasks).values()
        if isinstance(obj, Task)
    }


def test_every_task_has_an_entry():
    missing = sorted(set(discovered_tasks()) - set(TASK_CALLS))
    assert not missing, f"Add these autotask tasks to TASK_CALLS (name → args) in {__file__}: {missing}"


def _fire_run_recorded(w):
    run_signals.run_recorded.send(sender=Run, run=w.runs["plain"], source="api")


def _fire_run_reviewed(w):
    runs = list(Run.objects.select_related("job__customer").filter(pk__in=[r.pk for r in w.runs.values()]))
    for reviewed in (True, False):
        run_signals.run_reviewed.send(sender=Run, runs=runs, user=w.operator, reviewed=reviewed)


def _fire_model_saves(w):
    for obj in (w.customer, w.job, *w.runs.values()):
        obj.save()


def _fire_model_deletes(w):
    Run.objects.create(job=w.job, status="error", started_at=T0 - timedelta(days=30)).delete()


#: signal name → how to fire it for real (all its receivers run)
SIGNAL_FIRES = {
    "runs.signals.run_recorded": _fire_run_recorded,
    "runs.signals.run_reviewed": _fire_run_reviewed,
    "pre_save": _fire_model_saves,
    "post_save": _fire_model_saves,
    "pre_delete": _fire_model_deletes,
    "post_delete": _fire_model_deletes,
}


def _receiver_function(entry):
    ref = entry[1]
    return ref() if isinstance(ref, weakref.ReferenceType) else ref


def discovered_signals_with_integration_receivers():
    """{signal name: [receiver names]} for every signal an integrations.* receiver is connected to."""
    candidates = {
        f"runs.signals.{name}": obj for name, obj in vars(run_signals).items() if hasattr(obj, "receivers")
    }
    for module in (model_signals,):
        for name, obj in vars(module).items():
            if hasattr(obj, "receivers") and not name.startswith("_"):
                candidates.setdefault(name, obj)
    from django.contrib.auth import signals as auth_signals
    from django.core import signals as core_signals

    for module in (core_signals, auth_signals):
        for name, obj in vars(module).items():
            if hasattr(obj, "receivers"):
                candidates.setdefault(name, obj)
    found = {}
    for name, signal in candidates.items():
        receivers = [_receiver_function(entry) for entry in signal.receivers]
        ours = [
            f"{r.__module__}.{getattr(r, '__qualname__', r)}"
            for r in receivers
            if r is not None and (getattr(r, "__module__", "") or "").startswith("integrations")
        ]
        if ours:
            found[name] = ours
    return found


def test_every_signal_with_integration_receivers_has_an_entry():
    missing = {
        name: receivers
        for name, receivers in discovered_signals_with_integration_receivers().items()
        if name not in SIGNAL_FIRES
    }
    assert not missing, f"Add how to fire these signals to SIGNAL_FIRES in {__file__}: {missing}"


# --- the tripwire itself ---------------------------------------------------------------------------------


def _client_for(client_factory, world, as_user):
    # A view that trips the wire answers 500 (recorded below) instead of aborting the whole sweep.
    client = client_factory(raise_request_exception=False)
    if as_user == "admin":
        client.force_login(world.admin)
    elif as_user == "operator":
        client.force_login(world.operator)
    return client


def test_nothing_calls_autotask_while_disabled(world, tripwire):
    from django.test import Client

    clients = {name: _client_for(Client, world, name) for name in ("admin", "operator", "anonymous")}
    exercised, failures = [], []

    def check(label, response=None):
        exercised.append(label)
        if tripwire.requests:
            failures.append(f"{label}: {tripwire.requests}")
            tripwire.requests.clear()
        if response is not None and response.status_code >= 500:
            failures.append(f"{label}: HTTP {response.status_code}")
        if (
            response is not None
            and response.status_code == 200
            and response.get("Content-Type", "").startswith("text/html")
            and not label.startswith(("POST /autotask/", "admin:autotask_"))
        ):
            # Autotask actions disappear from every page while disabled: nothing posts to /autotask/.
            html = response.content.decode(errors="replace")
            if AUTOTASK_ACTION.search(html):
                failures.append(f"{label}: offers an Autotask action while the integration is disabled")

    # pages and actions
    for name in discovered_urls():
        if name in ALLOWED_WHILE_DISABLED or name in NOT_APPLICABLE or name.startswith("admin/"):
            continue
        generic = _admin_model_url(name)
        if generic is not None and name not in URL_CALLS:
            model_admin, view = generic
            for response in _admin_model_calls(clients["admin"], world, model_admin, view):
                check(f"{name} ({response.request['REQUEST_METHOD']})", response)
            continue
        for call in URL_CALLS.get(name, []):  # a missing entry fails test_every_url_has_an_entry
            kwargs = call.kwargs(world) if call.kwargs else {}
            url = (call.path or reverse(name, kwargs=kwargs)) + call.query
            client = clients[call.as_user]
            extra = {k: (f"Bearer {world.token}" if v == "__token__" else v) for k, v in call.extra.items()}
            with world.on_commit(execute=True):
                if call.method == "get":
                    response = client.get(url, **extra)
                else:
                    data = call.data(world) if call.data else {}
                    if call.content_type:
                        response = client.post(url, data, content_type=call.content_type, **extra)
                    else:
                        response = client.post(url, data, **extra)
            check(f"{call.method.upper()} {url} as {call.as_user}", response)

    # management commands of the app
    for command, arg_lists in COMMAND_CALLS.items():
        for args in arg_lists:
            try:
                with world.on_commit(execute=True):
                    args = [str(world.customer.pk) if a == "__customer__" else a for a in args]
                    call_command(command, *args, stdout=_Sink(), stderr=_Sink())
            except (SystemExit, AssertionError):
                pass  # the exit code is the command's business; requests are recorded by the wire
            check(f"manage.py {command} {' '.join(args)}")

    # tasks
    for name, task in discovered_tasks().items():
        args, kwargs = TASK_CALLS[name](world)
        try:
            with world.on_commit(execute=True):
                task.enqueue(*args, **kwargs)
        except AssertionError:
            pass  # recorded by the wire
        check(f"task {name}")

    # scheduler ticks: what `manage.py crontask` calls at each scheduled time (Task.enqueue; the test
    # settings' Immediate backend runs the task at once)
    import crontask

    scheduled = [job for job in crontask.scheduler.get_jobs() if job.name in discovered_tasks()]
    assert {job.name for job in scheduled} >= {"check_mappings_task", "sync_ticket_statuses_task"}
    for job in scheduled:
        try:
            with world.on_commit(execute=True):
                job.func(*job.args, **job.kwargs)
        except AssertionError:
            pass  # recorded by the wire
        check(f"scheduled tick {job.name}")

    # signal receivers
    for name, fire in SIGNAL_FIRES.items():
        try:
            with world.on_commit(execute=True):
                fire(world)
        except AssertionError:
            pass  # recorded by the wire
        check(f"signal {name}")

    # the session-ending pages last
    for name in ("admin:logout", "logout"):
        response = clients["admin"].post(reverse(name))
        check(f"POST {name}", response)

    assert not failures, "\n".join(failures)
    assert AutotaskSettings.load().enabled is False  # nothing enabled it on the way
    assert len(exercised) > 40  # the enumeration really ran


class _Sink:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass


def test_tripwire_trips(world, tripwire):
    """The tripwire itself: a request through the services' client is caught and recorded."""
    from integrations.autotask.services.connection import build_client, credentials_for

    with (
        pytest.raises(AssertionError),
        build_client(credentials_for(EnvironmentConfig.for_environment("sandbox"))) as client,
    ):
        client.threshold_information()
    assert tripwire.requests
    tripwire.requests.clear()
    with pytest.raises(AssertionError), httpx.Client() as plain:
        plain.get("https://webservices2.autotask.net/")
    assert tripwire.requests


def test_discovery_sees_receivers_tasks_and_commands_added_later(monkeypatch):
    """The enumeration is what makes the tripwire cover other phases' code: prove it finds new items."""
    import sys
    import types

    from django.tasks import task

    def on_reviewed(sender, **kwargs):
        pass

    def on_migrate(sender, **kwargs):
        pass

    for func in (on_reviewed, on_migrate):
        func.__module__ = "integrations.autotask.receivers"
    run_signals.run_reviewed.connect(on_reviewed, dispatch_uid="tripwire-test-reviewed")
    model_signals.post_migrate.connect(on_migrate, dispatch_uid="tripwire-test-migrate")
    try:
        found = discovered_signals_with_integration_receivers()
        assert any("on_reviewed" in r for r in found["runs.signals.run_reviewed"])
        assert "post_migrate" in found and "post_migrate" not in SIGNAL_FIRES  # would fail loudly
    finally:
        run_signals.run_reviewed.disconnect(dispatch_uid="tripwire-test-reviewed")
        model_signals.post_migrate.disconnect(dispatch_uid="tripwire-test-migrate")

    fake_tasks = types.ModuleType("integrations.autotask.tasks")
    fake_tasks.sync_ticket_statuses = task(_example_task)
    monkeypatch.setitem(sys.modules, "integrations.autotask.tasks", fake_tasks)
    monkeypatch.setattr(integrations.autotask, "tasks", fake_tasks, raising=False)
    assert set(discovered_tasks()) == {"_example_task"}

    assert "autotask_link_manual_tickets" in discovered_commands()
    assert "autotask:link_lookup" in discovered_urls()


def _example_task():
    return None
