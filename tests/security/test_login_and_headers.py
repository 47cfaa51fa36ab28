"""Issue 12.5 (login throttling), 12.8 (CSP, no-store) and 12.9 (every user's password page)."""

import re

import pytest
from django.contrib.auth.models import User

from customers.models import Customer
from runs.models import BackupJob, Run
from runs.roles import ADMIN, OPERATOR, VIEWER
from tests.security.conftest import PASSWORD, make_user

LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def attempt(client, url, username, password, ip="198.51.100.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- 12.5 login throttling --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_account_is_locked_after_the_failure_limit_even_for_the_right_password(client, db, url):
    make_user("victim", ADMIN, is_staff=True)
    for n in range(LIMIT - 1):
        response = attempt(client, url, "victim", f"wrong-{n}", ip=f"203.0.113.{n}")  # from many addresses
        assert response.status_code == 200  # the form again: wrong password
    assert attempt(client, url, "victim", "wrong-last", ip="203.0.113.50").status_code == 429
    response = attempt(client, url, "victim", PASSWORD, ip="203.0.113.99")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html and "ask an administrator to unlock" in html
    assert "Try again in 15 minutes" in html
    assert "_auth_user_id" not in client.session


def test_one_address_is_locked_across_user_names(client, db):
    make_user("innocent", VIEWER)
    for n in range(LIMIT):
        attempt(client, "/login/", f"guess-{n}", "x", ip="192.0.2.50")
    assert attempt(client, "/login/", "innocent", PASSWORD, ip="192.0.2.50").status_code == 429
    # the same user from another address is not affected
    assert attempt(client, "/login/", "innocent", PASSWORD, ip="192.0.2.51").status_code == 302


def test_behind_the_tls_proxy_the_forwarded_client_address_counts(client, db, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    make_user("office", VIEWER)
    for n in range(LIMIT):
        client.post(
            "/login/",
            {"username": f"g{n}", "password": "x"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
    # another client behind the same proxy is not locked out by the attacker's failures
    response = client.post(
        "/login/",
        {"username": "office", "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.2",
    )
    assert response.status_code == 302


@pytest.mark.parametrize("unlocker", ["staff_admin", "superuser"])
def test_staff_see_and_remove_the_lockout_in_the_admin(client, db, unlocker):
    make_user("locked", OPERATOR)
    if unlocker == "superuser":
        root = make_user("root", is_staff=True, is_superuser=True)
    else:
        root = make_user("boss", ADMIN, is_staff=True)
    for n in range(LIMIT):
        attempt(client, "/login/", "locked", f"bad{n}")
    assert attempt(client, "/login/", "locked", PASSWORD).status_code == 429

    admin = client.__class__()
    admin.force_login(root)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "locked" in listing.content.decode()
    from axes.models import AccessAttempt

    ids = list(AccessAttempt.objects.filter(username="locked").values_list("pk", flat=True))
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    assert attempt(client, "/login/", "locked", PASSWORD).status_code == 302


def test_successful_login_resets_the_count(client, db):
    make_user("typo", VIEWER)
    for n in range(LIMIT - 1):
        attempt(client, "/login/", "typo", f"bad{n}")
    assert attempt(client, "/login/", "typo", PASSWORD).status_code == 302
    client.logout()
    for n in range(LIMIT - 1):
        attempt(client, "/login/", "typo", f"bad{n}")
    assert attempt(client, "/login/", "typo", PASSWORD).status_code == 302


# --- 12.8 headers ---------------------------------------------------------------------------------------


@pytest.fixture
def data(db):
    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Nightly")
    run = Run.objects.create(
        job=job, status="error", started_at="2025-01-31T22:00:00Z", source_external_id="r1"
    )
    return customer, job, run


def pages(data):
    customer, job, run = data
    return [
        "/",
        f"/runs/{run.pk}/",
        f"/jobs/{job.pk}/",
        "/customers/",
        f"/customers/{customer.pk}/",
        "/password/",
    ]


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_signed_in_pages_are_no_store_with_a_csp_and_no_inline_script(client, data, role):
    client.force_login(make_user(f"h-{role}", role, is_staff=role == ADMIN))
    urls = pages(data) + (
        ["/admin/", "/admin/runs/run/", "/admin/autotask/autotasksettings/1/change/"] if role == ADMIN else []
    )
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        csp = response["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert script_src.strip() == "'self'", (url, csp)
        assert "frame-ancestors 'none'" in csp
        html = response.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}: {tag}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {url}"
        assert_no_inline_style(url, csp, html)


def assert_no_inline_style(url, csp, html):
    """style-src is 'self' (plus this response's nonce when the page has a nonced <style>), never
    'unsafe-inline'; the page has no style attribute, and each <style> element carries the header's nonce."""
    assert "unsafe-inline" not in csp, (url, csp)
    style_src = re.search(r"style-src ([^;]*)", csp).group(1).split()
    assert style_src[0] == "'self'" and all(v.startswith("'nonce-") for v in style_src[1:]), (url, csp)
    nonces = {v[len("'nonce-") : -1] for v in style_src[1:]}
    assert not re.search(r"<[a-z][^>]*\sstyle\s*=", html, re.I), f"style attribute on {url}"
    for tag in re.findall(r"<style\b[^>]*>", html, re.I):
        nonce = re.search(r'nonce="([^"]+)"', tag)
        assert nonce and nonce.group(1) in nonces, f"<style> without the response's nonce on {url}: {tag}"


def test_a_nonced_style_element_gets_the_nonce_of_its_response(rf):
    """The csp context processor is on: `{% csp_nonce_attr %}` renders the nonce that the middleware then
    puts into style-src (as Django admin's change list does for its one <style>)."""
    from django.http import HttpResponse
    from django.middleware.csp import ContentSecurityPolicyMiddleware
    from django.template import engines

    template = engines["django"].from_string("<style {% csp_nonce_attr %}>.x{}</style>")
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse(template.render({}, request)))
    response = middleware(rf.get("/"))
    csp, html = response["Content-Security-Policy"], response.content.decode()
    assert re.search(r"style-src 'self' 'nonce-[\w-]+'", csp), csp
    assert_no_inline_style("/", csp, html)
    assert "nonce=" in html


def test_error_pages_and_the_mapping_page_have_no_inline_style(client, data):
    customer = data[0]
    client.force_login(make_user("err-viewer", VIEWER))
    for url, status in [("/runs/999999/", 404), ("/autotask/health/", 403)]:
        response = client.get(url)
        assert response.status_code == status, url
        assert_no_inline_style(url, response["Content-Security-Policy"], response.content.decode())
    client.force_login(make_user("err-admin", ADMIN, is_staff=True))
    for url, status in [
        ("/admin/autotask/autotasksettings/add/", 403),
        (f"/admin/customers/customer/{customer.pk}/change/", 200),
        ("/admin/customers/customer/", 200),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        assert_no_inline_style(url, response["Content-Security-Policy"], response.content.decode())


def test_the_csrf_failure_page_has_no_inline_style(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("csrf-op", OPERATOR))
    response = client.post("/runs/review/", {"runs": ["1"]})
    assert response.status_code == 403
    assert 'id="error-403-csrf"' in response.content.decode()
    assert_no_inline_style("csrf", response["Content-Security-Policy"], response.content.decode())


def test_a_page_without_a_style_element_sends_no_nonce(client, db):
    csp = client.get("/login/")["Content-Security-Policy"]
    assert re.search(r"style-src ([^;]*)", csp).group(1).strip() == "'self'", csp


def test_anonymous_login_page_has_a_csp(client, db):
    response = client.get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert_no_inline_style("/login/", response["Content-Security-Policy"], response.content.decode())


def test_select_all_moved_to_a_static_file(client, data):
    client.force_login(make_user("sel-op", OPERATOR))
    html = client.get("/").content.decode()
    assert "backupchecks/app.js" in html and 'data-select-all="' in html


# --- 12.9 every user changes their own password -----------------------------------------------------------


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_every_user_can_change_their_password(client, db, role):
    user = make_user(f"pw-{role}", role)
    client.force_login(user)
    assert 'href="/password/"' in client.get("/").content.decode() or role == ADMIN
    new = "Another-Long-Passphrase-42"
    response = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302 and response["Location"] == "/password/done/"
    assert client.get("/password/done/").status_code == 200  # still signed in
    assert User.objects.get(pk=user.pk).check_password(new)


def test_password_change_needs_the_old_password_and_a_login(client, db):
    user = make_user("pw-x", VIEWER)
    assert client.get("/password/").status_code == 302  # anonymous → login
    client.force_login(user)
    response = client.post(
        "/password/",
        {"old_password": "wrong", "new_password1": "Xy-123456789", "new_password2": "Xy-123456789"},
    )
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
