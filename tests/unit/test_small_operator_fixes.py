"""Small things a new user tripped over (issue 13, item 9 and the CSP-friendly pages)."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from customers.models import Customer
from runs.models import BackupJob, Run


@pytest.mark.django_db
def test_a_failed_login_keeps_the_username(client, operator):
    response = client.post(reverse("login"), {"username": "op", "password": "wrong"})
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="username" id="id_username" value="op"' in content
    assert "didn't match" in content
    # the password field gets the focus, and is never filled in
    assert re.search(r'id="id_password"[^>]*autofocus', content)
    assert "wrong" not in content


@pytest.mark.django_db
def test_favicon_is_served_from_static_files(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert finders.find(response["Location"].removeprefix("/static/"))
    page = client.get(reverse("login")).content.decode()
    assert 'rel="icon" href="/static/backupchecks/favicon.svg"' in page


@pytest.mark.django_db
def test_pages_have_no_inline_script(operator_client):
    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Nightly")
    run = Run.objects.create(job=job, status="error", started_at="2025-03-01T22:00:00Z")
    for url in (
        reverse("runs:run_checks"),
        reverse("runs:run_checks") + "?group=job",
        run.get_absolute_url(),
        reverse("customers:customer_list"),
        customer.get_absolute_url(),
    ):
        content = operator_client.get(url).content.decode()
        scripts = re.findall(r"<script\b[^>]*>", content)
        assert scripts and all("src=" in tag for tag in scripts), (url, scripts)
        assert not re.search(r"\son(click|change|submit|load)=", content), url
