"""The mapping service verbs against the simulator: map, unmap, search, check, acknowledge, refusals."""

import math

import pytest
from django.db import IntegrityError, transaction

from customers.models import Customer
from integrations.autotask.exceptions import AutotaskConfigurationError
from integrations.autotask.models import AuditEvent, AutotaskSettings, CompanyMapping, MappingStatus
from integrations.autotask.services import ActionRefused
from integrations.autotask.services import mapping as svc
from integrations.autotask.simulator import PRODUCTION

from .conftest import PRODUCTION_DB, SANDBOX_DB, configure, sandbox_company

SPECIAL = "Smith & Sons <b>\"Ltd\"</b> — Ünïcødé 東京 'quoted'"


def api_calls(sim):
    return sim.api_call_count(exclude_zone=True)


# --- map / unmap ---------------------------------------------------------------------------------------


def test_map_stores_id_name_tenant_and_person(sandbox, sim, customer, mapping_admin):
    company = sandbox_company(sim)
    mapping = svc.map_customer(customer, company["id"], user=mapping_admin)
    assert api_calls(sim) == 1
    mapping = CompanyMapping.objects.get(pk=mapping.pk)  # persists: read back from the database
    assert (mapping.company_id, mapping.company_name) == (company["id"], company["companyName"])
    assert (mapping.environment, mapping.database_id) == ("sandbox", SANDBOX_DB)
    assert mapping.status == MappingStatus.OK and mapping.previous_name == ""
    assert mapping.mapped_by == mapping_admin and mapping.mapped_at and mapping.last_checked_at
    assert svc.mapping_for(customer) == mapping
    event = AuditEvent.objects.get(action="map_company")
    assert event.customer_id == customer.pk and event.user == mapping_admin
    assert event.data["company_id"] == company["id"] and event.data["database_id"] == SANDBOX_DB
    assert customer.name == "Northwind Dental Group"  # the customer's own name is never touched
    assert Customer.objects.get(pk=customer.pk).name == "Northwind Dental Group"


def test_map_twice_is_idempotent_and_remap_replaces(sandbox, sim, customer):
    first, second = sandbox_company(sim, 0), sandbox_company(sim, 1)
    svc.map_customer(customer, first["id"])
    svc.map_customer(customer, first["id"])
    assert CompanyMapping.objects.count() == 1
    mapping = svc.map_customer(customer, second["id"])
    assert CompanyMapping.objects.get().company_id == second["id"] == mapping.company_id
    assert (
        AuditEvent.objects.filter(action="map_company").first().data["replaced"]["company_id"] == first["id"]
    )


def test_map_inactive_company_is_stored_as_inactive(sandbox, sim, customer):
    company = sandbox_company(sim, 0, active=False)
    assert svc.map_customer(customer, company["id"]).status == MappingStatus.INACTIVE


def test_map_unknown_company_is_refused_after_one_read(sandbox, sim, customer):
    with pytest.raises(ActionRefused, match="does not exist") as info:
        svc.map_customer(customer, 999999)
    assert info.value.code == "company_not_found"
    assert api_calls(sim) == 1 and not CompanyMapping.objects.exists()


def test_company_mapped_to_another_customer_is_refused_naming_it(sandbox, sim, customer, other_customer):
    company = sandbox_company(sim)
    svc.map_customer(other_customer, company["id"])
    sim.clear_requests()
    with pytest.raises(ActionRefused, match="Harbor Logistics B.V.") as info:
        svc.map_customer(customer, company["id"])
    assert info.value.code == "already_mapped"
    assert sim.api_call_count() == 0


def test_database_refuses_a_second_customer_for_one_company(sandbox, customer, other_customer):
    CompanyMapping.objects.create(
        customer=customer, environment="sandbox", database_id=SANDBOX_DB, company_id=1174, company_name="A"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CompanyMapping.objects.create(
            customer=other_customer,
            environment="sandbox",
            database_id=SANDBOX_DB,
            company_id=1174,
            company_name="A",
        )
    # …but the same company id of another tenant is another company.
    CompanyMapping.objects.create(
        customer=other_customer,
        environment="production",
        database_id=PRODUCTION_DB,
        company_id=1174,
        company_name="B",
    )


@pytest.mark.parametrize(
    "setup, code",
    [
        ("disabled", "disabled"),
        ("no_credentials", "not_configured"),
        ("never_tested", "not_configured"),
    ],
)
def test_refused_without_a_single_request(sim, db, customer, setup, code):
    if setup != "no_credentials":
        configure(
            "sandbox",
            __import__("integrations.autotask.simulator", fromlist=["SANDBOX"]).SANDBOX,
            test=setup == "disabled",
        )
    settings = AutotaskSettings.load()
    settings.enabled = setup != "disabled"
    settings.save()
    sim.clear_requests()
    for call in (
        lambda: svc.map_customer(customer, 1174),
        lambda: svc.search_companies("dental"),
        lambda: svc.check_mappings(),
        lambda: svc.suggest_companies([customer]),
    ):
        with pytest.raises(ActionRefused) as info:
            call()
        assert info.value.code == code
    assert sim.api_call_count() == 0
    assert not CompanyMapping.objects.exists()


def test_unmap_removes_only_the_active_environment(sandbox, sim, customer):
    svc.map_customer(customer, sandbox_company(sim)["id"])
    CompanyMapping.objects.create(
        customer=customer,
        environment="production",
        database_id=PRODUCTION_DB,
        company_id=174,
        company_name="P",
    )
    sim.clear_requests()
    svc.unmap_customer(customer)
    svc.unmap_customer(customer)  # idempotent
    assert list(CompanyMapping.objects.values_list("environment", flat=True)) == ["production"]
    assert AuditEvent.objects.filter(action="unmap_company").count() == 1
    assert sim.api_call_count() == 0
    assert svc.mapping_for(customer) is None


def test_no_api_call_inside_a_transaction(sandbox, sim, transactional_db, customer):
    company = sandbox_company(sim)
    svc.search_companies(company["companyName"][:4])
    svc.map_customer(customer, company["id"])
    sim.rename_company(SANDBOX_DB, company["id"], "Renamed Ltd")
    svc.check_mappings()
    svc.suggest_companies([Customer.objects.create(name="Someone Else")])
    assert sim.in_transaction and not any(sim.in_transaction)


# --- search ---------------------------------------------------------------------------------------------


def test_search_one_call_ranked_active_only_with_details(sandbox, sim):
    names = [c["companyName"] for c in sim.companies(SANDBOX_DB) if c["id"]]
    word = names[0].split()[0]
    matches = svc.search_companies(word.lower())
    assert api_calls(sim) == 1
    assert matches and all(word.casefold() in m.name.casefold() for m in matches)
    assert all(m.is_active for m in matches)
    assert all(m.city for m in matches)
    assert len(matches) <= 25
    ranks = [svc._rank(word.lower(), m.name) for m in matches]
    assert ranks == sorted(ranks)


def test_search_includes_inactive_only_when_asked(sandbox, sim):
    inactive = sandbox_company(sim, 0, active=False)
    text = inactive["companyName"]
    assert inactive["id"] not in [m.id for m in svc.search_companies(text)]
    found = [m for m in svc.search_companies(text, include_inactive=True) if m.id == inactive["id"]]
    assert found and not found[0].is_active


def test_search_limit_and_short_text(sandbox, sim):
    assert len(svc.search_companies("an", limit=3)) == 3
    with pytest.raises(ActionRefused):
        svc.search_companies(" a ")
    assert api_calls(sim) == 1


def test_special_characters_round_trip_exactly(sandbox, sim, customer):
    company = sandbox_company(sim)
    sim.rename_company(SANDBOX_DB, company["id"], SPECIAL)
    # Found by `contains` on the raw text: an HTML-escaped query (&lt;b&gt;) would match nothing.
    matches = svc.search_companies('Sons <b>"Ltd"')
    assert [m.name for m in matches] == [SPECIAL]
    assert [m.name for m in svc.search_companies("東京 'quoted'")] == [SPECIAL]
    mapping = svc.map_customer(customer, matches[0].id)
    assert CompanyMapping.objects.get(pk=mapping.pk).company_name == SPECIAL


# --- check ----------------------------------------------------------------------------------------------


def test_rename_keeps_linkage_until_acknowledged(sandbox, sim, customer, mapping_admin):
    company = sandbox_company(sim)
    old = company["companyName"]
    svc.map_customer(customer, company["id"])
    sim.rename_company(SANDBOX_DB, company["id"], "Brand New Name B.V.")
    result = svc.check_mappings(user=mapping_admin)
    mapping = CompanyMapping.objects.get()
    assert mapping.company_id == company["id"]  # linkage kept
    assert (mapping.status, mapping.company_name, mapping.previous_name) == (
        "renamed",
        "Brand New Name B.V.",
        old,
    )
    assert result.counts["renamed"] == 1 and result.checked == 1 and result.changed == 1
    assert Customer.objects.get().name == "Northwind Dental Group"
    # A second check keeps it renamed (the person has not acknowledged yet).
    svc.check_mappings()
    assert CompanyMapping.objects.get().status == "renamed"
    # Renamed again before acknowledging: the first old name is kept.
    sim.rename_company(SANDBOX_DB, company["id"], "Newer Still")
    svc.check_mappings()
    mapping.refresh_from_db()
    assert (mapping.company_name, mapping.previous_name) == ("Newer Still", old)
    svc.acknowledge_rename(customer, user=mapping_admin)
    mapping.refresh_from_db()
    assert (mapping.status, mapping.previous_name) == ("ok", "")
    svc.check_mappings()
    assert CompanyMapping.objects.get().status == "ok"
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions.count("mapping_status") == 2 and "acknowledge_rename" in actions


def test_deactivate_delete_and_back(sandbox, sim, customer, other_customer):
    first, second = sandbox_company(sim, 0), sandbox_company(sim, 1)
    svc.map_customer(customer, first["id"])
    svc.map_customer(other_customer, second["id"])
    sim.deactivate_company(SANDBOX_DB, first["id"])
    sim.delete_company(SANDBOX_DB, second["id"])
    result = svc.check_mappings()
    assert result.counts == {"ok": 0, "renamed": 0, "inactive": 1, "missing": 1, "invalid": 0}
    statuses = dict(CompanyMapping.objects.values_list("customer__name", "status"))
    assert statuses == {customer.name: "inactive", other_customer.name: "missing"}
    assert CompanyMapping.objects.get(customer=other_customer).company_name == second["companyName"]
    changes = AuditEvent.objects.filter(action="mapping_status")
    assert {(e.customer_id, e.data["to_status"]) for e in changes} == {
        (customer.pk, "inactive"),
        (other_customer.pk, "missing"),
    }


def test_other_database_is_invalid_without_a_call_and_other_environment_untouched(
    sandbox, sim, customer, other_customer
):
    stale = CompanyMapping.objects.create(
        customer=customer,
        environment="sandbox",
        database_id=12345,
        company_id=1174,
        company_name="Old tenant",
    )
    production = CompanyMapping.objects.create(
        customer=other_customer,
        environment="production",
        database_id=PRODUCTION_DB,
        company_id=174,
        company_name="P",
    )
    result = svc.check_mappings()
    assert sim.api_call_count() == 0
    assert result.counts["invalid"] == 1 and result.checked == 1
    stale.refresh_from_db()
    assert stale.status == "invalid"
    untouched = CompanyMapping.objects.get(pk=production.pk)
    assert (untouched.status, untouched.last_checked_at) == ("ok", None)
    assert svc.effective_status(untouched, SANDBOX_DB) == "invalid"


def test_check_selected_customers_only(sandbox, sim, customer, other_customer):
    svc.map_customer(customer, sandbox_company(sim, 0)["id"])
    svc.map_customer(other_customer, sandbox_company(sim, 1)["id"])
    sim.clear_requests()
    result = svc.check_mappings(Customer.objects.filter(pk=customer.pk))
    assert result.checked == 1 and api_calls(sim) == 1


def test_tenant_switch_behind_the_settings_back_is_refused(sandbox, sim, customer):
    sandbox.username = PRODUCTION.username
    sandbox.secret = PRODUCTION.secret
    sandbox.save()
    CompanyMapping.objects.create(
        customer=customer, environment="sandbox", database_id=SANDBOX_DB, company_id=1174, company_name="S"
    )
    with pytest.raises(AutotaskConfigurationError, match="test the connection again"):
        svc.check_mappings()
    assert api_calls(sim) == 0
    assert CompanyMapping.objects.get().status == "ok"


@pytest.mark.parametrize("count", [1, 499, 500, 501, 1200])
def test_check_makes_ceil_n_over_500_calls(production, sim, count):
    companies = [c for c in sim.companies(PRODUCTION_DB) if c["id"]][:count]
    customers = Customer.objects.bulk_create(Customer(name=f"Customer {i:05d}") for i in range(count))
    CompanyMapping.objects.bulk_create(
        CompanyMapping(
            customer=cust,
            environment="production",
            database_id=PRODUCTION_DB,
            company_id=company["id"],
            company_name=company["companyName"],
        )
        for cust, company in zip(customers, companies, strict=True)
    )
    result = svc.check_mappings()
    assert api_calls(sim) == math.ceil(count / 500) == result.api_calls
    assert result.checked == count
    inactive = sum(1 for c in companies if not c["isActive"])
    assert result.counts["inactive"] == inactive and result.counts["ok"] == count - inactive
    for record in sim.requests:
        assert record.status == 200


def test_check_failure_keeps_earlier_batches_and_is_audited(production, sim):
    companies = [c for c in sim.companies(PRODUCTION_DB) if c["id"]][:600]
    customers = Customer.objects.bulk_create(Customer(name=f"Customer {i:05d}") for i in range(600))
    CompanyMapping.objects.bulk_create(
        CompanyMapping(
            customer=cust,
            environment="production",
            database_id=PRODUCTION_DB,
            company_id=company["id"],
            company_name="stale name",
        )
        for cust, company in zip(customers, companies, strict=True)
    )
    # first batch succeeds, the second fails (a non-retried hourly threshold)
    calls = []
    original = sim._dispatch

    def dispatch(request, route, tenant):
        calls.append(1)
        if len(calls) == 2:
            from integrations.autotask.simulator.app import Response

            return Response(
                500, {"errors": ["The external request threshold of 10000 requests has been exceeded."]}
            )
        return original(request, route, tenant)

    sim._dispatch = dispatch
    from integrations.autotask.exceptions import AutotaskRateLimitError

    with pytest.raises(AutotaskRateLimitError):
        svc.check_mappings()
    updated = CompanyMapping.objects.exclude(company_name="stale name")
    assert updated.count() == 500 and not updated.filter(last_checked_at=None).exists()
    assert CompanyMapping.objects.filter(last_checked_at=None).count() == 100
    assert AuditEvent.objects.filter(action="check_mappings", outcome="failed").exists()


def test_concurrent_mapping_of_one_company_is_refused_naming_the_winner(
    sandbox, sim, customer, other_customer, monkeypatch
):
    """The race the pre-check cannot see: another person's mapping commits between the check and the save.
    The database constraint refuses the second one, which becomes an ActionRefused naming the winner."""
    company = sandbox_company(sim)
    real_conflict = svc._conflict
    calls = []

    def conflict_after_race(*args):
        calls.append(args)
        if len(calls) == 1:  # the pre-check ran before the other mapping committed
            CompanyMapping.objects.create(
                customer=other_customer,
                environment="sandbox",
                database_id=SANDBOX_DB,
                company_id=company["id"],
                company_name=company["companyName"],
            )
            return None
        return real_conflict(*args)

    monkeypatch.setattr(svc, "_conflict", conflict_after_race)
    with pytest.raises(ActionRefused, match="Harbor Logistics B.V.") as info:
        svc.map_customer(customer, company["id"])
    assert info.value.code == "already_mapped"
    assert list(CompanyMapping.objects.values_list("customer_id", flat=True)) == [other_customer.pk]


def test_renamed_back_before_acknowledging_is_ok_again(sandbox, sim, customer):
    company = sandbox_company(sim)
    svc.map_customer(customer, company["id"])
    sim.rename_company(SANDBOX_DB, company["id"], "Temporary Name")
    svc.check_mappings()
    sim.rename_company(SANDBOX_DB, company["id"], company["companyName"])
    svc.check_mappings()
    mapping = CompanyMapping.objects.get()
    assert (mapping.status, mapping.company_name, mapping.previous_name) == ("ok", company["companyName"], "")


def test_missing_company_that_comes_back_is_ok_again(sandbox, sim, customer):
    company = sandbox_company(sim)
    svc.map_customer(customer, company["id"])
    CompanyMapping.objects.update(status="missing")
    assert svc.check_mappings().counts["ok"] == 1
    assert CompanyMapping.objects.get().status == "ok"
