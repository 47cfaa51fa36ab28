"""A staff Admin maps a customer to an Autotask company in a real browser (simulator served over HTTP),
then a rename in Autotask shows up after the admin action "Check Autotask mappings"."""

import re
import threading

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import expect

from customers.models import Customer
from integrations.autotask.client import clear_zone_cache
from integrations.autotask.models import AutotaskSettings, CompanyMapping, EnvironmentConfig
from integrations.autotask.services import connection
from integrations.autotask.simulator import SANDBOX, AutotaskSimulator
from integrations.autotask.simulator.server import make_server
from runs.roles import ADMIN, ROLE_PERMISSIONS, sync_role_permissions

from .conftest import ARTIFACTS, PHONE

pytestmark = pytest.mark.browser

PASSWORD = "e2e-Pass-1234"


@pytest.fixture
def served_sim(settings):
    sim = AutotaskSimulator()
    server = make_server(sim, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AUTOTASK_ZONE_INFO_URL = (
        f"http://127.0.0.1:{server.server_port}/atservicesrest/v1.0/zoneInformation"
    )
    clear_zone_cache()
    yield sim
    server.shutdown()
    server.server_close()
    clear_zone_cache()


@pytest.fixture
def mapping_admin(transactional_db, served_sim):
    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    Group.objects.get(name=ADMIN).permissions.add(
        *Permission.objects.filter(content_type__app_label="autotask")
    )
    user = User.objects.create_user("e2e-mapper", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=ADMIN))
    env_config = EnvironmentConfig.for_environment("sandbox")
    env_config.username = SANDBOX.username
    env_config.secret = SANDBOX.secret
    env_config.integration_code = SANDBOX.integration_code
    env_config.save()
    connection.check_connection(env_config)
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.save()
    return user


def test_staff_maps_a_customer_and_sees_a_rename(page, log_in, mapping_admin, served_sim, new_page):
    customer = Customer.objects.create(name="Northwind Dental Group")
    company = next(c for c in served_sim.companies(SANDBOX.database_id) if c["id"] and c["isActive"])
    log_in(page, "e2e-mapper", PASSWORD)

    # Search as you type, select a result, save: the mapping shows OK.
    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    expect(page.locator("#autotask-mapping-current")).to_contain_text("Unmapped")
    page.get_by_label("Search Autotask companies").press_sequentially(company["companyName"][:6], delay=30)
    result = page.locator("#autotask-search-results label").filter(has_text=f"id {company['id']}")
    expect(result).to_be_visible()
    expect(result).to_contain_text(company["city"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "autotask-mapping-search.png"), full_page=True)
    result.locator("input[type=radio]").check()
    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is now mapped to Autotask company")
    current = page.locator("#autotask-mapping-current")
    expect(current.locator("[data-status=ok]")).to_have_text("OK")
    expect(current).to_contain_text(company["companyName"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "autotask-mapping-change-page.png"), full_page=True)
    assert CompanyMapping.objects.get().company_id == company["id"]

    # Renamed in Autotask; the admin action checks the selected customer; the list shows the new name.
    served_sim.rename_company(SANDBOX.database_id, company["id"], "Northwind Dental Group B.V.")
    page.goto("/admin/customers/customer/")
    page.locator(f"input[name=_selected_action][value='{customer.pk}']").check()
    page.locator("select[name=action]").select_option("check_autotask_mappings")
    page.get_by_role("button", name=re.compile("^(Go|Run)$")).click()
    expect(page.locator(".messagelist")).to_contain_text("renamed 1")
    row = page.locator("#result_list tbody tr").filter(has_text="Northwind Dental Group")
    expect(row.locator(".autotask-mapping-warn")).to_have_text("Renamed in Autotask")
    expect(row).to_contain_text("Northwind Dental Group B.V.")
    page.screenshot(path=str(ARTIFACTS / "autotask-mapping-changelist.png"), full_page=True)

    # The change page shows the old name until someone acknowledges it.
    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    expect(page.locator(".autotask-previous-name")).to_contain_text(company["companyName"])
    phone = new_page(viewport=PHONE)
    log_in(phone, "e2e-mapper", PASSWORD)
    phone.goto(f"/admin/customers/customer/{customer.pk}/change/")
    phone.screenshot(path=str(ARTIFACTS / "autotask-mapping-change-page-phone.png"), full_page=True)
    page.get_by_role("button", name="Acknowledge rename").click()
    expect(page.locator("#autotask-mapping-current [data-status=ok]")).to_be_visible()
    expect(page.locator(".autotask-previous-name")).to_have_count(0)

    # The operator customer list shows the badge (read-only).
    page.goto("/customers/")
    expect(page.locator(".autotask-mapping-badge[data-status=ok]")).to_contain_text(
        "Northwind Dental Group B.V."
    )
    page.screenshot(path=str(ARTIFACTS / "autotask-mapping-customer-list.png"), full_page=True)
