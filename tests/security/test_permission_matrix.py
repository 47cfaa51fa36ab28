"""Permission matrix: every URL pattern × {anonymous, viewer, operator, staff admin, superuser}.

The URL list is generated from the project's URL resolver, so a new URL without a row in
`permission_expectations.py` fails `test_every_url_pattern_has_an_expectation`. Each pattern is requested
with real objects filled in; the outcome must be the table's. Every POST without a CSRF token is refused
(except the token-authenticated API), and every state-changing view refuses GET.
"""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from customers.models import Customer
from runs.models import BackupJob, IngestToken, Run
from tests.security import permission_expectations as table

PARAM = re.compile(r"<(?:(?:int|path|str):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern.name


def url_key(route, namespace, name):
    """The table's key for a pattern: its full name; admin's unnamed patterns get descriptive names."""
    if name:
        return f"{namespace}:{name}" if namespace else name
    if route.endswith("(?P<url>.*)$"):
        return "admin:catch_all"
    match = re.fullmatch(r"admin/(\w+)/(\w+)/<path:object_id>/", route)
    if match:
        return f"admin:{match[1]}_{match[2]}_object"
    return f"{namespace}:?{route}"


def all_patterns():
    return sorted({(url_key(r, ns, n), r) for r, ns, n in walk(get_resolver().url_patterns)})


PATTERNS = all_patterns()


def test_every_url_pattern_has_an_expectation():
    missing = [key for key, route in PATTERNS if table.expected(key) is None]
    assert missing == [], (
        "URLs without a row in tests/security/permission_expectations.py (add one per new URL): "
        + ", ".join(missing)
    )


def test_the_table_has_no_stale_rows():
    keys = {key for key, _ in PATTERNS}
    stale = [
        name
        for name in [*table.EXPECTED, *table.ADMIN_MODEL_EXCEPTIONS, *table.POST_EXPECTED]
        if name not in keys
    ]
    assert stale == []
    assert keys >= table.STATE_CHANGING and keys >= table.CSRF_EXEMPT


@pytest.fixture
def objects(role_users):
    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Nightly")
    run = Run.objects.create(
        job=job, status="error", started_at="2025-01-31T22:00:00Z", source_external_id="m1"
    )
    token, _ = IngestToken.issue("matrix")
    from django.contrib.auth.models import Group

    from integrations.autotask.models import AuditEvent, AutotaskSettings

    AutotaskSettings.load()
    event = AuditEvent.record("settings_changed", user=None, environment="sandbox", message="m")
    from integrations.autotask.models import AutotaskTicket

    ticket = AutotaskTicket.objects.create(
        environment="sandbox", database_id=1, correlation_key="matrix", ticket_id=1, ticket_number="T1"
    )
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    access = {
        "user_agent": "ua",
        "ip_address": "192.0.2.1",
        "username": "x",
        "http_accept": "*/*",
        "path_info": "/login/",
    }
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="runs.tasks.nothing",
        backend_name="default",
        run_after=timezone.now(),
        exception_class_path="",
        traceback="",
    )
    from integrations.autotask.models import BulkItemState, BulkJob, BulkJobItem

    bulk_job = BulkJob.objects.create(action="create", created_by=role_users["operator"])
    BulkJobItem.objects.create(job=bulk_job, run=run, state=BulkItemState.FAILED, retryable=True)
    return {
        "bulk_job": bulk_job,
        "axes_accessattempt": AccessAttempt.objects.create(
            **access, get_data="", post_data="", failures_since_start=1
        ),
        "axes_accesslog": AccessLog.objects.create(**access),
        "axes_accessfailurelog": AccessFailureLog.objects.create(**access),
        "django_tasks_database_dbtaskresult": task,
        "customer": customer,
        "job": job,
        "run": run,
        "customers_customer": customer,
        "runs_backupjob": job,
        "runs_run": run,
        "runs_ingesttoken": token,
        "auth_user": role_users["viewer"],
        "auth_group": Group.objects.first(),
        "autotask_auditevent": event,
        "autotask_autotaskticket": ticket,
    }


def _bulk_job(objects):
    """The objects' bulk job (a suite whose objects have none gets one of the run, by a superuser)."""
    if "bulk_job" not in objects:
        from django.contrib.auth.models import User

        from integrations.autotask.models import BulkJob, BulkJobItem

        job = BulkJob.objects.create(
            action="create", created_by=User.objects.filter(is_superuser=True).first()
        )
        BulkJobItem.objects.create(job=job, run=objects["run"])
        objects["bulk_job"] = job
    return objects["bulk_job"]


def concrete_path(key, route, objects):
    """A requestable path for the pattern, with real objects' ids."""
    if key == "admin:catch_all":
        return "/admin/no-such-page/"
    if key == "admin:app_list":
        return "/admin/runs/"
    if key == "admin:view_on_site":
        customer = objects["customer"]
        return f"/admin/r/{ContentType.objects.get_for_model(Customer).pk}/{customer.pk}/"
    model_key = re.match(
        r"admin:(\w+?_\w+?)_(changelist|add|change|delete|history|object|password_change)$", key
    )

    def value(param):
        if param == "pk" and key.startswith("autotask:bulk_"):
            return _bulk_job(objects).pk
        if param == "pk":
            return {"customers:customer_detail": objects["customer"], "runs:job_detail": objects["job"]}.get(
                key, objects["run"]
            ).pk
        if param == "customer_pk":  # /autotask/customers/<customer_pk>/…
            return objects["customer"].pk
        if model_key:
            model = model_key[1]
            if model == "autotask_autotasksettings":
                return 1
            obj = objects.get(model)
            return obj.pk if obj is not None else 999999  # no such object: the admin redirects
        raise AssertionError(f"no value for <{param}> in {route}")

    return "/" + PARAM.sub(lambda m: str(value(m[1] or m[2])), route)


def outcome(response):
    status = response.status_code
    if status == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return table.ADMIN_LOGIN
        if location.startswith("/login/"):
            return table.LOGIN
        return table.REDIRECT
    return str(status)


@pytest.mark.parametrize("role", table.ROLES)
def test_every_url_answers_each_role_as_the_table_says(client, role_users, objects, role):
    user = role_users[role]
    if user is not None:
        client.force_login(user)
    client.raise_request_exception = False
    wrong = []
    for key, route in PATTERNS:
        expected = table.expected(key)
        if expected is None:
            continue  # reported by test_every_url_pattern_has_an_expectation
        path = concrete_path(key, route, objects)
        got = outcome(client.get(path))
        if got != expected[role]:
            wrong.append(f"{path} ({key}): expected {expected[role]}, got {got}")
    assert wrong == [], "\n".join(wrong)


def test_no_post_without_a_csrf_token(role_users, objects):
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_users["superuser"])
    accepted = []
    for key, route in PATTERNS:
        path = concrete_path(key, route, objects)
        response = client.post(
            path, {"reviewed": "1", "runs": [objects["run"].pk], "manual_ticket_number": "T1"}
        )
        if key in table.CSRF_EXEMPT:
            assert response.status_code == 401  # no token: the API authenticates by bearer token only
        elif response.status_code != 403:
            accepted.append(f"{path} ({key}) → {response.status_code}")
    assert accepted == []
    run = Run.objects.get(pk=objects["run"].pk)
    assert run.reviewed_at is None and run.manual_ticket_number == ""


@pytest.mark.parametrize("role", ["viewer", "operator", "staff_admin", "superuser"])
def test_state_changing_views_refuse_get(client, role_users, objects, role):
    client.force_login(role_users[role])
    for key, route in PATTERNS:
        if key in table.STATE_CHANGING:
            path = concrete_path(key, route, objects)
            response = client.get(path)
            # 405, or sent away first (the admin's pages for non-staff) — never performed (checked below)
            assert response.status_code in (405, 302), path
    assert Run.objects.get(pk=objects["run"].pk).reviewed_at is None
    assert client.get("/").status_code == 200  # GET /logout/ did not log out


def test_role_writes_match_the_roles(client, role_users, objects):
    """The POST side of the matrix for the operator pages: viewers are refused, operators may."""
    run = objects["run"]
    for role, allowed in [("viewer", False), ("operator", True)]:
        client.force_login(role_users[role])
        response = client.post(f"/runs/{run.pk}/ticket-number/", {"manual_ticket_number": f"T-{role}"})
        assert (response.status_code == 302) is allowed, role
        assert (response.status_code == 403) is not allowed, role
    run.refresh_from_db()
    assert run.manual_ticket_number == "T-operator"


@pytest.mark.parametrize("role", table.ROLES)
def test_role_guarded_actions_answer_a_post_as_the_table_says(client, role_users, objects, role):
    """POST (with CSRF passed) to every role-guarded action: viewers are refused every Autotask action,
    mapping is the Admin role's alone — and none of it reaches Autotask (the integration is not enabled)."""
    import httpx

    from integrations.autotask.client import clear_zone_cache
    from integrations.autotask.models import AutotaskTicket, CompanyMapping, RunTicket
    from integrations.autotask.services import connection

    tickets_before = (AutotaskTicket.objects.count(), RunTicket.objects.count())
    sent = []

    def refuse(request):
        sent.append(f"{request.method} {request.url}")
        return httpx.Response(500)

    connection.set_transport_factory(lambda: httpx.MockTransport(refuse))
    clear_zone_cache()
    user = role_users[role]
    if user is not None:
        client.force_login(user)
    routes = dict(PATTERNS)
    assert set(table.POST_EXPECTED) <= set(routes)
    data = {
        "company_id": "1178",
        "groups": [f"{objects['job'].pk}:{objects['run'].pk}"],
        "reference": "T20250131.0001",
        "ticket_id": "7702",
        "remark": "fixed",
    }
    wrong = []
    try:
        for key, expected in table.POST_EXPECTED.items():
            path = concrete_path(key, routes[key], objects)
            got = outcome(client.post(path, data))
            if got != expected[role]:
                wrong.append(f"POST {path} ({key}): expected {expected[role]}, got {got}")
    finally:
        connection.set_transport_factory(None)
        clear_zone_cache()
    assert wrong == [], "\n".join(wrong)
    assert sent == []  # refused before any Autotask request (not configured, not enabled)
    assert not CompanyMapping.objects.exists()
    # nothing created or linked (the `objects` fixture holds one ticket of its own for the admin pages)
    assert (AutotaskTicket.objects.count(), RunTicket.objects.count()) == tickets_before
    if role in ("anonymous", "viewer"):
        assert Run.objects.get(pk=objects["run"].pk).reviewed_at is None
