"""Hostile input, property-based (hypothesis): the ingest API, import_runs and every form.

Properties: never a 500 (or an unexpected exception), every answer is the documented kind, and a refused
request writes nothing (the run/job counts do not move). Example counts are modest for CI time; the
admin list filters have their own property test in test_admin_filters.py.
"""

import io
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from runs.models import BackupJob, IngestToken, Run
from runs.roles import OPERATOR
from tests.security.conftest import make_user
from tests.unit.autotask_settings.conftest import SETTINGS_URL

FIELDS = [
    "customer",
    "job",
    "status",
    "started_at",
    "finished_at",
    "external_id",
    "summary",
    "details",
    "backup_software",
    "job_type",
    "schedule",
]
REQUIRED = {"customer", "job", "status", "started_at", "external_id"}
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\ud800",
            "\u200b",
            "\ufeff",
            "\u202e",
            "\u2028",
            "Acme",
            "A" * 201,
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-14:00",
            "2025-01-31T22:00:00",
            "2025-02-30T22:00:00Z",
            "success",
            "ERROR",
            "<script>alert(1)</script>",
            "'; DROP TABLE runs_run; --",
        ]
    ),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False),
    nasty_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
run_like = st.fixed_dictionaries(
    {
        "customer": st.sampled_from(["Acme", "acme", "Nobody"]) | nasty_text,
        "job": nasty_text,
        "status": nasty_text,
        "started_at": nasty_text | json_scalar,
        "external_id": nasty_text | st.integers(),
    },
    optional={name: json_value for name in FIELDS if name not in REQUIRED} | {"unknown": json_value},
)
payload = st.one_of(run_like, st.lists(run_like, max_size=4), json_value)


def counts():
    return Run.objects.count(), BackupJob.objects.count()


@pytest.fixture
def acme(db):
    return Customer.objects.get_or_create(name="Acme")[0]


@pytest.fixture
def token(db):
    return IngestToken.issue("hostile")[1]


@SETTINGS
@given(body=payload)
def test_ingest_api_never_fails_and_never_half_writes(client, acme, token, body):
    before = counts()
    response = client.post(
        "/api/runs/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 201, 400), response.content[:300]
    data = response.json()
    if response.status_code == 400:
        assert counts() == before
        assert all({"index", "field", "message"} <= set(error) for error in data["errors"])
    else:
        items = body if isinstance(body, list) else [body]
        assert len(data["runs"]) == len(items)
        assert counts()[0] == before[0] + data["created"]


@SETTINGS
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_ingest_api_survives_raw_bytes(client, acme, token, raw):
    before = counts()
    response = client.post(
        "/api/runs/", raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 201, 400, 415)  # 415: an empty body has no content type
    response.json()
    if response.status_code == 400:
        assert counts() == before


@SETTINGS
@given(
    lines=st.lists(
        st.one_of(payload.map(json.dumps), st.binary(max_size=80).map(lambda b: b.decode("latin-1"))),
        max_size=5,
    )
)
def test_import_runs_never_crashes_and_is_all_or_nothing(acme, lines):
    before = counts()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "runs.jsonl"
        path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
        try:
            call_command(
                "import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=io.StringIO()
            )
        except CommandError as exc:
            assert exc.returncode in (1, 2)
            assert counts() == before


# --- every form ---------------------------------------------------------------------------------------------


@pytest.fixture
def operator_client(client, acme):
    client.force_login(make_user("hostile-op", OPERATOR))
    client.raise_request_exception = False
    return client


@pytest.fixture
def run(acme):
    job = BackupJob.objects.get_or_create(customer=acme, name="Nightly")[0]
    return Run.objects.get_or_create(
        job=job,
        source_external_id="h1",
        defaults={"status": "error", "started_at": datetime(2025, 1, 31, 22, tzinfo=UTC)},
    )[0]


# A browser cannot send a lone surrogate (it has no UTF-8 form); everything else goes.
form_value = st.one_of(
    nasty_text.map(lambda text: text.encode("utf-8", "replace").decode("utf-8")),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


@SETTINGS
@given(
    target=st.sampled_from(
        [
            ("get", "/", ["status", "customer", "job", "date_from", "date_to", "q", "page", "software"]),
            ("get", "/customers/", ["q", "page"]),
            ("get", "/jobs/{job}/", ["page"]),
            ("post", "/runs/review/", ["runs", "next"]),
            ("post", "/runs/{run}/review/", ["reviewed", "next"]),
            ("post", "/runs/{run}/ticket-number/", ["manual_ticket_number"]),
            ("post", "/password/", ["old_password", "new_password1", "new_password2"]),
        ]
    ),
    values=st.lists(form_value, min_size=1, max_size=4),
)
def test_operator_forms_never_fail(operator_client, run, target, values):
    method, url, fields = target
    url = url.format(run=run.pk, job=run.job_id)
    data = {field: values[i % len(values)] for i, field in enumerate(fields)}
    response = getattr(operator_client, method)(url, data)
    assert response.status_code in (200, 302, 400), (url, data, response.status_code)


@SETTINGS
@given(
    target=st.sampled_from(
        [
            ("/admin/customers/customer/add/", ["name", "notes"]),
            ("/admin/runs/backupjob/add/", ["customer", "name", "backup_software", "job_type", "schedule"]),
            ("/admin/runs/ingesttoken/add/", ["name"]),
            (
                "/admin/runs/run/add/",
                ["job", "started_at_0", "started_at_1", "status", "summary", "source_external_id"],
            ),
            (
                SETTINGS_URL,
                ["environment", "base_url", "username", "impersonation_resource_id", "queue_id", "enabled"],
            ),
            (
                "/admin/autotask/autotasksettings/test-connection/",
                ["environment", "username", "impersonation_resource_id"],
            ),
        ]
    ),
    values=st.lists(form_value, min_size=1, max_size=6),
)
def test_admin_forms_never_fail(admin_client, sim, acme, target, values):
    url, fields = target
    admin_client.raise_request_exception = False
    data = {field: values[i % len(values)] for i, field in enumerate(fields)}
    response = admin_client.post(url, data)
    assert response.status_code in (200, 302, 400), (url, data, response.status_code)
