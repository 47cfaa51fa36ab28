"""403 (incl. CSRF), 404 and 500 pages in the site layout, with DEBUG off (tests/settings.py).

A refused user reads which role the page needs and gets a way back; nothing of the exception, the stack or
a secret is shown; the 500 page needs neither the database nor a request.
"""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from backupchecks import errors
from customers.models import Customer
from runs.models import BackupJob, Run

LAYOUT_MARK = 'class="navbar-brand"'


@pytest.fixture
def run(db):
    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Nightly image")
    return Run.objects.create(job=job, status="error", started_at=datetime(2026, 11, 1, tzinfo=UTC))


def _page(response):
    return response.content.decode()


def test_settings_have_debug_off(settings):
    assert settings.DEBUG is False


def test_viewer_posting_an_operator_action_sees_the_role_it_needs(viewer_client, run):
    referer = "http://testserver" + reverse("runs:run_detail", args=[run.pk])
    response = viewer_client.post(
        reverse("runs:run_review", args=[run.pk]), {"reviewed": "1"}, HTTP_REFERER=referer
    )
    assert response.status_code == 403
    page = _page(response)
    assert LAYOUT_MARK in page and 'id="error-403"' in page
    assert "It needs the <strong>Operator</strong> role (or Admin)." in page
    assert "signed in as <strong>viewer</strong> with the Viewer role" in page
    assert f'href="{referer}" id="error-back"' in page
    assert "Traceback" not in page and "PermissionRequired" not in page


def test_back_link_is_never_another_site(viewer_client, run):
    response = viewer_client.post(
        reverse("runs:run_review", args=[run.pk]), {"reviewed": "1"}, HTTP_REFERER="https://evil.example/x"
    )
    assert response.status_code == 403
    assert "evil.example" not in _page(response) and 'id="error-back"' not in _page(response)


def test_user_without_a_role_is_told_viewer_is_enough(client, run):
    client.force_login(User.objects.create_user("nobody", password="x"))
    page = _page(client.get(reverse("runs:run_checks")))
    assert "It needs the <strong>Viewer</strong> role (or Operator, Admin)." in page
    assert "without a role" in page


def test_viewer_following_an_autotask_action_link_gets_the_layout_and_role(viewer_client, run):
    for method, url in (
        ("get", reverse("autotask:create_ticket", args=[run.pk])),
        ("get", reverse("autotask:resolve_ticket", args=[run.pk])),
        ("post", reverse("autotask:link_ticket", args=[run.pk])),
    ):
        response = getattr(viewer_client, method)(url)
        assert response.status_code == 403, url
        page = _page(response)
        assert LAYOUT_MARK in page, url
        assert "It needs the <strong>Operator</strong> role" in page, url


def test_a_refusal_message_is_shown_and_bulk_pages_explain_themselves(viewer_client):
    response = viewer_client.get(reverse("autotask:bulk_jobs"))
    assert response.status_code == 403
    page = _page(response)
    assert 'id="refusal-message"' in page and "Bulk Autotask jobs are for staff" in page
    assert "It needs a role or permission your account does not have." in page


def test_admin_permission_denied_uses_the_layout(client, db):
    staff_without_perms = User.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff_without_perms)
    response = client.get(reverse("admin:autotask_autotasksettings_changelist"))
    assert response.status_code == 403
    page = _page(response)
    assert LAYOUT_MARK in page and 'id="error-403"' in page
    assert "It needs the <strong>Admin</strong> role." in page


@pytest.mark.parametrize(
    ("method", "page", "needed"),
    [
        ("get", "changelist", "It needs the <strong>Viewer</strong> role (or Operator, Admin)."),
        ("get", "add", "It needs the <strong>Admin</strong> role."),
        ("get", "change", "It needs the <strong>Viewer</strong> role (or Operator, Admin)."),
        ("post", "change", "It needs the <strong>Admin</strong> role."),
        ("get", "history", "It needs the <strong>Viewer</strong> role (or Operator, Admin)."),
        ("get", "delete", "It needs the <strong>Admin</strong> role."),
    ],
)
def test_django_admins_own_refusals_name_the_role_too(client, run, method, page, needed):
    """ModelAdmin views raise a bare PermissionDenied; the 403 page reads the permission from the URL."""
    staff_without_roles = User.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff_without_roles)
    customer = run.job.customer
    args = [] if page in ("changelist", "add") else [customer.pk]
    response = getattr(client, method)(reverse(f"admin:customers_customer_{page}", args=args))
    assert response.status_code == 403
    assert needed in _page(response)


def test_an_admin_page_that_is_not_a_model_page_keeps_the_general_wording(rf):
    request = rf.get("/admin/")
    request.resolver_match = None
    assert errors.admin_permissions_for(request) == ()
    request = rf.get(reverse("admin:app_list", args=["customers"]))
    request.resolver_match = resolve(request.path)
    assert errors.admin_permissions_for(request) == ()


def test_csrf_failure_says_reload_and_try_again(operator, run):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    response = browser.post(reverse("runs:run_review", args=[run.pk]), {"reviewed": "1"})
    assert response.status_code == 403
    page = _page(response)
    assert LAYOUT_MARK in page and 'id="error-403-csrf"' in page
    assert "Reload the page and try again." in page
    # Django's reason is for the log, not for the operator
    assert "CSRF cookie not set" not in page and "Forbidden" not in page
    run.refresh_from_db()
    assert run.reviewed_at is None


def test_404_is_in_the_layout(operator_client, db):
    response = operator_client.get(reverse("runs:run_detail", args=[999_999]))
    assert response.status_code == 404
    assert LAYOUT_MARK in _page(response) and 'id="error-404"' in _page(response)


def test_500_renders_without_database_or_request_context():
    # no `db` fixture: any query raises, so this proves the page needs no database
    response = errors.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = _page(response)
    assert LAYOUT_MARK in page and 'id="error-500"' in page
    assert 'href="/logout/"' not in page  # no user, no navigation


def test_500_falls_back_to_plain_html_when_the_template_fails(settings):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False}]
    response = errors.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in _page(response)


def test_unhandled_exception_through_the_stack_gets_the_500_page(operator_client, run, monkeypatch):
    import runs.views

    def boom(*args, **kwargs):
        raise RuntimeError("secret-token-abc should never be shown")

    monkeypatch.setattr(runs.views, "_render_run_detail", boom)
    operator_client.raise_request_exception = False
    response = operator_client.get(reverse("runs:run_detail", args=[run.pk]))
    assert response.status_code == 500
    page = _page(response)
    assert 'id="error-500"' in page and "secret-token-abc" not in page
