"""Run Checks' bulk buttons, bulk_start (checked runs and "all N matching"), the progress page and the job
list: who sees what, zero API calls and a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.autotask.models import AutotaskSettings, BulkItemState, BulkJob, BulkJobItem, PacingState
from integrations.autotask.services import budget, bulk
from runs.roles import OPERATOR
from tests.users import make_user

from .conftest import make_jobs

pytestmark = pytest.mark.django_db


def _operator(name="op2"):
    return make_user(name, OPERATOR)


def test_run_checks_shows_the_bulk_buttons_only_while_active(sim, env_config, operator_client):
    make_jobs(env_config, 3)
    html = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert 'id="bulk-create"' in html and 'id="bulk-resolve"' in html
    assert 'id="bulk-link"' not in html  # linking needs compatibility mode
    assert "all 3 runs matching the filter" in html
    AutotaskSettings.objects.filter(pk=1).update(compatibility_mode=True)
    assert 'id="bulk-link"' in operator_client.get(reverse("runs:run_checks")).content.decode()
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    assert 'id="autotask-bulk"' not in operator_client.get(reverse("runs:run_checks")).content.decode()


def test_the_all_matching_label_follows_run_checks_capped_count(
    sim, env_config, operator_client, monkeypatch
):
    from runs.pagination import LeanPaginator

    # Run Checks stops counting at COUNT_LIMIT ("10,000+"); here at 3 so that 5 runs pass it
    monkeypatch.setitem(LeanPaginator.__init__.__kwdefaults__, "count_limit", 3)
    make_jobs(env_config, 5)
    html = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert "all 3+ runs matching the filter" in html
    assert "all 4 runs" not in html


def test_viewers_see_no_bulk_buttons(sim, env_config, viewer_client):
    make_jobs(env_config, 1)
    assert 'id="autotask-bulk"' not in viewer_client.get(reverse("runs:run_checks")).content.decode()


def test_pressing_create_lands_on_the_progress_page(
    sim, env_config, operator_client, django_capture_on_commit_callbacks
):
    runs = make_jobs(env_config, 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("autotask:bulk_start"), {"action": "create", "runs": [r.pk for r in runs], "next": "/"}
        )
    job = BulkJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("autotask:bulk_job", args=[job.pk])
    page = operator_client.get(response["Location"]).content.decode()
    assert page.count('class="bulk-ticket"') == 2
    assert "hx-trigger" not in page  # finished: no more polling


def test_select_all_matching_resolves_the_filter_on_the_server(sim, env_config, operator_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    errors = make_jobs(env_config, 4, status="error")
    warnings = make_jobs(env_config, 3, status="warning", mapped=False)
    response = operator_client.post(
        reverse("autotask:bulk_start"),
        {"action": "create", "select_all_matching": "1", "queue": "status=error", "runs": [warnings[0].pk]},
    )
    assert response.status_code == 302
    job = BulkJob.objects.get()
    assert set(job.items.values_list("run_id", flat=True)) == {r.pk for r in errors}  # not the checked one
    assert job.selection == "All 4 runs matching the filter."


def test_select_all_matching_is_capped_with_a_message(
    sim, env_config, operator_client, settings, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(bulk, "MAX_BULK_RUNS", 3)
    make_jobs(env_config, 5)
    response = operator_client.post(
        reverse("autotask:bulk_start"),
        {"action": "create", "select_all_matching": "1", "queue": ""},
        follow=True,
    )
    assert BulkJob.objects.get().items.count() == 3
    assert "5 runs match the filter; a bulk action takes at most 3" in response.content.decode()


def test_a_refused_start_returns_to_run_checks_with_the_reason(sim, env_config, operator_client):
    response = operator_client.post(
        reverse("autotask:bulk_start"),
        {"action": "create", "runs": [], "next": "/?status=error"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/?status=error"
    assert "Select at least one run." in response.content.decode()
    assert BulkJob.objects.count() == 0


def _job_with_items(user, runs, states=(BulkItemState.DONE,)):
    job = BulkJob.objects.create(action="create", created_by=user, state="running")
    BulkJobItem.objects.bulk_create(
        BulkJobItem(job=job, run=run, position=i, state=states[i % len(states)], message=f"m{i}")
        for i, run in enumerate(runs)
    )
    return job


def test_only_the_creator_and_staff_see_a_job(sim, env_config, operator, client, staff_admin):
    job = _job_with_items(operator, make_jobs(env_config, 1))
    other = _operator()
    client.force_login(other)
    assert client.get(reverse("autotask:bulk_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("autotask:bulk_job_progress", args=[job.pk])).status_code == 404
    assert f"Job {job.pk}" not in client.get(reverse("autotask:bulk_jobs")).content.decode()
    for user in (operator, staff_admin):
        client.force_login(user)
        assert client.get(reverse("autotask:bulk_job", args=[job.pk])).status_code == 200
        assert f"Job {job.pk}<" in client.get(reverse("autotask:bulk_jobs")).content.decode()


def test_a_running_job_polls_its_fragment(sim, env_config, operator_client, operator):
    job = _job_with_items(
        operator, make_jobs(env_config, 2), states=(BulkItemState.DONE, BulkItemState.QUEUED)
    )
    page = operator_client.get(reverse("autotask:bulk_job", args=[job.pk])).content.decode()
    fragment_url = reverse("autotask:bulk_job_progress", args=[job.pk])
    assert f'hx-get="{fragment_url}"' in page and 'hx-trigger="every 2s"' in page
    fragment = operator_client.get(fragment_url).content.decode()
    assert fragment.lstrip().startswith('<div id="bulk-progress"') and 'value="1"' in fragment


@pytest.mark.parametrize(
    "url_name", ["autotask:bulk_job", "autotask:bulk_job_progress", "autotask:bulk_jobs"]
)
def test_pages_make_no_api_call_and_constant_queries(sim, env_config, operator_client, operator, url_name):
    small = _job_with_items(operator, make_jobs(env_config, 10))
    large = _job_with_items(operator, make_jobs(env_config, 300, mapped=False))
    for _ in range(20):
        _job_with_items(operator, make_jobs(env_config, 2, mapped=False))
    sim.clear_requests()
    counts = []
    for job in (small, large):
        args = [] if url_name == "autotask:bulk_jobs" else [job.pk]
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(reverse(url_name, args=args)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert sim.requests == []


def test_the_job_list_has_constant_queries(sim, env_config, operator_client, operator):
    def measure():
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(reverse("autotask:bulk_jobs")).status_code == 200
        return len(queries)

    _job_with_items(operator, make_jobs(env_config, 3))
    few = measure()
    for _ in range(30):
        _job_with_items(operator, make_jobs(env_config, 5, mapped=False))
    assert measure() == few
    assert sim.requests == []


def _pace(env_config, state, reason, resume_in=None):
    """Store the shared pacing state of the Sandbox integration the way the worker's pacer does."""
    now = timezone.now()
    PacingState.objects.update_or_create(
        scope=budget.scope_for(env_config.integration_code),
        defaults={
            "threshold": 10000,
            "read_used": 8300,
            "read_at": now,
            "state": state,
            "reason": reason,
            "resume_at": now + resume_in if resume_in else None,
        },
    )


@pytest.mark.parametrize("url_name", ["autotask:bulk_job", "autotask:bulk_job_progress"])
def test_a_paused_job_says_why_nothing_moves(sim, env_config, operator_client, operator, url_name):
    """hbreak: at 83 % usage the worker paused, but the progress page only showed "4 running" forever; the
    reason (and the next look) lives on the staff-only health page. The job's own page must show it."""
    job = _job_with_items(operator, make_jobs(env_config, 2), states=(BulkItemState.QUEUED,))
    _pace(
        env_config,
        "paused",
        "Paused: Autotask counts about 8,300 of 10,000 API requests (83 %). Resumes automatically when "
        "usage falls; next look at 09:22:33 UTC.",
        timedelta(minutes=1),
    )
    sim.clear_requests()
    page = operator_client.get(reverse(url_name, args=[job.pk])).content.decode()
    assert 'id="bulk-pacing" data-state="paused"' in page
    assert "Paused: Autotask counts about 8,300 of 10,000" in page
    assert page.lower().count("next look at") == 1  # the pacer's reason says it; not repeated
    assert sim.requests == []

    BulkJobItem.objects.filter(job=job).update(state=BulkItemState.DONE)  # finished: no pacing note
    BulkJob.objects.filter(pk=job.pk).update(state="finished")
    assert "bulk-pacing" not in operator_client.get(reverse(url_name, args=[job.pk])).content.decode()


def test_full_speed_shows_no_pacing_note(sim, env_config, operator_client, operator):
    job = _job_with_items(operator, make_jobs(env_config, 1), states=(BulkItemState.QUEUED,))
    _pace(env_config, "full", "")
    assert (
        "bulk-pacing" not in operator_client.get(reverse("autotask:bulk_job", args=[job.pk])).content.decode()
    )
    _pace(env_config, "slowed", "Slowed: Autotask counts about 60 % of its hourly threshold.")
    page = operator_client.get(reverse("autotask:bulk_job", args=[job.pk])).content.decode()
    assert 'id="bulk-pacing" data-state="slowed"' in page and "Slowed: Autotask counts about 60 %" in page


def test_a_queued_job_says_what_it_waits_for(sim, env_config, operator_client, operator):
    """hbreak: with `make run`'s one worker busy on a paced job, the next job showed "Queued" for minutes
    with no word why; with no worker at all it would stay "Queued" forever. The page says what it waits for."""
    earlier = _job_with_items(operator, make_jobs(env_config, 1), states=(BulkItemState.RUNNING,))
    job = _job_with_items(operator, make_jobs(env_config, 1, mapped=False), states=(BulkItemState.QUEUED,))
    BulkJob.objects.filter(pk=job.pk).update(state="queued")
    url = reverse("autotask:bulk_job_progress", args=[job.pk])
    page = operator_client.get(url).content.decode()
    assert 'id="bulk-waiting"' in page and "1 earlier bulk job is not finished yet" in page

    BulkJob.objects.filter(pk=earlier.pk).update(state="finished")  # nothing ahead, just queued: no note
    assert "bulk-waiting" not in operator_client.get(url).content.decode()

    BulkJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    page = operator_client.get(url).content.decode()
    assert "No task worker has taken this job yet" in page and "manage.py db_worker" in page

    BulkJob.objects.filter(pk=job.pk).update(state="running")  # a worker took it
    assert "bulk-waiting" not in operator_client.get(url).content.decode()
    assert sim.requests == []
