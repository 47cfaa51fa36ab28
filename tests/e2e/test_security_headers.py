"""CSP in a real browser (issue 12.8): no page violates the policy, and the moved script still works."""

import io

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from playwright.sync_api import expect

from integrations.autotask.roles import ROLE_AUTOTASK_PERMISSIONS
from runs.roles import ADMIN, OPERATOR, ROLE_PERMISSIONS, sync_role_permissions

from .conftest import PHONE

pytestmark = pytest.mark.browser

PASSWORD = "e2e-Pass-1234"


@pytest.fixture
def users(transactional_db):
    sync_role_permissions(Group, Permission, ROLE_PERMISSIONS)
    sync_role_permissions(Group, Permission, ROLE_AUTOTASK_PERMISSIONS)
    call_command("seed_demo", customers=2, days=3, no_users=True, stdout=io.StringIO())
    operator = User.objects.create_user("csp-operator", password=PASSWORD)
    operator.groups.add(Group.objects.get(name=OPERATOR))
    admin = User.objects.create_user("csp-admin", password=PASSWORD, is_staff=True, is_superuser=True)
    admin.groups.add(Group.objects.get(name=ADMIN))
    return operator, admin


def watch_csp(page):
    violations = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    return violations


def test_pages_raise_no_csp_violation_and_select_all_works(users, new_page, log_in):
    page = new_page()
    violations = watch_csp(page)
    log_in(page, "csp-operator", PASSWORD)
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
    log_in(page, "csp-admin", PASSWORD)
    for url in [
        "/admin/",
        "/admin/runs/run/",
        "/admin/autotask/autotasksettings/1/change/",
        "/admin/runs/backupjob/add/",
    ]:
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
    assert violations == []
