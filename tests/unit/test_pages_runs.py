"""Run Checks, run detail and Job Details: rendering, filters, permissions and the review/ticket writes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def make_job(customer_name="Acme", job_name="Nightly image"):
    customer, _ = Customer.objects.get_or_create(name=customer_name)
    return BackupJob.objects.create(customer=customer, name=job_name, backup_software="Veeam")


def make_run(job, status="error", hours_ago=0, **extra):
    started = T0 - timedelta(hours=hours_ago)
    return Run.objects.create(
        job=job, status=status, started_at=started, finished_at=started + timedelta(minutes=20), **extra
    )


@pytest.fixture
def job(db):
    return make_job()


@pytest.fixture
def failed_run(job):
    return make_run(job, "error", summary="Disk full on repository")


# --- access -------------------------------------------------------------------------------------------


def _page_urls(run):
    return [
        reverse("runs:run_checks"),
        reverse("runs:run_detail", args=[run.pk]),
        reverse("runs:job_detail", args=[run.job_id]),
        reverse("customers:customer_list"),
        reverse("customers:customer_detail", args=[run.job.customer_id]),
    ]


def test_anonymous_is_sent_to_login_from_every_page(client, failed_run):
    for url in _page_urls(failed_run):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_user_without_a_role_gets_403_on_every_page(client, failed_run):
    client.force_login(User.objects.create_user("nobody", password="x"))
    for url in _page_urls(failed_run):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("client_fixture", ["viewer_client", "operator_client"])
def test_every_page_renders_for_both_roles(request, client_fixture, failed_run):
    client = request.getfixturevalue(client_fixture)
    for url in _page_urls(failed_run):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Disk full on repository" in response.content or b"Acme" in response.content


def _writes(run):
    return [
        (reverse("runs:review_runs"), {"runs": [run.pk]}),
        (reverse("runs:run_review", args=[run.pk]), {"reviewed": "1"}),
        (reverse("runs:run_ticket_number", args=[run.pk]), {"manual_ticket_number": "T1"}),
    ]


def test_viewer_gets_403_on_every_write_and_nothing_changes(viewer_client, failed_run):
    for url, data in _writes(failed_run):
        assert viewer_client.post(url, data).status_code == 403, url
    failed_run.refresh_from_db()
    assert failed_run.reviewed_at is None
    assert failed_run.manual_ticket_number == ""


def test_anonymous_write_redirects_to_login_and_changes_nothing(client, failed_run):
    for url, data in _writes(failed_run):
        response = client.post(url, data)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    failed_run.refresh_from_db()
    assert failed_run.reviewed_at is None and failed_run.manual_ticket_number == ""


def test_writes_reject_get(operator_client, failed_run):
    for url, _data in _writes(failed_run):
        assert operator_client.get(url).status_code == 405


def test_writes_need_csrf(operator, failed_run):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    for url, data in _writes(failed_run):
        assert client.post(url, data).status_code == 403
    failed_run.refresh_from_db()
    assert failed_run.reviewed_at is None


# --- Run Checks -----------------------------------------------------------------------------------------


def test_run_checks_lists_unreviewed_attention_runs_newest_first(operator_client, job, operator):
    older = make_run(job, "warning", hours_ago=48, summary="older warning")
    newer = make_run(job, "missed", hours_ago=1, summary="newer missed")
    make_run(job, "success", hours_ago=2, summary="all good")
    make_run(job, "error", hours_ago=3, summary="already handled", reviewed_at=T0, reviewed_by=operator)

    response = operator_client.get(reverse("runs:run_checks"))

    assert [r.pk for r in response.context["runs"]] == [newer.pk, older.pk]
    content = response.content.decode()
    assert "all good" not in content and "already handled" not in content
    # status as text and colour together
    assert '<span class="badge status-badge status-missed">Missed</span>' in content
    assert 'name="runs"' in content and "Mark reviewed" in content


def test_run_checks_shows_a_ticket_number_already_entered(viewer_client, job):
    make_run(job, "error", hours_ago=1, summary="with ticket", manual_ticket_number="T20250310.0042")
    make_run(job, "error", hours_ago=2, summary="without ticket")

    content = viewer_client.get(reverse("runs:run_checks")).content.decode()

    # a colleague may have logged a ticket without marking the run reviewed yet
    assert content.count('class="badge text-bg-light border text-break manual-ticket"') == 1
    assert "T20250310.0042</span>" in content


def test_run_checks_viewer_sees_no_checkboxes_or_review_button(viewer_client, failed_run):
    content = viewer_client.get(reverse("runs:run_checks")).content.decode()
    assert "Disk full on repository" in content
    assert 'name="runs"' not in content
    assert "Mark reviewed" not in content


@pytest.fixture
def mixed_runs(db):
    a = make_job("Alpha Dental", "Exchange backup")
    b = make_job("Beta Legal", "File server")
    return {
        "alpha_error": make_run(a, "error", hours_ago=1, summary="VSS writer failed"),
        "alpha_warning": make_run(a, "warning", hours_ago=30, summary="Retry succeeded"),
        "beta_missed": make_run(b, "missed", hours_ago=2, summary="Job did not start"),
        "beta_old_error": make_run(b, "error", hours_ago=24 * 10, summary="Network path not found"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"customer": "Alpha Dental"}, {"alpha_error", "alpha_warning"}),
        ({"status": "missed"}, {"beta_missed"}),
        ({"q": "vss"}, {"alpha_error"}),  # summary
        ({"q": "file serv"}, {"beta_missed", "beta_old_error"}),  # job name
        ({"q": "beta"}, {"beta_missed", "beta_old_error"}),  # customer name
        ({"date_from": "2025-03-09"}, {"alpha_error", "alpha_warning", "beta_missed"}),
        ({"date_to": "2025-03-08"}, {"beta_old_error"}),
        ({"date_from": "2025-02-28", "date_to": "2025-02-28"}, {"beta_old_error"}),
        ({"status": "error", "customer": "Beta Legal"}, {"beta_old_error"}),
    ],
)
def test_run_checks_filters(operator_client, mixed_runs, params, expected):
    if "customer" in params:
        params = {**params, "customer": Customer.objects.get(name=params["customer"]).pk}
    response = operator_client.get(reverse("runs:run_checks"), params)
    assert response.status_code == 200
    got = {name for name, run in mixed_runs.items() if run in response.context["runs"]}
    assert got == expected


def test_run_checks_invalid_filter_is_reported_not_a_500(operator_client, mixed_runs):
    response = operator_client.get(
        reverse("runs:run_checks"), {"status": "success", "date_from": "not-a-date", "customer": "999999"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"status", "date_from", "customer"}
    assert len(response.context["runs"]) == 4  # invalid filters are ignored


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Amsterdam", "America/New_York"])
@pytest.mark.parametrize("field,value", [("date_to", "9999-12-31"), ("date_from", "0001-01-01")])
def test_run_checks_dates_at_the_calendar_edges_are_reported_not_a_500(
    operator_client, mixed_runs, settings, time_zone, field, value
):
    # The day after 9999-12-31, or midnight of 0001-01-01 in UTC, is outside Python's datetime range.
    settings.TIME_ZONE = time_zone
    response = operator_client.get(reverse("runs:run_checks"), {field: value})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {field}
    assert len(response.context["runs"]) == 4


def test_run_checks_reversed_date_range_is_an_error(operator_client, mixed_runs):
    response = operator_client.get(
        reverse("runs:run_checks"), {"date_from": "2025-03-10", "date_to": "2025-03-01"}
    )
    assert "date_to" in response.context["form"].errors


def test_run_checks_paginates_fifty_per_page_and_keeps_filters(operator_client, job):
    Run.objects.bulk_create(
        Run(job=job, status="error", started_at=T0 - timedelta(hours=i), summary=f"run {i}")
        for i in range(120)
    )
    first = operator_client.get(reverse("runs:run_checks"), {"status": "error"})
    assert len(first.context["runs"]) == 50
    assert first.context["page"].paginator.num_pages == 3
    assert "?status=error&amp;page=2" in first.content.decode()
    last = operator_client.get(reverse("runs:run_checks"), {"status": "error", "page": "3"})
    assert len(last.context["runs"]) == 20
    assert operator_client.get(reverse("runs:run_checks"), {"page": "junk"}).status_code == 200


# --- bulk review ----------------------------------------------------------------------------------------


def test_operator_bulk_marks_runs_reviewed(operator_client, operator, job):
    runs = [make_run(job, "error", hours_ago=i) for i in range(3)]
    response = operator_client.post(
        reverse("runs:review_runs"), {"runs": [runs[0].pk, runs[1].pk], "next": "/?status=error"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/?status=error"
    for run in runs:
        run.refresh_from_db()
    assert runs[0].reviewed_by == operator and runs[0].reviewed_at is not None
    assert runs[1].reviewed_by == operator
    assert runs[2].reviewed_at is None
    page = operator_client.get(reverse("runs:run_checks"))
    assert list(page.context["runs"]) == [runs[2]]


def test_bulk_review_ignores_unsafe_next_and_bad_ids(operator_client, failed_run):
    response = operator_client.post(
        reverse("runs:review_runs"), {"runs": [failed_run.pk], "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("runs:run_checks")
    bad = operator_client.post(reverse("runs:review_runs"), {"runs": ["abc"]})
    assert bad.status_code == 302
    empty = operator_client.post(reverse("runs:review_runs"), {})
    assert empty.status_code == 302


@pytest.mark.parametrize("bad_id", ["99999999999999999999999", "-99999999999999999999999"])
def test_bulk_review_refuses_ids_beyond_the_database_range(operator_client, failed_run, bad_id):
    # Such an id crashed the query (500 on SQLite) instead of being refused like any other bad id.
    response = operator_client.post(reverse("runs:review_runs"), {"runs": [failed_run.pk, bad_id]})
    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == ["Invalid selection."]
    failed_run.refresh_from_db()
    assert failed_run.reviewed_at is None


def test_bulk_review_keeps_the_first_reviewer(operator_client, operator, staff_admin, failed_run):
    failed_run.reviewed_by, failed_run.reviewed_at = staff_admin, T0
    failed_run.save()
    operator_client.post(reverse("runs:review_runs"), {"runs": [failed_run.pk]})
    failed_run.refresh_from_db()
    assert failed_run.reviewed_by == staff_admin and failed_run.reviewed_at == T0


# --- run detail -----------------------------------------------------------------------------------------


def test_run_detail_shows_everything(viewer_client, job, operator):
    run = make_run(
        job,
        "warning",
        summary="2 of 3 VMs",
        details="VM sql01: snapshot failed\nretry ok",
        source_external_id="veeam-123",
        manual_ticket_number="T2025.0042",
        reviewed_by=operator,
        reviewed_at=T0,
    )
    content = viewer_client.get(reverse("runs:run_detail", args=[run.pk])).content.decode()
    for text in [
        "Acme",
        "Nightly image",
        "2 of 3 VMs",
        "VM sql01: snapshot failed",
        "veeam-123",
        "T2025.0042",
        "op",
    ]:
        assert text in content
    assert reverse("runs:job_detail", args=[job.pk]) in content
    assert '<span class="badge status-badge status-warning">Warning</span>' in content


def test_run_detail_viewer_sees_no_edit_controls(viewer_client, failed_run):
    content = viewer_client.get(reverse("runs:run_detail", args=[failed_run.pk])).content.decode()
    assert 'name="manual_ticket_number"' not in content
    assert reverse("runs:run_review", args=[failed_run.pk]) not in content
    assert reverse("runs:run_ticket_number", args=[failed_run.pk]) not in content


def test_run_detail_operator_sees_edit_controls(operator_client, failed_run):
    content = operator_client.get(reverse("runs:run_detail", args=[failed_run.pk])).content.decode()
    assert 'name="manual_ticket_number"' in content
    assert "Mark reviewed" in content


def test_run_detail_404(operator_client, db):
    assert operator_client.get(reverse("runs:run_detail", args=[987654])).status_code == 404


def test_operator_saves_and_clears_manual_ticket_number(operator_client, failed_run):
    url = reverse("runs:run_ticket_number", args=[failed_run.pk])
    response = operator_client.post(url, {"manual_ticket_number": "  T20250310.0007  "})
    assert response.status_code == 302 and response["Location"] == failed_run.get_absolute_url()
    failed_run.refresh_from_db()
    assert failed_run.manual_ticket_number == "T20250310.0007"
    assert "T20250310.0007" in operator_client.get(failed_run.get_absolute_url()).content.decode()

    operator_client.post(url, {"manual_ticket_number": ""})
    failed_run.refresh_from_db()
    assert failed_run.manual_ticket_number == ""


@pytest.mark.parametrize("bad", ["x" * 65, "T1\nT2", "T1\tx", "bell\x07"])
def test_invalid_manual_ticket_number_is_400_and_changes_nothing(operator_client, failed_run, bad):
    failed_run.manual_ticket_number = "KEEP"
    failed_run.save()
    response = operator_client.post(
        reverse("runs:run_ticket_number", args=[failed_run.pk]), {"manual_ticket_number": bad}
    )
    assert response.status_code == 400
    assert response.context["ticket_form"].errors
    assert "is-invalid" in response.content.decode()
    failed_run.refresh_from_db()
    assert failed_run.manual_ticket_number == "KEEP"


def test_ticket_number_save_does_not_undo_a_concurrent_review(operator_client, operator, failed_run):
    # The page was loaded before someone else reviewed the run; saving the ticket must not un-review it.
    Run.objects.filter(pk=failed_run.pk).update(reviewed_by=operator, reviewed_at=T0)
    operator_client.post(
        reverse("runs:run_ticket_number", args=[failed_run.pk]), {"manual_ticket_number": "T9"}
    )
    failed_run.refresh_from_db()
    assert failed_run.reviewed_at == T0 and failed_run.manual_ticket_number == "T9"


def test_operator_reviews_and_unreviews_one_run(operator_client, operator, failed_run):
    url = reverse("runs:run_review", args=[failed_run.pk])
    assert operator_client.post(url, {"reviewed": "1"}).status_code == 302
    failed_run.refresh_from_db()
    assert failed_run.reviewed_by == operator and failed_run.reviewed_at is not None
    assert "Mark not reviewed" in operator_client.get(failed_run.get_absolute_url()).content.decode()

    operator_client.post(url, {"reviewed": "0"})
    failed_run.refresh_from_db()
    assert failed_run.reviewed_by is None and failed_run.reviewed_at is None


def test_review_toggle_rejects_garbage(operator_client, failed_run):
    operator_client.post(reverse("runs:run_review", args=[failed_run.pk]), {"reviewed": "maybe"})
    failed_run.refresh_from_db()
    assert failed_run.reviewed_at is None


# --- Job Details ----------------------------------------------------------------------------------------


def test_job_detail_strip_shows_last_30_runs_oldest_first_with_text(viewer_client, job):
    Run.objects.bulk_create(
        Run(job=job, status="success" if i % 4 else "error", started_at=T0 - timedelta(days=i))
        for i in range(40)
    )
    other = make_job("Other", "Other job")
    make_run(other, "missed", summary="not this job")
    response = viewer_client.get(reverse("runs:job_detail", args=[job.pk]))
    strip = response.context["strip"]
    assert len(strip) == 30
    assert strip[-1].started_at == T0 and strip[0].started_at == T0 - timedelta(days=29)
    content = response.content.decode()
    assert 'aria-label="2025-03-10 22:00: Error"' in content
    assert "Legend" in content and ">Missed</span>" in content
    assert "not this job" not in content
    assert len(response.context["runs"]) == 40


def test_job_detail_paginates_history(viewer_client, job):
    Run.objects.bulk_create(
        Run(job=job, status="success", started_at=T0 - timedelta(days=i)) for i in range(75)
    )
    first = viewer_client.get(reverse("runs:job_detail", args=[job.pk]))
    assert len(first.context["runs"]) == 50
    second = viewer_client.get(reverse("runs:job_detail", args=[job.pk]), {"page": 2})
    assert len(second.context["runs"]) == 25


def test_job_detail_url_is_stable(job):
    assert reverse("runs:job_detail", args=[job.pk]) == f"/jobs/{job.pk}/"
    assert job.get_absolute_url() == f"/jobs/{job.pk}/"
