"""The admin entry "Extensions & Integrations → Autotask": one settings page, never a list, staff only."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from integrations.autotask.models import AuditEvent, AutotaskSettings
from runs.roles import ADMIN

from .conftest import REFRESH_URL, SETTINGS_URL, TEST_URL


def test_admin_index_shows_the_section_with_autotask(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Extensions &amp; Integrations" in html
    assert '<a href="/admin/autotask/autotasksettings/">Autotask</a>' in html


def test_section_link_opens_the_single_settings_page(admin_client):
    response = admin_client.get("/admin/autotask/autotasksettings/")
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_URL
    page = admin_client.get(SETTINGS_URL)
    assert page.status_code == 200
    assert AutotaskSettings.objects.count() == 1


def test_app_index_lists_autotask_and_the_audit_log(admin_client):
    html = admin_client.get("/admin/autotask/").content.decode()
    assert "Extensions &amp; Integrations" in html
    assert "Autotask audit log" in html


@pytest.mark.parametrize(
    "url", ["/admin/autotask/autotasksettings/add/", "/admin/autotask/autotasksettings/1/delete/"]
)
def test_no_add_and_no_delete(admin_client, url):
    AutotaskSettings.load()
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert list(AutotaskSettings.objects.values_list("pk", flat=True)) == [1]


def test_other_object_ids_are_not_a_second_settings_row(admin_client):
    response = admin_client.get("/admin/autotask/autotasksettings/2/change/")
    assert response.status_code == 302  # Django: "doesn't exist" → redirect to the admin index
    assert not AutotaskSettings.objects.filter(pk=2).exists()


def test_settings_page_has_no_history_or_delete_link(admin_client):
    html = admin_client.get(SETTINGS_URL).content.decode()
    assert "/admin/autotask/autotasksettings/1/delete/" not in html
    assert 'name="_addanother"' not in html


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", SETTINGS_URL),
        ("get", "/admin/autotask/autotasksettings/"),
        ("post", SETTINGS_URL),
        ("post", TEST_URL),
        ("post", REFRESH_URL),
        ("get", "/admin/autotask/auditevent/"),
    ],
)
def test_non_staff_users_are_sent_to_the_admin_login(db, client, operator, method, url):
    client.force_login(operator)  # an Operator: logged in, not staff
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", SETTINGS_URL),
        ("get", "/admin/autotask/autotasksettings/"),
        ("post", SETTINGS_URL),
        ("post", TEST_URL),
        ("post", REFRESH_URL),
    ],
)
def test_staff_without_the_autotask_permission_get_403(client, staff_without_permission, method, url):
    client.force_login(staff_without_permission)
    response = getattr(client, method)(url, {"enabled": "on", "environment": "production"})
    assert response.status_code == 403
    assert AutotaskSettings.objects.filter(enabled=True).count() == 0


def test_staff_without_the_permission_do_not_see_the_section(client, staff_without_permission):
    client.force_login(staff_without_permission)
    html = client.get("/admin/").content.decode()
    assert "Extensions &amp; Integrations" not in html


def test_anonymous_users_are_sent_to_the_admin_login(db, client):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_buttons_refuse_get(admin_client):
    assert admin_client.get(TEST_URL).status_code == 405
    assert admin_client.get(REFRESH_URL).status_code == 405


def test_buttons_and_save_require_csrf(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    for url in (TEST_URL, REFRESH_URL, SETTINGS_URL):
        assert client.post(url, {"username": "x"}).status_code == 403
    assert AuditEvent.objects.count() == 0


def test_the_admin_role_migration_grants_manage_autotask(db):
    codenames = set(
        Group.objects.get(name=ADMIN)
        .permissions.filter(content_type__app_label="autotask")
        .values_list("codename", flat=True)
    )
    assert {
        "manage_autotask",
        "view_autotasksettings",
        "change_autotasksettings",
        "view_auditevent",
    } <= codenames


def test_a_staff_user_given_only_manage_autotask_can_open_the_page(db, client):
    user = User.objects.create_user(username="solo", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_autotask"))
    client.force_login(user)
    assert client.get(SETTINGS_URL).status_code == 200


def test_audit_log_is_read_only(admin_client, admin_user):
    event = AuditEvent.record(
        "settings_changed", user=admin_user, message="Changed: base_url", fields=["base_url"]
    )
    listing = admin_client.get("/admin/autotask/auditevent/")
    assert listing.status_code == 200
    assert "Changed: base_url" in listing.content.decode()
    assert admin_client.get("/admin/autotask/auditevent/add/").status_code == 403
    detail = admin_client.get(f"/admin/autotask/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    admin_client.post(f"/admin/autotask/auditevent/{event.pk}/change/", {"message": "forged"})
    admin_client.post(f"/admin/autotask/auditevent/{event.pk}/delete/", {"post": "yes"})
    event.refresh_from_db()
    assert event.message == "Changed: base_url"


def test_page_shows_every_ticket_default_once_and_one_save_button(admin_client):
    from integrations.autotask.admin import DEFAULT_FIELD_ORDER
    from integrations.autotask.services.configuration import DEFAULT_FIELDS

    assert sorted(DEFAULT_FIELD_ORDER) == sorted(DEFAULT_FIELDS)
    html = admin_client.get(SETTINGS_URL).content.decode()
    for name in DEFAULT_FIELDS:
        assert html.count(f'name="{name}"') == 1
    assert 'name="_save"' in html and 'name="_continue"' not in html
