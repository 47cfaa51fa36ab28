"""manage.py demo_ingest_example: a fresh demo ingest token and a ready-to-paste curl line. Used by `make run`.

Replaces the previous token of the same name (the raw token is never stored, so it cannot be shown again:
each call issues a new one). The example names a customer that exists, because ingestion never creates
customers.
"""

import json
import shlex
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from customers.models import Customer
from runs.models import IngestToken

TOKEN_NAME = "Demo (make run)"


def curl_line(base_url, raw_token, payload):
    """The exact shell command that posts `payload` with `raw_token` (safely quoted for sh/bash/zsh)."""
    return (
        f"curl -X POST {shlex.quote(base_url.rstrip('/') + '/api/runs/')} "
        f"-H {shlex.quote('Authorization: Bearer ' + raw_token)} "
        f"-H 'Content-Type: application/json' "
        f"-d {shlex.quote(json.dumps(payload))}"
    )


def example_payload(customer_name, now=None):
    now = now or timezone.now()
    started = (now - timedelta(minutes=45)).replace(microsecond=0)
    return {
        "customer": customer_name,
        "job": "Nightly VM backup",
        "status": "error",
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "finished_at": (started + timedelta(minutes=41)).isoformat().replace("+00:00", "Z"),
        "summary": "2 of 14 VMs failed",
        "external_id": f"demo-{started:%Y%m%d%H%M%S}",
    }


class Command(BaseCommand):
    help = "Issue a fresh demo ingest token (replacing the previous one) and print a curl example."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="default: %(default)s")

    def handle(self, *args, base_url, **options):
        customer = Customer.objects.filter(is_active=True).order_by("name").first()
        if customer is None:
            self.stdout.write("No customers yet: create one in the admin before sending runs.")
            return
        IngestToken.objects.filter(name=TOKEN_NAME).delete()
        _, raw_token = IngestToken.issue(TOKEN_NAME)
        self.stdout.write(
            f"Send a run (token “{TOKEN_NAME}”, replaced at the next start; the customer must exist):\n"
            + curl_line(base_url, raw_token, example_payload(customer.name))
        )
