"""The README's ingest example and the one `make run` prints work against the demo data (issue 13, item 1)."""

import io
import json
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

from runs import demo
from runs.models import IngestToken, Run

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def demo_data(db):
    demo.seed(customers=2, days=1, with_users=False)


def _post_like_curl(client, argv):
    """Send what a curl argv (`curl -X POST URL -H … -d …`) would send, through the test client."""
    assert argv[:3] == ["curl", "-X", "POST"]
    url = argv[3]
    headers, body = {}, None
    args = iter(argv[4:])
    for flag in args:
        value = next(args)
        if flag == "-H":
            name, _, header_value = value.partition(": ")
            headers[name] = header_value
        elif flag == "-d":
            body = value
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    content_type = headers.pop("Content-Type")
    return client.post(path, data=body, content_type=content_type, headers=headers)


def test_the_printed_example_is_ready_to_paste(client, demo_data):
    out = io.StringIO()
    call_command("demo_ingest_example", "--base-url", "http://127.0.0.1:8123", stdout=out)
    text = out.getvalue()
    assert "customer must exist" in text
    [line] = [line for line in text.splitlines() if line.startswith("curl ")]
    assert "http://127.0.0.1:8123/api/runs/" in line
    response = _post_like_curl(client, shlex.split(line))
    assert response.status_code == 201, response.content
    assert Run.objects.get(pk=response.json()["runs"][0]["id"]).job.customer.name == "Northwind Dental Group"


def test_each_start_replaces_the_demo_token(db, demo_data):
    for _ in range(2):
        call_command("demo_ingest_example", stdout=io.StringIO())
    assert IngestToken.objects.filter(name="Demo (make run)").count() == 1


def test_the_readme_example_works_on_the_demo_data(client, demo_data):
    section = README.read_text().split("## Sending runs", 1)[1].split("\n## ", 1)[0]
    assert "must already exist" in section and "`external_id` is **required**" in section
    block = re.search(r"```sh\n(curl .*?)\n```", section, re.S).group(1)
    argv = shlex.split(block.replace("\\\n", " "))
    _, raw = IngestToken.issue("readme")
    argv = [arg.replace("Bearer bc_…", f"Bearer {raw}") for arg in argv]
    response = _post_like_curl(client, argv)
    assert response.status_code == 201, response.content
    assert json.loads(argv[argv.index("-d") + 1])["external_id"]
