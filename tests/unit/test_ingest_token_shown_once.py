"""A new ingest token is shown once with a copy button and the exact curl line to use it (issue 13, item 14)."""

import html
import re
import shlex

import pytest
from django.urls import reverse

from customers.models import Customer
from runs.models import IngestToken, Run

from .test_ingest_examples import _post_like_curl


@pytest.fixture
def admin_client(client, staff_admin):
    client.force_login(staff_admin)
    return client


def test_the_token_comes_with_copy_buttons_and_a_working_curl_line(admin_client, client):
    Customer.objects.create(name="Northwind Dental Group")
    response = admin_client.post(
        reverse("admin:runs_ingesttoken_add"), {"name": "Veeam mailer", "is_active": "on"}, follow=True
    )
    page = response.content.decode()
    raw = re.search(r'<code id="new-ingest-token">(bc_[^<]+)</code>', page).group(1)
    assert 'data-copy-target="#new-ingest-token"' in page and 'data-copy-target="#new-ingest-curl"' in page
    assert '<script src="/static/backupchecks/app.js"' in page
    curl = html.unescape(re.search(r'<pre id="new-ingest-curl">(.*?)</pre>', page, re.S).group(1))
    assert f"Bearer {raw}" in curl and "http://testserver/api/runs/" in curl

    client.logout()
    result = _post_like_curl(client, shlex.split(curl))
    assert result.status_code == 201, result.content
    assert Run.objects.get().job.customer.name == "Northwind Dental Group"
    assert IngestToken.objects.get().last_used_at is not None


def test_without_customers_the_message_says_to_create_one_first(admin_client):
    response = admin_client.post(
        reverse("admin:runs_ingesttoken_add"), {"name": "Veeam mailer", "is_active": "on"}, follow=True
    )
    assert "create the customer first" in response.content.decode()
