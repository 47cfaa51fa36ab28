"""CSP (script-src 'self', issue 12.8): no template of the project holds an inline <script> or an inline
event handler — every page's behaviour lives in static files (backupchecks/static/backupchecks/app.js).

A scan of the template files themselves, so that a page no crawl reaches (a preview, an error branch) is
covered too; tests/e2e/test_security_headers.py watches the browser console on the main pages.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path
    for folder in ("backupchecks", "customers", "runs", "integrations")
    for path in (ROOT / folder).rglob("templates/**/*.html")
)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def test_the_scan_sees_the_projects_templates():
    names = {path.name for path in TEMPLATES}
    assert {"base.html", "run_checks.html", "ticket_preview.html"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_inline_script_or_event_handler(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), f"inline <script> in {path}: move it to a static file"
    assert not INLINE_HANDLER.search(text), f"inline event handler in {path}: use app.js"
