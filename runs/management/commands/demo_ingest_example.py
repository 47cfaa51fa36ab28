"""manage.py demo_ingest_example: a fresh demo ingest token and a ready-to-paste curl line. Used by `make run`.

Replaces the previous token of the same name (the raw token is never stored, so it cannot be shown again:
each call issues a new one). The example names a customer that exists, because ingestion never creates
customers.
"""

from django.core.management.base import BaseCommand

from customers.models import Customer
from runs.examples import curl_line, example_payload
from runs.models import IngestToken

TOKEN_NAME = "Demo (make run)"


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
