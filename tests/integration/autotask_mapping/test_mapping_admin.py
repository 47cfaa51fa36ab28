"""The customer admin's mapping panel, list column and filter, the mapping views and the admin actions."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from customers.models import Customer
from integrations.autotask.models import AuditEvent, AutotaskSettings, CompanyMapping
from integrations.autotask.services import mapping as svc

from .conftest import PRODUCTION_DB, SANDBOX_DB, sandbox_company

CHANGELIST = "/admin/customers/customer/"
SPECIAL = "Smith & Sons <script>alert(1)</script> \"Ltd\" 'q' Ünïcødé 東京"


def change_url(customer):
    return reverse("admin:customers_customer_change", args=[customer.pk])


def search_url(customer):
    return reverse("autotask:company_search", args=[customer.pk])


def map_url(customer):
    return reverse("autotask:map_customer", args=[customer.pk])


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_staff_search_select_save_and_reload(sandbox, sim, customer, mapping_admin_client):
    page = mapping_admin_client.get(change_url(customer))
    assert page.status_code == 200
    assert b'id="autotask-company-q"' in page.content and b"Unmapped" in page.content
    company = sandbox_company(sim)
    sim.clear_requests()
    results = mapping_admin_client.get(search_url(customer), {"q": company["companyName"]}, **HTMX)
    assert results.status_code == 200 and sim.api_call_count(exclude_zone=True) == 1
    assert f'value="{company["id"]}"'.encode() in results.content
    assert company["city"].encode() in results.content
    response = mapping_admin_client.post(map_url(customer), {"company_id": company["id"]})
    assert response.status_code == 302 and response["Location"].startswith(change_url(customer))
    sim.clear_requests()
    page = mapping_admin_client.get(change_url(customer))
    assert sim.api_call_count() == 0  # rendering never calls Autotask
    assert b'data-status="ok"' in page.content and escape(company["companyName"]).encode() in page.content


def test_short_search_makes_no_call(sandbox, sim, customer, mapping_admin_client):
    response = mapping_admin_client.get(search_url(customer), {"q": "a"}, **HTMX)
    assert b"at least 2 characters" in response.content and sim.api_call_count() == 0


def test_search_without_javascript_is_a_page(sandbox, sim, customer, mapping_admin_client):
    response = mapping_admin_client.get(search_url(customer), {"q": sandbox_company(sim)["companyName"]})
    assert (
        response.status_code == 200 and b"<html" in response.content and b"Save mapping" in response.content
    )


def test_uniqueness_error_names_the_other_customer(
    sandbox, sim, customer, other_customer, mapping_admin_client
):
    company = sandbox_company(sim)
    svc.map_customer(other_customer, company["id"])
    results = mapping_admin_client.get(search_url(customer), {"q": company["companyName"]}, **HTMX)
    assert b"mapped to Harbor Logistics B.V." in results.content
    response = mapping_admin_client.post(map_url(customer), {"company_id": company["id"]}, follow=True)
    assert "already mapped to customer “Harbor Logistics B.V.”" in response.content.decode()
    assert CompanyMapping.objects.get().customer == other_customer


@pytest.mark.parametrize("who", ["operator", "viewer", "staff_operator"])
def test_only_staff_with_the_permission_can_map(sandbox, sim, customer, client, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    sim.clear_requests()
    for url, method in [
        (search_url(customer) + "?q=dental", "get"),
        (map_url(customer), "post"),
        (reverse("autotask:unmap_customer", args=[customer.pk]), "post"),
        (reverse("autotask:acknowledge_rename", args=[customer.pk]), "post"),
        (reverse("autotask:check_mapping", args=[customer.pk]), "post"),
    ]:
        response = getattr(client, method)(url, {"company_id": 1174} if method == "post" else None)
        assert response.status_code == 403, url
    assert sim.api_call_count() == 0 and not CompanyMapping.objects.exists()


def test_anonymous_is_sent_to_login(sandbox, customer, client):
    response = client.post(map_url(customer), {"company_id": 1174})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_special_characters_round_trip_and_render_escaped(sandbox, sim, customer, mapping_admin_client):
    company = sandbox_company(sim)
    sim.rename_company(SANDBOX_DB, company["id"], SPECIAL)
    results = mapping_admin_client.get(search_url(customer), {"q": "Sons <script>"}, **HTMX)
    html = results.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert (
        "Smith &amp; Sons &lt;script&gt;alert(1)&lt;/script&gt; &quot;Ltd&quot; &#x27;q&#x27; Ünïcødé 東京"
        in html
    )
    mapping_admin_client.post(map_url(customer), {"company_id": company["id"]})
    assert CompanyMapping.objects.get().company_name == SPECIAL  # stored exactly, not escaped
    for url in (
        change_url(customer),
        CHANGELIST,
        reverse("customers:customer_list"),
        customer.get_absolute_url(),
    ):
        html = mapping_admin_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html, url
        assert "Smith &amp; Sons &lt;script&gt;" in html, url


def test_rename_check_acknowledge_from_the_change_page(sandbox, sim, customer, mapping_admin_client):
    company = sandbox_company(sim)
    svc.map_customer(customer, company["id"])
    sim.rename_company(SANDBOX_DB, company["id"], "Renamed Company B.V.")
    mapping_admin_client.post(reverse("autotask:check_mapping", args=[customer.pk]))
    page = mapping_admin_client.get(change_url(customer)).content.decode()
    assert 'data-status="renamed"' in page and "Renamed Company B.V." in page
    assert f"previously “<span>{escape(company['companyName'])}</span>”" in page
    mapping_admin_client.post(reverse("autotask:acknowledge_rename", args=[customer.pk]))
    page = mapping_admin_client.get(change_url(customer)).content.decode()
    assert 'data-status="ok"' in page and "previously" not in page


def test_disabled_integration_shows_the_mapping_without_its_buttons(
    sandbox, sim, customer, mapping_admin_client
):
    svc.map_customer(customer, sandbox_company(sim)["id"])
    page = mapping_admin_client.get(change_url(customer)).content.decode()
    assert reverse("autotask:unmap_customer", args=[customer.pk]) in page
    AutotaskSettings.objects.filter(pk=1).update(enabled=False)
    sim.clear_requests()
    page = mapping_admin_client.get(change_url(customer)).content.decode()
    assert 'data-status="ok"' in page and "integration is disabled" in page
    assert "/autotask/" not in page.split('id="autotask-mapping"')[1].split("</section>")[0]
    assert sim.api_call_count() == 0


def test_unmap_button(sandbox, sim, customer, mapping_admin_client):
    svc.map_customer(customer, sandbox_company(sim)["id"])
    mapping_admin_client.post(reverse("autotask:unmap_customer", args=[customer.pk]))
    assert not CompanyMapping.objects.exists()
    assert AuditEvent.objects.filter(action="unmap_company", customer=customer).exists()


def test_disabled_integration_shows_why_and_offers_no_search(sandbox, sim, customer, mapping_admin_client):
    from integrations.autotask.models import AutotaskSettings

    settings = AutotaskSettings.load()
    settings.enabled = False
    settings.save()
    page = mapping_admin_client.get(change_url(customer)).content.decode()
    assert "integration is disabled" in page and 'id="autotask-company-q"' not in page


def test_other_environment_mapping_shown_as_such(sandbox, customer, mapping_admin_client):
    CompanyMapping.objects.create(
        customer=customer,
        environment="production",
        database_id=PRODUCTION_DB,
        company_id=174,
        company_name="Prod Co",
    )
    page = mapping_admin_client.get(change_url(customer)).content.decode()
    assert "Production (not the active environment, not checked): Prod Co" in page
    assert "Not mapped to an Autotask company in Sandbox" in page


# --- list column, filter, actions -----------------------------------------------------------------------


def _mapped(n, status="ok", database_id=SANDBOX_DB, offset=0):
    customers = Customer.objects.bulk_create(Customer(name=f"Cust {offset + i:05d}") for i in range(n))
    CompanyMapping.objects.bulk_create(
        CompanyMapping(
            customer=c,
            environment="sandbox",
            database_id=database_id,
            company_id=100000 + offset + i,
            company_name=f"Company {offset + i}",
            status=status,
        )
        for i, c in enumerate(customers)
    )
    return customers


def test_list_column_and_filter(sandbox, mapping_admin_client):
    _mapped(2, "ok")
    _mapped(1, "renamed", offset=10)
    _mapped(1, "missing", offset=20)
    _mapped(1, "ok", database_id=999, offset=30)  # another tenant: invalid
    Customer.objects.create(name="Nobody Mapped")
    page = mapping_admin_client.get(CHANGELIST).content.decode()
    assert page.count("autotask-mapping-ok") == 2 and "Renamed in Autotask" in page
    assert "Missing in Autotask" in page and "Unmapped" in page and ">Invalid<" in page

    def names(value):
        response = mapping_admin_client.get(CHANGELIST, {"autotask_mapping": value})
        return sorted(c.name for c in response.context["cl"].result_list)

    assert names("ok") == ["Cust 00000", "Cust 00001"]
    assert names("renamed") == ["Cust 00010"]
    assert names("missing") == ["Cust 00020"]
    assert names("invalid") == ["Cust 00030"]
    assert names("unmapped") == ["Nobody Mapped"]


def test_admin_list_query_count_is_constant(sandbox, mapping_admin_client):
    _mapped(5)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert mapping_admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    small = count()
    _mapped(90, offset=100)
    assert count() == small


def test_check_action_on_selected_customers(sandbox, sim, customer, other_customer, mapping_admin_client):
    first, second = sandbox_company(sim, 0), sandbox_company(sim, 1)
    svc.map_customer(customer, first["id"])
    svc.map_customer(other_customer, second["id"])
    sim.rename_company(SANDBOX_DB, first["id"], "New Name")
    sim.clear_requests()
    response = mapping_admin_client.post(
        CHANGELIST, {"action": "check_autotask_mappings", "_selected_action": [customer.pk]}, follow=True
    )
    assert "Checked 1 Autotask mapping in 1 Autotask call: ok 0 · renamed 1" in response.content.decode()
    assert sim.api_call_count(exclude_zone=True) == 1
    statuses = dict(CompanyMapping.objects.values_list("customer__name", "status"))
    assert statuses == {customer.name: "renamed", other_customer.name: "ok"}
    # the audit line counts in words too (hbreak2: "Checked 1 mapping(s)")
    assert (
        AuditEvent.objects.filter(action="check_mappings")
        .latest("id")
        .message.startswith("Checked 1 mapping: ok 0 · renamed 1")
    )


def test_acknowledge_action(sandbox, sim, customer, mapping_admin_client):
    company = sandbox_company(sim)
    svc.map_customer(customer, company["id"])
    sim.rename_company(SANDBOX_DB, company["id"], "New Name")
    svc.check_mappings()
    mapping_admin_client.post(
        CHANGELIST, {"action": "acknowledge_autotask_renames", "_selected_action": [customer.pk]}
    )
    assert CompanyMapping.objects.get().status == "ok"


def test_actions_hidden_without_the_permission(sandbox, staff_operator, client):
    from django.contrib.auth.models import Permission

    staff_operator.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(User.objects.get(pk=staff_operator.pk))
    page = client.get(CHANGELIST).content.decode()
    assert "check_autotask_mappings" not in page


def test_suggestions_action_lists_exact_and_close_matches(sandbox, sim, mapping_admin_client):
    companies = [c for c in sim.companies(SANDBOX_DB) if c["id"] and c["isActive"]]
    exact = Customer.objects.create(name=companies[0]["companyName"].upper())
    close = Customer.objects.create(name=companies[1]["companyName"] + " B.V.")
    nothing = Customer.objects.create(name="Zzyzx Qqq")
    mapped = Customer.objects.create(name="Already Mapped")
    CompanyMapping.objects.create(
        customer=mapped,
        environment="sandbox",
        database_id=SANDBOX_DB,
        company_id=companies[2]["id"],
        company_name="x",
    )
    sim.clear_requests()
    response = mapping_admin_client.post(
        CHANGELIST,
        {
            "action": "suggest_autotask_companies",
            "_selected_action": [exact.pk, close.pk, nothing.pk, mapped.pk],
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert sim.api_call_count(exclude_zone=True) == 1
    assert "exact match · id {}".format(companies[0]["id"]) in html
    assert "close match · id {}".format(companies[1]["id"]) in html
    assert "No exact or close match" in html and "1 selected customer already mapped was left out" in html
    assert not CompanyMapping.objects.filter(customer__in=[exact, close]).exists()  # never automatic
    # Confirming one (htmx) maps it and answers a fragment.
    done = mapping_admin_client.post(map_url(exact), {"company_id": companies[0]["id"]}, **HTMX)
    assert b"Mapped" in done.content and CompanyMapping.objects.filter(customer=exact).exists()
