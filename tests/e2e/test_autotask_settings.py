"""A staff Admin configures Autotask in a real browser against the simulator served over HTTP."""

import re

import pytest
from playwright.sync_api import expect

from integrations.autotask.models import AutotaskSettings, EnvironmentConfig
from integrations.autotask.simulator import SANDBOX

from .support import PHONE, create_user, restore_role_groups, step_screenshots, store_sandbox_credentials

pytestmark = pytest.mark.browser

#: set AUTOTASK_E2E_SCREENSHOTS=1 to keep a screenshot of every step in test-artifacts/
shot = step_screenshots("autotask-settings-")


@pytest.fixture
def settings_admin(transactional_db):
    restore_role_groups(autotask=False, admin_autotask="all")
    return create_user("staff")


def test_staff_admin_configures_autotask(logged_in_page, settings_admin, simulator_url):
    page = logged_in_page("staff")

    # Admin index → Extensions & Integrations → Autotask: the single settings page.
    page.goto("/admin/")
    shot(page, "1-index")
    page.get_by_role("link", name="Extensions & Integrations").click()
    page.get_by_role("link", name="Autotask", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/autotask/autotasksettings/1/change/$"))
    expect(page.locator("#autotask-no-reference-data")).to_contain_text("test the connection")

    # Credentials typed, then Test connection.
    page.get_by_label("API username").fill(SANDBOX.username)
    page.get_by_label("API secret").fill(SANDBOX.secret)
    page.get_by_label("Tracking Identifier (API integration code)").fill(SANDBOX.integration_code)
    page.get_by_role("button", name="Test connection").click()
    success = page.locator(".messagelist .success")
    expect(success).to_contain_text("zone PRE2")
    expect(success).to_contain_text(f"database id {SANDBOX.database_id}")
    expect(success).to_contain_text("requests this hour")
    expect(page.get_by_label("API secret")).to_have_value("")
    shot(page, "2-tested")

    # Refresh reference data (the stored credentials: the secret fields stay empty).
    page.get_by_role("button", name="Refresh reference data").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Reference data refreshed")
    expect(page.locator("#autotask-no-reference-data")).to_have_count(0)

    # Defaults from the dropdowns, enable, save.
    page.get_by_label("Backupchecks base URL").fill("http://127.0.0.1:8000/")
    page.get_by_label("Queue").select_option(label="Backup Checks (29700109)")
    page.get_by_label("Ticket source").select_option(label="Backup Monitoring (71)")
    page.get_by_label("Status for new tickets").select_option(label="New (1)")
    page.get_by_label("Priority for Warning runs").select_option(label="Medium (2)")
    page.get_by_label("Priority for Error runs").select_option(label="High (1)")
    page.get_by_label("Priority for Missed runs").select_option(label="Critical (4)")
    page.get_by_label("Ticket type").select_option(label="Alert (5)")
    page.get_by_label("Note type").select_option(label="Backup Alert Note (18)")
    page.get_by_label("Note visibility").select_option(label="Internal Only (2)")
    expect(page.get_by_label("Status that means resolved")).to_have_value("5")  # Complete preselected
    expect(page.get_by_label("Queue").locator("option", has_text="Old Triage Queue")).to_have_count(0)
    page.get_by_label("Enabled").check()
    shot(page, "3-filled")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("The Autotask settings were saved.")

    # Reload: the values are kept, the secret field is empty.
    page.reload()
    expect(page.get_by_label("Enabled")).to_be_checked()
    expect(page.get_by_label("Backupchecks base URL")).to_have_value("http://127.0.0.1:8000")
    expect(page.get_by_label("API username")).to_have_value(SANDBOX.username)
    expect(page.get_by_label("API secret")).to_have_value("")
    expect(page.get_by_label("Tracking Identifier (API integration code)")).to_have_value("")
    expect(page.get_by_label("Queue")).to_have_value("29700109")
    expect(page.get_by_label("Priority for Missed runs")).to_have_value("4")
    expect(page.get_by_label("Note visibility")).to_have_value("2")
    assert SANDBOX.secret not in page.content()
    assert SANDBOX.integration_code not in page.content()
    shot(page, "4-saved")

    # The customer-visible note visibility is listed, marked and cannot be picked.
    customer_visible = page.get_by_label("Note visibility").locator("option", has_text="All Autotask Users")
    expect(customer_visible).to_be_disabled()
    expect(customer_visible).to_contain_text("visible to customers, not allowed")

    # An invalid change is blocked with the message on the field, and nothing is saved.
    page.get_by_label("Queue").select_option(label="---------")
    page.get_by_label("Note visibility").select_option(label="---------")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-queue_id .errorlist")).to_contain_text("Choose a queue")
    expect(page.locator(".field-note_publish_id .errorlist")).to_contain_text("Choose a note visibility")
    shot(page, "5-blocked-defaults")

    page.goto("/admin/autotask/autotasksettings/1/change/")
    page.get_by_label("Backupchecks base URL").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".field-base_url .errorlist")).to_contain_text("required to enable")
    shot(page, "6-blocked-base-url")

    settings = AutotaskSettings.load()
    env = EnvironmentConfig.for_environment("sandbox")
    assert settings.enabled and settings.base_url == "http://127.0.0.1:8000"
    assert env.queue_id == 29700109 and env.note_publish_id == 2 and env.secret == SANDBOX.secret

    # The audit log lists the save; its message column is readable next to the sidebar (not squeezed).
    page.goto("/admin/autotask/auditevent/")
    message = page.locator("td.field-message", has_text="Changed: enabled").first
    expect(message).to_be_visible()
    box = message.bounding_box()
    assert box["width"] >= 250 and box["x"] + box["width"] <= page.viewport_size["width"]
    expect(page.locator("td.field-event", has_text="Settings changed (Sandbox)").first).to_be_visible()
    shot(page, "8-audit-log")


def test_configured_settings_page_fits_a_phone(logged_in_page, settings_admin, simulator_url):
    """375px wide: the connection panel (long API URL, reference counts) wraps instead of widening the page."""
    from integrations.autotask.services import connection, reference

    env = store_sandbox_credentials()
    connection.check_connection(env)
    reference.refresh_reference_data(env)

    page = logged_in_page("staff", PHONE)
    page.goto("/admin/autotask/autotasksettings/1/change/")
    expect(page.locator("#autotask-zone")).to_contain_text("ATServicesRest")
    shot(page, "7-phone")
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for button in ("Test connection", "Refresh reference data", "Save"):
        box = page.get_by_role("button", name=button, exact=True).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, button
