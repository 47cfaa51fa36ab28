"""Bootstrap and htmx are vendored: every page works offline, with no CDN or other remote asset."""

import re

from django.contrib.staticfiles import finders
from django.urls import reverse

ASSET = re.compile(r'<(?:link|script)\b[^>]*\b(?:href|src)="([^"]+)"')


def test_pages_load_only_local_vendored_assets(client, operator):
    for url in (reverse("login"), reverse("runs:run_checks")):
        if url != reverse("login"):
            client.force_login(operator)
        content = client.get(url).content.decode()
        assets = ASSET.findall(content)

        assert {"bootstrap.min.css", "bootstrap.bundle.min.js", "htmx.min.js"} <= {
            a.rsplit("/", 1)[-1] for a in assets
        }
        for asset in assets:
            assert asset.startswith("/static/"), asset  # no CDN, no protocol-relative URL
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not in the repository"
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in content
