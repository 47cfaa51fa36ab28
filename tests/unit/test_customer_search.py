"""The Run Checks customer filter is a search (issue 14.4): a text input + a suggestion endpoint, never a
<select> with an <option> per customer."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)
SEARCH = reverse("runs:customer_search")
RUN_CHECKS = reverse("runs:run_checks")


def customer_with_run(name, status="error", hours_ago=0):
    customer, _ = Customer.objects.get_or_create(name=name)
    job, _ = BackupJob.objects.get_or_create(customer=customer, name="Nightly")
    Run.objects.create(job=job, status=status, started_at=T0 - timedelta(hours=hours_ago), summary=name)
    return customer


def shown_summaries(response):
    return {run.summary for run in response.context["runs"]}


def test_run_checks_does_not_list_the_customers(viewer_client):
    Customer.objects.bulk_create(Customer(name=f"Quiet Customer {i:03d}") for i in range(150))
    customer_with_run("Acme Dental")

    content = viewer_client.get(RUN_CHECKS).content.decode()

    assert "Quiet Customer" not in content  # no customer without a shown run appears anywhere
    assert '<select name="customer"' not in content
    assert content.count("<option") == 4  # the status filter only: all + warning, error, missed
    assert 'name="customer_name"' in content and 'role="combobox"' in content
    assert f'hx-get="{SEARCH}"' in content
    assert '<input type="hidden" name="customer"' in content


def test_the_text_filters_by_name_ignoring_case_without_javascript(viewer_client):
    customer_with_run("Acme Dental", hours_ago=1)
    customer_with_run("Dental Acme Group", hours_ago=2)
    customer_with_run("Beta Legal", hours_ago=3)

    response = viewer_client.get(RUN_CHECKS, {"customer_name": "aCmE"})

    assert shown_summaries(response) == {"Acme Dental", "Dental Acme Group"}
    assert response.context["form"].is_filtered
    assert 'value="aCmE"' in response.content.decode()


def test_a_picked_customer_filters_exactly_and_is_shown_by_name(viewer_client):
    acme = customer_with_run("Acme", hours_ago=1)
    customer_with_run("Acme Two", hours_ago=2)

    # a link from the customer pages carries the id only; the input shows the name
    response = viewer_client.get(RUN_CHECKS, {"customer": acme.pk})
    assert shown_summaries(response) == {"Acme"}
    assert 'name="customer_name" value="Acme"' in response.content.decode()

    # a pick sends both
    response = viewer_client.get(RUN_CHECKS, {"customer": acme.pk, "customer_name": "acme"})
    assert shown_summaries(response) == {"Acme"}


def test_text_edited_after_a_pick_wins_over_the_stale_id(viewer_client):
    acme = customer_with_run("Acme", hours_ago=1)
    customer_with_run("Beta Legal", hours_ago=2)

    response = viewer_client.get(RUN_CHECKS, {"customer": acme.pk, "customer_name": "beta"})

    assert shown_summaries(response) == {"Beta Legal"}


def test_the_customer_filter_survives_pagination_sort_and_grouping(viewer_client):
    acme = customer_with_run("Acme", hours_ago=0)
    job = acme.jobs.get()
    Run.objects.bulk_create(
        Run(job=job, status="warning", started_at=T0 - timedelta(hours=k + 1), summary="Acme")
        for k in range(60)
    )
    customer_with_run("Beta", hours_ago=100)

    content = viewer_client.get(RUN_CHECKS, {"customer": acme.pk, "customer_name": "Acme"}).content.decode()

    assert f"?customer={acme.pk}&amp;customer_name=Acme&amp;page=2" in content  # pagination
    assert f"?customer={acme.pk}&amp;customer_name=Acme&amp;sort=status" in content  # sort header
    assert f"?customer={acme.pk}&amp;customer_name=Acme&amp;group=job" in content  # group toggle
    grouped = viewer_client.get(RUN_CHECKS, {"customer_name": "acme", "group": "job"})
    assert [g["customer_name"] for g in grouped.context["groups"]] == ["Acme"]
    assert '<input type="hidden" name="group" value="job">' in grouped.content.decode()


def test_an_unknown_customer_id_is_reported_not_a_crash(viewer_client):
    customer_with_run("Acme")
    response = viewer_client.get(RUN_CHECKS, {"customer": "999999"})
    assert response.status_code == 200
    assert "That customer does not exist" in response.content.decode()


# --- the suggestion endpoint ------------------------------------------------------------------------------


def test_suggestions_match_contains_prefix_first_and_escape_names(viewer_client):
    Customer.objects.bulk_create(
        [
            Customer(name="Zeta <b>Acme</b> & Co"),
            Customer(name="Acme Dental"),
            Customer(name="Beta Legal"),
            Customer(name="ACME Logistics", is_active=False),
        ]
    )

    response = viewer_client.get(SEARCH, {"customer_name": "acme"})

    assert response.status_code == 200
    assert [c.name for c in response.context["customers"]] == [
        "Acme Dental",
        "ACME Logistics",
        "Zeta <b>Acme</b> & Co",
    ]
    content = response.content.decode()
    assert "<b>" not in content and "Zeta &lt;b&gt;Acme&lt;/b&gt; &amp; Co" in content
    assert 'role="option"' in content and "data-customer-id=" in content
    assert "inactive" in content
    assert "Beta Legal" not in content


def test_suggestions_are_at_most_twenty_and_say_there_are_more(viewer_client):
    Customer.objects.bulk_create(Customer(name=f"Acme {i:02d}") for i in range(25))

    response = viewer_client.get(SEARCH, {"customer_name": "acme"})

    assert len(response.context["customers"]) == 20
    assert response.context["more"] is True
    assert "More than 20 match" in response.content.decode()


def test_no_text_no_list_and_no_match_says_so(viewer_client):
    Customer.objects.create(name="Acme")
    assert viewer_client.get(SEARCH).content.decode().strip() == ""
    assert (
        "No customer name contains “zzz”"
        in viewer_client.get(SEARCH, {"customer_name": "zzz"}).content.decode()
    )


def test_suggestions_need_login_and_view_run(client, db):
    response = client.get(SEARCH, {"customer_name": "a"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(User.objects.create_user("norole"))
    assert client.get(SEARCH, {"customer_name": "a"}).status_code == 403


@pytest.mark.parametrize("url", [SEARCH + "?customer_name=cust", RUN_CHECKS + "?customer_name=cust"])
def test_query_count_does_not_grow_with_customers(viewer_client, url):
    Customer.objects.bulk_create(Customer(name=f"Customer {i:04d}") for i in range(30))
    viewer_client.get(url)
    with CaptureQueriesContext(connection) as small:
        viewer_client.get(url)
    Customer.objects.bulk_create(Customer(name=f"Customer {i:04d}") for i in range(30, 600))
    with CaptureQueriesContext(connection) as large:
        viewer_client.get(url)
    assert len(large) == len(small)
