"""Issue hux: the rough edges an operator hit with bulk actions.

- one wording for a mapping state in every action (create, link; bulk and single) — mapping_problem;
- truthful refusals for bad run ids (garbage, zero, negative, huge, never existed, duplicates, empty);
- bulk actions in Run Checks' group-by-job view: the runs counted in the checked rows, one ticket per job
  by default, same caps and refusals, zero API calls and constant queries on the page.
Everything through the real client against the simulator; refusals prove zero requests in its log.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.autotask.models import (
    AutotaskSettings,
    BulkItemState,
    BulkJob,
    CompanyMapping,
    RunTicket,
)
from integrations.autotask.services import ActionRefused, bulk, linking, tickets
from integrations.autotask.services.bulk import start_bulk_action
from integrations.autotask.services.mapping import mapping_problem

from .conftest import make_jobs, make_run, sim_tickets, tickets_by_external_id
from .test_bulk_service import _an_existing_ticket_of, items, start

pytestmark = pytest.mark.django_db


# --- 2. one wording for a mapping state, whatever the action ------------------------------------------------


def _spoil(mapping, state, env_config):
    if state == "unmapped":
        mapping.delete()
    elif state == "other_database":  # shown as "Invalid" by the mapping badge (effective_status)
        CompanyMapping.objects.filter(pk=mapping.pk).update(database_id=env_config.database_id + 1)
    else:
        CompanyMapping.objects.filter(pk=mapping.pk).update(status=state)


@pytest.mark.parametrize("state", ["unmapped", "other_database", "invalid", "inactive", "missing"])
def test_every_action_words_a_mapping_state_the_same(
    sim, env_config, operator, django_capture_on_commit_callbacks, state
):
    AutotaskSettings.objects.filter(pk=1).update(compatibility_mode=True)
    runs = make_jobs(env_config, 4)
    customer = runs[0].job.customer
    number = _an_existing_ticket_of(sim, company_id=1174)  # the mapped company's own ticket
    _spoil(CompanyMapping.objects.get(customer=customer), state, env_config)
    expected = str(
        mapping_problem(customer, CompanyMapping.objects.filter(customer=customer).first(), env_config)
    )
    wording = "is not mapped to an Autotask company" if state == "unmapped" else "is not usable ("
    assert wording in expected
    if state == "other_database":
        assert "is not usable (invalid: it belongs to Autotask database" in expected

    messages = {}
    with pytest.raises(ActionRefused) as refused:
        tickets.create_ticket_for_run(runs[0])
    messages["single create"] = str(refused.value)
    with pytest.raises(ActionRefused) as refused:
        tickets.preview_ticket(runs[0])
    messages["create preview"] = str(refused.value)
    with pytest.raises(ActionRefused) as refused:
        linking.link_ticket_to_run(runs[1], number)
    messages["single link"] = str(refused.value)
    job = start(django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[runs[2].pk])
    messages["bulk create"] = items(job)[0].message
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="link",
        run_ids=[runs[3].pk],
        ticket_reference=number,
    )
    messages["bulk link"] = items(job)[0].message
    for action, message in messages.items():
        assert message.startswith(expected), f"{action}: {message}"
    assert not RunTicket.objects.exists() and sim_tickets(sim) == []


# --- 3. bad run ids: a truthful message, nothing changed ---------------------------------------------------


@pytest.mark.parametrize(
    ("run_ids", "code", "text"),
    [
        (["abc"], "bad_run_id", "“abc” is not a run id"),
        (["-3"], "bad_run_id", "“-3” is not a run id"),
        (["0"], "bad_run_id", "“0” is not a run id"),
        ([str(2**63)], "bad_run_id", "is not a run id"),
        (["1e3"], "bad_run_id", "“1e3” is not a run id"),
        ([], "no_runs", "Select at least one run."),
        (
            ["999999"],
            "no_runs",
            "No run has the id 999999 (deleted since the page was shown, or never existed)",
        ),
        (
            ["999999", "999998", "999999"],
            "no_runs",
            "No run has the ids 999999 and 999998 (deleted since the page was shown, or never existed)",
        ),
    ],
)
def test_bad_run_ids_are_refused_truthfully(sim, env_config, operator, run_ids, code, text):
    make_jobs(env_config, 1)
    sim.clear_requests()
    with pytest.raises(ActionRefused) as refused:
        start_bulk_action(user=operator, action="create", run_ids=run_ids)
    assert refused.value.code == code and text in str(refused.value)
    assert "exists any more" not in str(refused.value)
    assert sim.requests == [] and BulkJob.objects.count() == 0


def test_ids_that_never_existed_next_to_real_ones_are_named_on_the_job(
    sim, env_config, operator, django_capture_on_commit_callbacks
):
    runs = make_jobs(env_config, 1)
    job = start(
        django_capture_on_commit_callbacks,
        user=operator,
        action="create",
        run_ids=[runs[0].pk, runs[0].pk, 999999, str(runs[0].pk)],  # duplicates count once
    )
    assert [i.run_id for i in items(job)] == [runs[0].pk]
    assert job.message == "No run has the id 999999 (deleted since the page was shown, or never existed)."
    assert len(sim_tickets(sim)) == 1


def test_the_bulk_view_shows_the_refusal_and_starts_nothing(sim, env_config, operator_client):
    sim.clear_requests()
    response = operator_client.post(
        reverse("autotask:bulk_start"), {"action": "create", "runs": ["-1"], "next": "/"}, follow=True
    )
    assert "Create tickets: “-1” is not a run id" in response.content.decode()
    assert BulkJob.objects.count() == 0 and sim.requests == []


# --- 4. the group-by-job view -----------------------------------------------------------------------------


def _group_value(run_list):
    return f"{run_list[0].job_id}:{max(r.pk for r in run_list)}"


def test_the_group_view_offers_the_bar_with_one_ticket_per_job_ticked(sim, env_config, operator_client):
    make_jobs(env_config, 2, runs_per_job=2)
    sim.clear_requests()
    html = operator_client.get(reverse("runs:run_checks") + "?group=job").content.decode()
    assert 'id="autotask-bulk"' in html and 'id="bulk-create"' in html and 'id="bulk-resolve"' in html
    assert 'id="bulk-share-per-job" checked' in html
    assert "for every run counted in the checked jobs' rows" in html
    plain = operator_client.get(reverse("runs:run_checks")).content.decode()
    assert 'id="bulk-share-per-job">' in plain  # the flat list keeps one ticket per run by default
    assert sim.requests == []


def test_group_create_takes_the_runs_counted_in_the_row_and_shares_a_ticket_per_job(
    sim, env_config, operator_client, django_capture_on_commit_callbacks
):
    runs = make_jobs(env_config, 3, runs_per_job=3)
    first, second = runs[0:3], runs[3:6]  # the third job is not checked
    shown = [_group_value(first), _group_value(second)]
    late = make_run(first[0].job)  # arrived after the page was shown: not counted in the row
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("autotask:bulk_start"),
            {
                "action": "create",
                "groups": shown,
                "share_per_job": "1",
                "queue": "group=job",
                "next": "/?group=job",
            },
        )
    job = BulkJob.objects.get()
    assert response["Location"] == reverse("autotask:bulk_job", args=[job.pk])
    assert job.share_per_job
    assert {i.run_id for i in items(job)} == {r.pk for r in first + second}
    assert late.pk not in {i.run_id for i in items(job)}
    assert job.selection == "6 runs of 2 checked jobs."
    assert [i.state for i in items(job)] == [BulkItemState.DONE] * 6
    assert len(sim_tickets(sim)) == 2  # one ticket per backup job
    assert len({i.ticket_id for i in items(job)}) == 2


def test_group_selection_follows_the_filter(sim, env_config, operator_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    runs = make_jobs(env_config, 1, runs_per_job=2)
    warning = make_run(runs[0].job, status="warning")
    operator_client.post(
        reverse("autotask:bulk_start"),
        {"action": "create", "groups": [_group_value(runs + [warning])], "queue": "group=job&status=error"},
    )
    assert {i.run_id for i in BulkJob.objects.get().items.all()} == {r.pk for r in runs}


def test_group_resolve_and_link_work_on_the_rows_runs(
    sim, env_config, operator_client, operator, django_capture_on_commit_callbacks
):
    AutotaskSettings.objects.filter(pk=1).update(compatibility_mode=True)
    runs = make_jobs(env_config, 2, runs_per_job=2)
    first, second = runs[:2], runs[2:]
    number = _an_existing_ticket_of(sim, company_id=1174)
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(
            reverse("autotask:bulk_start"),
            {
                "action": "link",
                "groups": [_group_value(second)],
                "ticket_reference": number,
                "queue": "group=job",
            },
        )
    linked = BulkJob.objects.get()
    assert {(i.run_id, i.state) for i in items(linked)} == {(r.pk, BulkItemState.DONE) for r in second}
    start(django_capture_on_commit_callbacks, user=operator, action="create", run_ids=[r.pk for r in first])
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(
            reverse("autotask:bulk_start"),
            {"action": "resolve", "groups": [_group_value(first)], "queue": "group=job"},
        )
    resolved = BulkJob.objects.filter(action="resolve").get()
    assert {(i.run_id, i.state) for i in items(resolved)} == {(r.pk, BulkItemState.DONE) for r in first}


@pytest.mark.parametrize(
    ("groups", "text"),
    [
        ([], "Select at least one job."),
        (["x"], "Invalid selection."),
        (["1:abc"], "Invalid selection."),
        ([f"1:{2**63}"], "Invalid selection."),
        (["999999:999999"], "None of the checked jobs has a run needing review under this filter any more"),
    ],
)
def test_bad_group_selections_are_refused_with_zero_requests(sim, env_config, operator_client, groups, text):
    make_jobs(env_config, 1)
    sim.clear_requests()
    response = operator_client.post(
        reverse("autotask:bulk_start"),
        {"action": "create", "groups": groups, "queue": "group=job", "next": "/?group=job"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/?group=job"
    assert text in response.content.decode()
    assert BulkJob.objects.count() == 0 and sim.requests == []


def test_group_selection_over_the_cap_is_refused(sim, env_config, operator_client, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_BULK_RUNS", 3)
    runs = make_jobs(env_config, 2, runs_per_job=2)
    sim.clear_requests()
    response = operator_client.post(
        reverse("autotask:bulk_start"),
        {
            "action": "create",
            "groups": [_group_value(runs[:2]), _group_value(runs[2:])],
            "queue": "group=job",
        },
        follow=True,
    )
    assert "A bulk action takes at most 3 runs; 4 were selected." in response.content.decode()
    assert BulkJob.objects.count() == 0 and sim.requests == []


def test_group_select_all_matching_takes_every_run_of_the_filter(sim, env_config, operator_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    runs = make_jobs(env_config, 3, runs_per_job=2)
    operator_client.post(
        reverse("autotask:bulk_start"),
        {
            "action": "create",
            "select_all_matching": "1",
            "groups": [_group_value(runs[:2])],
            "queue": "group=job",
        },
    )
    assert {i.run_id for i in BulkJob.objects.get().items.all()} == {r.pk for r in runs}


def test_the_group_view_with_the_bar_has_constant_queries_and_no_api_calls(sim, env_config, operator_client):
    counts = []
    for jobs in (2, 40):
        make_jobs(env_config, jobs, runs_per_job=2, mapped=False)
        sim.clear_requests()
        with CaptureQueriesContext(connection) as queries:
            html = operator_client.get(reverse("runs:run_checks") + "?group=job").content.decode()
        assert 'id="autotask-bulk"' in html
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert sim.requests == []
    assert tickets_by_external_id(sim) == {}


def test_a_user_who_may_not_review_gets_the_all_matching_box_in_the_autotask_bar(
    sim, env_config, client, operator
):
    """Run Checks' own box sits in the Mark reviewed row; without runs.review_run there is no such row, so
    the Autotask bar brings the box (the same field), scoped to its actions."""
    from django.contrib.auth.models import Permission, User

    make_jobs(env_config, 2)
    user = User.objects.create_user("ticketer", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_run", content_type__app_label="runs"),
        Permission.objects.get(codename="create_ticket", content_type__app_label="autotask"),
    )
    client.force_login(user)
    html = client.get(reverse("runs:run_checks")).content.decode()
    assert 'id="mark-reviewed"' not in html and 'id="select-all-matching"' not in html
    assert 'id="bulk-select-all-matching"' in html and "all 2 runs matching the filter" in html
    client.force_login(operator)  # may review: one box, Run Checks' own, for every button
    operator_html = client.get(reverse("runs:run_checks")).content.decode()
    assert operator_html.count('name="select_all_matching"') == 1
    assert 'id="select-all-matching"' in operator_html


# --- 5. the progress page's poll is cheap at 1,000 items -----------------------------------------------------


def test_a_poll_of_a_1000_run_job_sends_one_page_of_rows_in_constant_queries(
    sim, env_config, operator_client, operator
):
    from .test_bulk_pages import _job_with_items

    states = (BulkItemState.DONE, BulkItemState.QUEUED)
    small = _job_with_items(operator, make_jobs(env_config, 1, runs_per_job=10), states=states)
    large = _job_with_items(
        operator, make_jobs(env_config, 10, runs_per_job=100, mapped=False), states=states
    )
    sim.clear_requests()
    counts, sizes = [], {}
    for job in (small, large):
        url = reverse("autotask:bulk_job_progress", args=[job.pk])
        with CaptureQueriesContext(connection) as queries:
            response = operator_client.get(url, HTTP_HX_REQUEST="true")
        counts.append(len(queries))
        html = response.content.decode()
        sizes[job.pk] = len(response.content)
        assert f'hx-get="{url}"' in html  # still polling: the job is not finished
    assert counts[0] == counts[1]
    html = operator_client.get(reverse("autotask:bulk_job_progress", args=[large.pk])).content.decode()
    assert html.count("<tr data-run=") == bulk.ITEMS_PER_PAGE
    assert "1–100 of 1000 runs" in html and "500 of 1000 finished" in html  # the counts cover every item
    assert sizes[large.pk] < 12 * sizes[small.pk]  # 100 rows, not 1,000
    # a later page polls itself (the page survives a reload: it is in the URL)
    url = reverse("autotask:bulk_job_progress", args=[large.pk]) + "?page=10"
    last = operator_client.get(url).content.decode()
    assert f'hx-get="{url}"' in last and "901–1000 of 1000 runs" in last
    positions = list(large.items.order_by("position").values_list("run_id", flat=True))
    assert f'data-run="{positions[-1]}"' in last and f'data-run="{positions[0]}"' not in last
    page = operator_client.get(reverse("autotask:bulk_job", args=[large.pk]) + "?page=10").content.decode()
    assert "901–1000 of 1000 runs" in page
    assert sim.requests == []
