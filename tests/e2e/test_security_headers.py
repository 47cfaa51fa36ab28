"""CSP in a real browser (issue 12.8): no page violates the policy, and the moved script still works."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from .support import PHONE, create_user, restore_role_groups

pytestmark = pytest.mark.browser


@pytest.fixture
def users(transactional_db):
    restore_role_groups()
    call_command("seed_demo", customers=2, days=3, no_users=True, stdout=io.StringIO())
    return create_user("operator"), create_user("staff", is_superuser=True)


def watch_csp(page):
    violations = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    return violations


def test_pages_raise_no_csp_violation_and_select_all_works(users, new_page, log_in):
    page = new_page()
    violations = watch_csp(page)
    log_in(page, "e2e-operator")
    boxes = page.locator('#review-form input[name="runs"]')
    expect(boxes.first).to_be_visible()
    page.locator("#select-all").check()
    assert boxes.count() > 0 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    for url in ["/customers/", "/password/"]:
        page.goto(url)
    assert violations == []


def test_admin_pages_raise_no_csp_violation(users, new_page, log_in):
    page = new_page(viewport=PHONE)
    violations = watch_csp(page)
    log_in(page, "e2e-admin")
    for url in [
        "/admin/",
        "/admin/runs/run/",
        "/admin/autotask/autotasksettings/1/change/",
        "/admin/runs/backupjob/add/",
    ]:
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
    assert violations == []
