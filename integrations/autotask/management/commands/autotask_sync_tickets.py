"""Bring the stored status of every open Autotask ticket up to date (⌈N/500⌉ API calls for N tickets).

Exit codes as `autotask_test_connection`: 0 synced, 1 Autotask refused (credentials, permission, rate
limit), 2 Autotask unreachable, or the integration disabled / not configured. A progress bar on a terminal
(stderr), then one summary line. Never a traceback (unless ``--traceback``), never a secret.
"""

import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from integrations.autotask.exceptions import AutotaskError
from integrations.autotask.services import ActionRefused
from integrations.autotask.services.resolution import open_ticket_count, sync_ticket_statuses_with_progress

from ._output import quiet_client_logs, unexpected_line
from .autotask_test_connection import EXIT_UNREACHABLE, exit_code_for


class Command(BaseCommand):
    help = (
        "Read the status and company of every open Autotask ticket and store what changed "
        "(⌈N/500⌉ API calls). Exit 0 ok, 1 refused by Autotask, 2 unreachable / disabled / not configured."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar (it is only shown on a terminal)."
        )

    def handle(self, *args, **options):
        bar = None
        try:
            total = open_ticket_count()
            bar = tqdm(
                total=total,
                unit="ticket",
                desc="Autotask tickets",
                file=sys.stderr,
                disable=True if options["no_progress"] else None,  # None: only on a terminal
            )

            def progress(done, _total):
                bar.update(done - bar.n)

            with quiet_client_logs(options["verbosity"]):
                result = sync_ticket_statuses_with_progress(progress)
        except ActionRefused as exc:
            self._close(bar)
            self.stderr.write(str(exc))
            sys.exit(EXIT_UNREACHABLE)
        except AutotaskError as exc:
            self._close(bar)
            self.stderr.write(f"Autotask ticket status sync failed: {exc}")
            sys.exit(exit_code_for(exc))
        except Exception as exc:
            self._close(bar)
            if options.get("traceback"):
                raise
            self.stderr.write(f"Autotask ticket status sync failed: {unexpected_line(exc)}")
            sys.exit(EXIT_UNREACHABLE)
        self._close(bar)
        self.stdout.write(result.summary)

    @staticmethod
    def _close(bar):
        if bar is not None:
            bar.close()
