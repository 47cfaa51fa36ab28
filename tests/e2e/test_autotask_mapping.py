"""A staff Admin maps a customer to an Autotask company in a real browser (simulator served over HTTP),
then a rename in Autotask shows up after the admin action "Check Autotask mappings"."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.services import connection
from integrations.autotask.simulator import SANDBOX

from .support import PHONE, create_user, restore_role_groups, save_screenshot, store_sandbox_credentials

pytestmark = pytest.mark.browser


@pytest.fixture
def mapping_admin(transactional_db, simulator):
    restore_role_groups(autotask=False, admin_autotask="all")
    user = create_user("staff")
    connection.check_connection(store_sandbox_credentials())
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.save()
    return user


def test_staff_maps_a_customer_and_sees_a_rename(mapping_admin, simulator, logged_in_page):
    customer = Customer.objects.create(name="Northwind Dental Group")
    company = next(c for c in simulator.companies(SANDBOX.database_id) if c["id"] and c["isActive"])
    page = logged_in_page("staff")

    # Search as you type, select a result, save: the mapping shows OK.
    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    expect(page.locator("#autotask-mapping-current")).to_contain_text("Unmapped")
    page.get_by_label("Search Autotask companies").press_sequentially(company["companyName"][:6], delay=30)
    result = page.locator("#autotask-search-results label").filter(has_text=f"id {company['id']}")
    expect(result).to_be_visible()
    expect(result).to_contain_text(company["city"])
    save_screenshot(page, "autotask-mapping-search")
    result.locator("input[type=radio]").check()
    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is now mapped to Autotask company")
    current = page.locator("#autotask-mapping-current")
    expect(current.locator("[data-status=ok]")).to_have_text("OK")
    expect(current).to_contain_text(company["companyName"])
    save_screenshot(page, "autotask-mapping-change-page")
    assert CompanyMapping.objects.get().company_id == company["id"]

    # Renamed in Autotask; the admin action checks the selected customer; the list shows the new name.
    simulator.rename_company(SANDBOX.database_id, company["id"], "Northwind Dental Group B.V.")
    page.goto("/admin/customers/customer/")
    page.locator(f"input[name=_selected_action][value='{customer.pk}']").check()
    page.locator("select[name=action]").select_option("check_autotask_mappings")
    page.get_by_role("button", name=re.compile("^(Go|Run)$")).click()
    expect(page.locator(".messagelist")).to_contain_text("renamed 1")
    row = page.locator("#result_list tbody tr").filter(has_text="Northwind Dental Group")
    expect(row.locator(".autotask-mapping-warn")).to_have_text("Renamed in Autotask")
    expect(row).to_contain_text("Northwind Dental Group B.V.")
    save_screenshot(page, "autotask-mapping-changelist")

    # The change page shows the old name until someone acknowledges it.
    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    expect(page.locator(".autotask-previous-name")).to_contain_text(company["companyName"])
    phone = logged_in_page("staff", PHONE)
    phone.goto(f"/admin/customers/customer/{customer.pk}/change/")
    save_screenshot(phone, "autotask-mapping-change-page-phone")
    page.get_by_role("button", name="Acknowledge rename").click()
    expect(page.locator("#autotask-mapping-current [data-status=ok]")).to_be_visible()
    expect(page.locator(".autotask-previous-name")).to_have_count(0)

    # The operator customer list shows the badge (read-only).
    page.goto("/customers/")
    expect(page.locator(".autotask-mapping-badge[data-status=ok]")).to_contain_text(
        "Northwind Dental Group B.V."
    )
    save_screenshot(page, "autotask-mapping-customer-list")
