"""The Run Checks customer filter in a real browser (issue 14.4): type, pick a suggestion (mouse or
keyboard), the list is filtered; the filter survives paging; no sideways scroll at 375 px."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from runs.models import BackupJob, Run

from .support import DESKTOP, NO_SIDEWAYS_SCROLL, PHONE, create_user, restore_role_groups, save_screenshot

pytestmark = pytest.mark.browser

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def customers(transactional_db):
    restore_role_groups(autotask=False)
    create_user("viewer")
    Customer.objects.bulk_create(Customer(name=f"Quiet Customer {i:03d}") for i in range(300))
    made = {}
    for index, name in enumerate(["Harbor Logistics B.V.", "Harbour Dental", "Northwind <Dental> & Co"]):
        customer = Customer.objects.create(name=name)
        job = BackupJob.objects.create(customer=customer, name=f"Nightly {index}")
        Run.objects.bulk_create(
            Run(job=job, status="error", started_at=T0 - timedelta(hours=k, minutes=index), summary=name)
            for k in range(30 if index == 0 else 3)
        )
        made[name] = customer
    return made


def suggestions(page):
    return page.get_by_role("listbox", name="Suggestions")


def summaries(page):
    return set(page.locator("table.run-table tbody td.summary-cell").all_inner_texts())


def test_type_pick_and_filter(customers, logged_in_page):
    page = logged_in_page("viewer", DESKTOP)
    expect(page.get_by_role("heading", name="Run Checks")).to_be_visible()
    assert page.locator("select[name=customer]").count() == 0
    assert page.locator("option").count() == 4  # the status filter only

    search = page.get_by_role("combobox", name="Customer")
    search.click()
    search.press_sequentially("harb")
    options = suggestions(page).get_by_role("option")
    expect(options).to_have_count(2)
    expect(search).to_have_attribute("aria-expanded", "true")
    assert options.all_inner_texts() == ["Harbor Logistics B.V.", "Harbour Dental"]
    save_screenshot(page, "customer-search-desktop-open", full_page=False)

    # keyboard: ↓ ↓ Enter picks the second suggestion and filters
    search.press("ArrowDown")
    search.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    search.press("Enter")
    page.wait_for_url(lambda url: "customer=" in url)
    assert summaries(page) == {"Harbour Dental"}
    expect(search).to_have_value("Harbour Dental")

    # mouse: a new text, a click on the suggestion (its name is escaped, not markup)
    search.fill("")
    search.press_sequentially("<dental>")
    option = suggestions(page).get_by_role("option", name="Northwind <Dental> & Co")
    expect(option).to_be_visible()
    option.click()
    page.wait_for_url(lambda url: f"customer={customers['Northwind <Dental> & Co'].pk}" in url)
    assert summaries(page) == {"Northwind <Dental> & Co"}

    # Esc closes the list; typed text without a pick filters by "contains" (the plain GET filter)
    search.fill("")
    search.press_sequentially("harb")
    expect(suggestions(page).get_by_role("option")).to_have_count(2)
    search.press("Escape")
    expect(search).to_have_attribute("aria-expanded", "false")
    search.press("Enter")
    page.wait_for_url(lambda url: "customer_name=harb" in url)
    assert summaries(page) == {"Harbor Logistics B.V.", "Harbour Dental"}
    assert page.locator("input[name=customer]").input_value() == ""

    # the filter survives sorting and grouping
    page.locator("thead a.sort-link", has_text="Status").click()
    page.wait_for_url(lambda url: "sort=" in url and "customer_name=harb" in url)
    expect(search).to_have_value("harb")
    page.locator("#group-toggle").click()
    page.wait_for_url(lambda url: "group=job" in url and "customer_name=harb" in url)
    assert page.locator("table.group-table tbody tr").count() == 2
    save_screenshot(page, "customer-search-desktop")


def test_phone_has_no_sideways_scroll(customers, logged_in_page):
    page = logged_in_page("viewer", PHONE)
    page.goto("/")
    search = page.get_by_role("combobox", name="Customer")
    search.click()
    search.press_sequentially("harb")
    expect(suggestions(page).get_by_role("option")).to_have_count(2)
    save_screenshot(page, "customer-search-phone", full_page=False)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    suggestions(page).get_by_role("option", name="Harbor Logistics B.V.").click()
    page.wait_for_url(lambda url: "customer=" in url)
    assert summaries(page) == {"Harbor Logistics B.V."}
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
