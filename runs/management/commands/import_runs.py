"""manage.py import_runs FILE — import backup runs from a JSON Lines file (one run object per line).

Same fields and validation as POST /api/runs/ (see runs/ingest.py). All-or-nothing per file: if any line
is invalid, every invalid line is listed with its line number and nothing is written. Re-importing a file
is safe: runs already present (same job and external_id) are counted, not duplicated. Blank lines are
skipped. FILE may be `-` for standard input.

Per-field limits are the API's: at most INGEST_MAX_DETAILS_CHARS of details, and a line may not be longer
than the API's request body limit (INGEST_MAX_BODY_BYTES).

Exit codes: 0 imported (or nothing to do), 1 invalid lines (nothing written), 2 the file cannot be read.
"""

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from runs.ingest import NON_FIELD, IngestValidationError, store_runs, validate_runs


class _ProgressStream:
    """Lets tqdm write to the command's stderr (OutputWrapper would append a newline to every update)."""

    def __init__(self, wrapper):
        self._wrapper = wrapper

    def write(self, text):
        self._wrapper.write(text, style_func=lambda message: message, ending="")

    def flush(self):
        self._wrapper.flush()


class Command(BaseCommand):
    help = "Import backup runs from a JSON Lines file (one run per line); all-or-nothing per file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to a .jsonl file, or - for standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

    def handle(self, *args, file, dry_run, no_progress, **options):
        lines = self._read_lines(file)
        progress_stream = _ProgressStream(self.stderr)
        labels, raw_items, unreadable = [], [], []
        for number, line in tqdm(
            lines,
            desc="Reading",
            unit="line",
            file=progress_stream,
            disable=no_progress,
            leave=False,
        ):
            if not line.strip():
                continue
            value, problem = self._parse_line(line)
            if problem:
                unreadable.append((number, problem))
                continue
            labels.append(number)
            raw_items.append(value)

        errors = [(number, NON_FIELD, message) for number, message in unreadable]
        items = []
        try:
            items = validate_runs(raw_items, labels=labels, label_name="line")
        except IngestValidationError as exc:
            errors.extend((error.index, error.field, error.message) for error in exc.errors)
        if errors:
            self._fail(sorted(errors, key=lambda error: error[0]))

        with tqdm(
            total=len(items),
            desc="Dry run" if dry_run else "Importing",
            unit="run",
            file=progress_stream,
            disable=no_progress,
        ) as bar:
            result = store_runs(items, source="import", dry_run=dry_run, progress=bar.update)

        if dry_run:
            self.stdout.write(
                f"Dry run: {result.created_count} would be created, {result.existing_count} already present, "
                "0 invalid. Nothing was written."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {result.created_count}, already present {result.existing_count}, 0 invalid."
                )
            )

    def _read_lines(self, file):
        """[(line number, raw bytes)] — bytes, so one badly encoded line is reported, not fatal."""
        try:
            data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except FileNotFoundError:
            raise CommandError(f"File not found: {file}", returncode=2) from None
        except IsADirectoryError:
            raise CommandError(f"Not a file: {file}", returncode=2) from None
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}", returncode=2) from None
        return list(enumerate(data.splitlines(), start=1))

    @staticmethod
    def _parse_line(line):
        """(decoded JSON value, None) or (None, error message)."""
        limit = settings.INGEST_MAX_BODY_BYTES
        if len(line) > limit:
            # The API's body limit, per line: the same runs are accepted on both paths.
            return None, f"Line is longer than {limit} bytes (the API's request limit); not read."
        try:
            return json.loads(line.decode("utf-8-sig")), None  # files saved with a BOM are fine
        except UnicodeDecodeError:
            return None, "Line is not valid UTF-8."
        except (ValueError, RecursionError) as exc:
            return None, f"Not valid JSON ({str(exc)[:80]})."

    def _fail(self, errors):
        for number, field, message in errors:
            where = f"line {number}" if field == NON_FIELD else f"line {number}, {field}"
            self.stderr.write(f"{where}: {message}")
        bad_lines = sorted({number for number, _, _ in errors})
        shown = ", ".join(str(number) for number in bad_lines[:50]) + (" …" if len(bad_lines) > 50 else "")
        self.stderr.write(f"Created 0, already present 0, invalid {len(bad_lines)} (lines {shown}).")
        raise CommandError(f"{len(bad_lines)} invalid line(s); nothing was imported.", returncode=1)
