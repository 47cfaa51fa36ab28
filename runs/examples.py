"""Ready-to-paste ingest examples: the curl line shown with a new token (admin) and by `make run`."""

import json
import shlex
from datetime import timedelta

from django.utils import timezone


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
