"""Link runs' manual ticket numbers that are real Autotask tickets (the phase-6 migration helper).

Dry run by default: reports what it would link and changes nothing. `--apply` links. One Autotask query per
500 distinct numbers (`ticketNumber in [...]`); nothing is written to Autotask. Exit codes: 0 done, 1 the
integration is disabled or not usable (nothing was sent), 2 Autotask failed.
"""

import sys

from django.core.management.base import BaseCommand

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.messages import operator_message
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.linking import link_manual_tickets

from ._output import quiet_client_logs

EXIT_OK, EXIT_REFUSED, EXIT_FAILED = 0, 1, 2

SECTIONS = (
    ("linked", "Linked", "Would link"),
    ("company_mismatch", "Company mismatch (not linked)", "Company mismatch (would not link)"),
    ("not_found", "Not found in Autotask", "Not found in Autotask"),
    (
        "not_a_ticket_number",
        "Not an Autotask ticket number (skipped)",
        "Not an Autotask ticket number (skipped)",
    ),
    ("already_linked", "Got a ticket meanwhile (skipped)", "Got a ticket meanwhile (skipped)"),
)


def _progress(verbosity):
    """tqdm over the query chunks when it is installed and the output is a terminal (optional)."""
    if verbosity < 1 or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return lambda chunks: tqdm(chunks, desc="Autotask queries", unit="query")


class Command(BaseCommand):
    help = (
        "Find manual ticket numbers that are Autotask tickets and link them to their runs "
        "(dry run unless --apply). Exit 0 done, 1 integration not active, 2 Autotask failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Link them (default: only report).")
        parser.add_argument(
            "--details",
            action="store_true",
            help="List every run (default: counts and the first 20 per group).",
        )

    def handle(self, *args, apply=False, details=False, verbosity=1, **options):
        try:
            with quiet_client_logs(verbosity):
                report = link_manual_tickets(apply=apply, progress=_progress(verbosity))
        except ActionRefused as exc:
            self.stderr.write(f"Nothing was looked up: {exc}")
            sys.exit(EXIT_REFUSED)
        except AutotaskError as exc:
            self.stderr.write(operator_message(exc, "look the ticket numbers up") + " Nothing was linked.")
            sys.exit(EXIT_FAILED)
        mode = "Applied" if apply else "Dry run (nothing changed; use --apply to link)"
        self.stdout.write(f"{mode}: {report.queries} Autotask quer{'y' if report.queries == 1 else 'ies'}.")
        for attr, applied_title, dry_title in SECTIONS:
            rows = getattr(report, attr)
            self.stdout.write(f"{applied_title if apply else dry_title}: {len(rows)}")
            for run_id, number, detail in rows if details else rows[:20]:
                self.stdout.write(f"  run {run_id}: {number}" + (f" — {detail}" if detail else ""))
            if not details and len(rows) > 20:
                self.stdout.write(f"  … and {len(rows) - 20} more (--details lists all)")
