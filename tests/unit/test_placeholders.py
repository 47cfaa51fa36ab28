"""Placeholders look like placeholders: an example ticket number in an empty input starts with "e.g.", so on a
phone it never reads as a value already filled in (the italic style is checked in a real browser:
tests/e2e/test_small_truths.py)."""

import re
from pathlib import Path

from runs.forms import ManualTicketNumberForm

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "backupchecks", ROOT / "runs", ROOT / "customers", ROOT / "integrations"]
INPUT = re.compile(r"<input\b[^>]*>", re.S)
PLACEHOLDER = re.compile(r'placeholder="([^"]*)"')
#: an example that looks like a ticket number (Autotask's T<yyyymmdd>.<nnnn>) or an id
LOOKS_LIKE_A_VALUE = re.compile(r"\bT\d{8}\.\d{4}\b|\b\d{3,}\b")


def _template_placeholders():
    for base in TEMPLATE_DIRS:
        for path in base.rglob("*.html"):
            for tag in INPUT.findall(path.read_text()):
                match = PLACEHOLDER.search(tag)
                if match:
                    yield path.relative_to(ROOT), match.group(1)


def test_template_scan_finds_the_ticket_inputs():
    found = {str(path) for path, _ in _template_placeholders()}
    assert "integrations/autotask/templates/autotask/inc/bulk_actions.html" in found
    assert "integrations/autotask/templates/autotask/inc/link_form.html" in found


def test_every_example_value_placeholder_says_e_g():
    offenders = [
        (str(path), text)
        for path, text in _template_placeholders()
        if LOOKS_LIKE_A_VALUE.search(text) and not text.startswith("e.g. ")
    ]
    assert offenders == []


def test_manual_ticket_number_placeholder_says_e_g():
    placeholder = ManualTicketNumberForm().fields["manual_ticket_number"].widget.attrs["placeholder"]
    assert placeholder.startswith("e.g. ")
