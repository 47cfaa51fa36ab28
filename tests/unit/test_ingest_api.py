"""POST /api/runs/: authentication, validation (all-or-nothing), idempotency, limits."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, IngestToken, Run

URL = reverse("api:runs_ingest")


@pytest.fixture
def acme(db):
    return Customer.objects.create(name="Acme")


@pytest.fixture
def raw_token(db):
    _, raw = IngestToken.issue("tests")
    return raw


@pytest.fixture
def post(client, raw_token, acme):
    def _post(payload, *, token=raw_token, content_type="application/json", raw=None):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        body = raw if raw is not None else json.dumps(payload)
        return client.post(URL, data=body, content_type=content_type, headers=headers)

    return _post


def run_item(n=1, **overrides):
    item = {
        "customer": "Acme",
        "job": "Nightly image",
        "backup_software": "Veeam",
        "job_type": "Image",
        "schedule": "daily 22:00",
        "started_at": "2025-01-31T22:00:00Z",
        "finished_at": "2025-01-31T22:40:00+00:00",
        "status": "success",
        "summary": "All good",
        "details": "Processed 3 VMs",
        "external_id": f"veeam-{n}",
    }
    item.update(overrides)
    return item


def counts():
    return Run.objects.count(), BackupJob.objects.count()


# --- happy path ------------------------------------------------------------------------------------------


def test_single_object_creates_job_and_run(post):
    response = post(run_item())

    assert response.status_code == 201
    run = Run.objects.get()
    assert response.json() == {"created": 1, "already_present": 0, "runs": [{"id": run.pk, "created": True}]}
    assert run.status == "success"
    assert run.started_at == datetime(2025, 1, 31, 22, 0, tzinfo=UTC)
    assert run.finished_at == datetime(2025, 1, 31, 22, 40, tzinfo=UTC)
    assert (run.summary, run.details, run.source_external_id) == ("All good", "Processed 3 VMs", "veeam-1")
    job = run.job
    assert (job.customer.name, job.name, job.backup_software, job.job_type, job.schedule) == (
        "Acme",
        "Nightly image",
        "Veeam",
        "Image",
        "daily 22:00",
    )


def test_offsets_are_converted_to_utc_and_status_is_case_insensitive(post):
    response = post(run_item(started_at="2025-01-31T23:00:00+01:00", finished_at=None, status="Warning"))

    assert response.status_code == 201
    run = Run.objects.get()
    assert run.started_at == datetime(2025, 1, 31, 22, 0, tzinfo=UTC)
    assert run.finished_at is None
    assert run.status == "warning"


def test_existing_job_is_reused_and_its_fields_are_not_overwritten(post, acme):
    job = BackupJob.objects.create(customer=acme, name="Nightly image", backup_software="Synology")

    assert post([run_item(1), run_item(2, backup_software="Veeam")]).status_code == 201

    assert BackupJob.objects.count() == 1
    job.refresh_from_db()
    assert job.backup_software == "Synology"
    assert job.runs.count() == 2


def test_repost_is_idempotent(post):
    first = post([run_item(1), run_item(2)])
    assert first.status_code == 201
    ids = [row["id"] for row in first.json()["runs"]]

    again = post([run_item(1), run_item(2, status="error")])

    assert again.status_code == 200
    assert again.json() == {
        "created": 0,
        "already_present": 2,
        "runs": [{"id": ids[0], "created": False}, {"id": ids[1], "created": False}],
    }
    assert counts() == (2, 1)
    assert Run.objects.get(pk=ids[1]).status == "success"  # the stored run is returned unchanged


def test_mixed_batch_reports_created_per_item(post):
    first_id = post(run_item(1)).json()["runs"][0]["id"]

    response = post([run_item(2), run_item(1)])

    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 1 and body["already_present"] == 1
    assert body["runs"][1] == {"id": first_id, "created": False}
    assert body["runs"][0]["created"] is True
    assert Run.objects.count() == 2


def test_same_external_id_in_another_job_is_a_different_run(post):
    response = post([run_item(1), run_item(1, job="Other job")])

    assert response.status_code == 201
    assert counts() == (2, 2)


def test_numeric_external_id_is_accepted_as_string(post):
    assert post(run_item(external_id=4711)).status_code == 201
    assert Run.objects.get().source_external_id == "4711"


def test_batch_of_max_items_is_accepted_with_a_constant_number_of_queries(
    post, django_assert_max_num_queries
):
    items = [run_item(n, job=f"Job {n % 7}") for n in range(500)]

    with django_assert_max_num_queries(15):
        response = post(items)

    assert response.status_code == 201
    assert response.json()["created"] == 500
    assert counts() == (500, 7)


def test_token_last_used_is_updated(post, raw_token):
    assert IngestToken.objects.get().last_used_at is None
    post(run_item())
    assert IngestToken.objects.get().last_used_at is not None


# --- rejected requests: right status, nothing written -----------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "bc_wrong"], ids=["no-header", "empty", "unknown"])
def test_missing_or_wrong_token_is_401(post, token):
    response = post(run_item(), token=token)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert counts() == (0, 0)


def test_basic_auth_scheme_is_401(client, raw_token, acme):
    response = client.post(
        URL,
        data=json.dumps(run_item()),
        content_type="application/json",
        headers={"Authorization": f"Basic {raw_token}"},
    )
    assert response.status_code == 401
    assert counts() == (0, 0)


def test_inactive_token_is_401(post, raw_token):
    IngestToken.objects.update(is_active=False)

    response = post(run_item(), token=raw_token)

    assert response.status_code == 401
    assert counts() == (0, 0)


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_method_is_405(client, raw_token, method):
    response = getattr(client, method)(URL, headers={"Authorization": f"Bearer {raw_token}"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(post, content_type):
    response = post(run_item(), content_type=content_type)
    assert response.status_code == 415
    assert counts() == (0, 0)


def test_json_with_charset_parameter_is_accepted(post):
    assert post(run_item(), content_type="application/json; charset=utf-8").status_code == 201


def test_oversized_body_is_413(post, settings):
    settings.INGEST_MAX_BODY_BYTES = 1000
    items = [run_item(n) for n in range(10)]
    assert len(json.dumps(items)) > 1000

    response = post(items)

    assert response.status_code == 413
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"  \n ",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,
        b'"just a string"',
        b"42",
        b"null",
    ],
    ids=["syntax", "blank", "not-utf8", "deeply-nested", "string", "number", "null"],
)
def test_bad_json_is_400(post, settings, raw):
    settings.INGEST_MAX_BODY_BYTES = 1_000_000
    response = post(None, raw=raw)

    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] is None
    assert counts() == (0, 0)


def test_empty_list_is_400(post):
    response = post([])
    assert response.status_code == 400
    assert "empty" in response.json()["errors"][0]["message"]


def test_more_than_max_items_is_400_and_writes_nothing(post):
    response = post([run_item(n) for n in range(501)])

    assert response.status_code == 400
    assert "At most 500" in response.json()["errors"][0]["message"]
    assert counts() == (0, 0)


def _future(days):
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"status": "failed"}, "status"),
        ({"status": 3}, "status"),
        ({"status": None}, "status"),
        ({"customer": "No such customer"}, "customer"),
        ({"customer": None}, "customer"),
        ({"customer": ""}, "customer"),
        ({"job": "   "}, "job"),
        ({"job": ["list"]}, "job"),
        ({"job": "x" * 201}, "job"),
        ({"summary": "x" * 501}, "summary"),
        ({"details": "NUL \x00 byte"}, "details"),
        ({"external_id": None}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": True}, "external_id"),
        ({"started_at": None}, "started_at"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"started_at": 1738360800}, "started_at"),
        ({"started_at": "2025-01-31T22:00:00"}, "started_at"),  # naive: rejected, not guessed
        ({"started_at": "0001-01-01T00:00:00+01:00"}, "started_at"),  # overflows when converted to UTC
        ({"started_at": "1999-12-31T23:59:59Z"}, "started_at"),
        ({"started_at": _future(2), "finished_at": None}, "started_at"),
        ({"finished_at": _future(3)}, "finished_at"),
        ({"finished_at": "2025-01-31T21:59:59Z"}, "finished_at"),  # before started_at
        ({"finished_at": "2025-01-31T23:30:00+02:00"}, "finished_at"),  # = 21:30 UTC, before started_at
        ({"stauts": "success"}, "stauts"),  # unknown field (typo)
        # nasty inputs: each must be a field error, never a 500 and never a half-written batch
        ({"job": "\ud800"}, "job"),  # unpaired surrogate: valid JSON, not storable as UTF-8
        ({"customer": "\udfff"}, "customer"),
        ({"details": "trace \ud83d"}, "details"),
        ({"summary": "\ud83d"}, "summary"),
        ({"external_id": "id-\udc00"}, "external_id"),
        ({"job": "Nightly\nimage"}, "job"),  # names are one line
        ({"external_id": "a\tb"}, "external_id"),
        ({"schedule": "\x1b[31mdaily"}, "schedule"),  # terminal escape
        ({"customer": {"name": "Acme"}}, "customer"),
        ({"details": {"log": ["a"]}}, "details"),
        ({"external_id": 1e308}, "external_id"),
        ({"external_id": 10**250}, "external_id"),  # too long once made a string
        ({"started_at": "2025-13-45T99:99:99Z"}, "started_at"),
        ({"started_at": "9999-12-31T23:59:59-14:00"}, "started_at"),  # overflows when converted to UTC
        ({"started_at": ["2025-01-31T22:00:00Z"]}, "started_at"),
        ({"finished_at": {"at": "2025-01-31T22:40:00Z"}}, "finished_at"),
        ({"status": ["error"]}, "status"),
        ({"status": "\ud83d"}, "status"),
    ],
)
def test_invalid_field_is_400_with_field_error_and_writes_nothing(post, overrides, field):
    batch = [run_item(1, job="Valid new job"), run_item(2, **overrides)]

    response = post(batch)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"index": 1, "field": field} == {k: errors[0][k] for k in ("index", "field")}
    assert errors[0]["message"]
    assert counts() == (0, 0)  # the valid item's new job was not created either


def test_every_invalid_item_is_reported(post):
    response = post([run_item(1, status="bad"), run_item(2), run_item(3, customer="Nobody", finished_at="x")])

    assert response.status_code == 400
    reported = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert reported == {(0, "status"), (2, "customer"), (2, "finished_at")}


def test_non_object_item_is_400(post):
    response = post([run_item(1), "not an object"])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "__all__", "message": "Each run must be a JSON object."}
    ]
    assert counts() == (0, 0)


def test_duplicate_external_id_in_one_batch_is_400(post):
    response = post([run_item(1), run_item(2), run_item(1, status="error")])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 2, "field": "external_id", "message": "Same customer, job and external_id as index 0."}
    ]
    assert counts() == (0, 0)


def test_invalid_item_after_existing_runs_changes_nothing(post):
    post(run_item(1))
    before = counts()

    response = post([run_item(1), run_item(2, job="New job"), run_item(3, status="nope")])

    assert response.status_code == 400
    assert counts() == before


def test_unicode_names_and_multi_line_summary_are_stored(post, acme):
    Customer.objects.create(name="Bäckerei Müller – 東京")
    item = run_item(
        customer="Bäckerei Müller – 東京", job="Sauvegarde 🚀", summary="2 warnings:\tdisk\nretry"
    )

    assert post(item).status_code == 201

    run = Run.objects.get()
    assert (run.job.customer.name, run.job.name) == ("Bäckerei Müller – 東京", "Sauvegarde 🚀")
    assert run.summary == "2 warnings:\tdisk\nretry"


def test_every_field_null_reports_each_required_field(post):
    response = post([dict.fromkeys(run_item(), None)])

    assert response.status_code == 400
    reported = {error["field"] for error in response.json()["errors"]}
    assert reported == {"customer", "job", "started_at", "status", "external_id"}
    assert counts() == (0, 0)


def test_list_of_non_objects_reports_each_item(post):
    response = post(None, raw=b'[null, 1, "run", [], true, {}]')

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["index"] for e in errors if e["field"] == "__all__"] == [0, 1, 2, 3, 4]
    assert {e["index"] for e in errors} == {0, 1, 2, 3, 4, 5}
    assert counts() == (0, 0)


def test_unpaired_surrogates_in_field_names_and_values_are_echoed_safely(post):
    # JSON escapes for lone surrogates; the response echoes them as the text "\\ud800" (backslash-u).
    raw = (
        b'{"customer": "Acme", "job": "J", "started_at": "2025-01-31T22:00:00Z", "external_id": "x",'
        b' "status": "\\ud83d", "\\ud800": 1}'
    )
    response = post(None, raw=raw)

    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors["\\ud800"] == "Unknown field."
    assert "\\ud83d" in errors["status"]
    assert counts() == (0, 0)


def test_body_of_three_megabytes_is_413_with_the_default_limits(post):
    response = post(run_item(details="x" * 3_000_000))

    assert response.status_code == 413
    assert counts() == (0, 0)


def test_body_with_a_utf8_byte_order_mark_is_accepted(post):
    response = post(None, raw=b"\xef\xbb\xbf" + json.dumps(run_item()).encode())

    assert response.status_code == 201
    assert Run.objects.count() == 1


def test_number_too_long_for_python_is_400_not_500(post):
    response = post(None, raw=b'{"external_id": ' + b"9" * 5000 + b"}")

    assert response.status_code == 400
    assert counts() == (0, 0)
