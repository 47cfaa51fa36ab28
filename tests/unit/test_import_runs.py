"""manage.py import_runs: JSON Lines import with summary, dry run, line-numbered errors, exit codes."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from runs.models import BackupJob, Run
from runs.signals import run_recorded


@pytest.fixture
def acme(db):
    return Customer.objects.create(name="Acme")


def line(n, **overrides):
    item = {
        "customer": "Acme",
        "job": "Nightly",
        "backup_software": "Veeam",
        "started_at": f"2025-02-{n % 28 + 1:02d}T22:00:00Z",
        "finished_at": f"2025-02-{n % 28 + 1:02d}T22:30:00Z",
        "status": "success",
        "external_id": f"id-{n}",
    }
    item.update(overrides)
    return json.dumps(item)


def write(tmp_path, *lines, name="runs.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_runs", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts():
    return Run.objects.count(), BackupJob.objects.count()


def test_imports_and_prints_summary_with_progress_bar(acme, tmp_path):
    path = write(tmp_path, line(1), line(2), "", line(3, job="Other", status="error"))

    out, err = run_command(path)

    assert out.strip() == "Created 3, already present 0, 0 invalid."
    assert "Importing" in err and "100%" in err
    assert counts() == (3, 2)
    assert Run.objects.get(source_external_id="id-3").status == "error"


def test_reimport_counts_already_present(acme, tmp_path):
    run_command(write(tmp_path, line(1), line(2)))

    out, _ = run_command(write(tmp_path, line(1), line(2), line(3), name="more.jsonl"), "--no-progress")

    assert out.strip() == "Created 1, already present 2, 0 invalid."
    assert counts() == (3, 1)


def test_dry_run_writes_nothing_and_reports_what_would_happen(acme, tmp_path):
    run_command(write(tmp_path, line(1)))
    before = counts()
    path = write(tmp_path, line(1), line(2), line(3, job="Brand new job"), name="more.jsonl")

    out, _ = run_command(path, "--dry-run", "--no-progress")

    assert out.strip() == "Dry run: 2 would be created, 1 already present, 0 invalid. Nothing was written."
    assert counts() == before


def test_dry_run_does_not_send_signals(acme, tmp_path, django_capture_on_commit_callbacks):
    received = []
    run_recorded.connect(lambda **kw: received.append(kw), dispatch_uid="dry-run-test", weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            run_command(write(tmp_path, line(1)), "--dry-run", "--no-progress")
    finally:
        run_recorded.disconnect(dispatch_uid="dry-run-test")
    assert callbacks == [] and received == []


def test_import_sends_run_recorded_with_source_import(acme, tmp_path, django_capture_on_commit_callbacks):
    received = []
    run_recorded.connect(lambda **kw: received.append(kw), dispatch_uid="import-test", weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_command(write(tmp_path, line(1), line(2)), "--no-progress")
    finally:
        run_recorded.disconnect(dispatch_uid="import-test")
    assert [(kw["sender"], kw["source"]) for kw in received] == [(Run, "import"), (Run, "import")]


def test_invalid_lines_are_listed_with_line_numbers_and_nothing_is_written(acme, tmp_path):
    path = write(
        tmp_path,
        line(1),
        line(2, status="exploded"),
        "{not json",
        "",
        line(5, customer="Nobody"),
        line(6),
        line(1, status="error"),  # same external id as line 1
    )

    with pytest.raises(CommandError) as excinfo:
        run_command(path, "--no-progress")

    assert excinfo.value.returncode == 1
    assert "4 invalid line(s); nothing was imported" in str(excinfo.value)
    assert counts() == (0, 0)


def test_invalid_lines_report_text(acme, tmp_path):
    path = write(tmp_path, line(1), line(2, status="exploded"), "{not json", "", line(5, customer="Nobody"))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)

    report = err.getvalue().splitlines()
    assert report[0].startswith("line 2, status: Unknown status 'exploded'")
    assert report[1].startswith("line 3: Not valid JSON")
    assert report[2] == "line 5, customer: Unknown customer 'Nobody'."
    assert report[3] == "Created 0, already present 0, invalid 3 (lines 2, 3, 5)."


def test_invalid_lines_fail_a_dry_run_too(acme, tmp_path):
    with pytest.raises(CommandError) as excinfo:
        run_command(write(tmp_path, line(1), line(2, finished_at="2025-01-01T00:00:00Z")), "--dry-run")
    assert excinfo.value.returncode == 1


def test_non_object_and_badly_encoded_lines_are_invalid(acme, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'[1, 2]\n"text"\n\xff\xfe\n' + line(4).encode() + b"\n")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)

    assert "invalid 3 (lines 1, 2, 3)" in err.getvalue()
    assert counts() == (0, 0)


def test_missing_file_is_a_clear_command_error(db, tmp_path):
    with pytest.raises(CommandError, match="File not found: .*nope.jsonl") as excinfo:
        run_command(tmp_path / "nope.jsonl")
    assert excinfo.value.returncode == 2


def test_large_file_is_imported_in_chunks(acme, tmp_path):
    path = write(tmp_path, *(line(n, job=f"Job {n % 3}") for n in range(1203)))

    out, _ = run_command(path, "--no-progress")

    assert out.strip() == "Created 1203, already present 0, 0 invalid."
    assert counts() == (1203, 3)


def test_file_saved_with_a_byte_order_mark_is_imported(acme, tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes("\n".join([line(1), line(2)]).encode("utf-8-sig") + b"\r\n")

    out, _ = run_command(path, "--no-progress")

    assert out.strip() == "Created 2, already present 0, 0 invalid."


def test_hostile_text_is_reported_printably_and_nothing_is_written(acme, tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_text(
        "\n".join(
            [
                line(1),
                line(2, status="\ud83d"),  # json.dumps writes the escape "\ud83d": valid JSON, not UTF-8
                line(3, job="Nightly\x1b[2J"),  # a terminal escape in a name
                line(4, customer="Nobody\x1b[31m"),
            ]
        ),
        encoding="utf-8",
    )
    raw_err = io.BytesIO()
    err = io.TextIOWrapper(raw_err, encoding="utf-8", errors="strict", write_through=True)

    with pytest.raises(CommandError) as excinfo:
        call_command("import_runs", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)

    assert excinfo.value.returncode == 1
    report = raw_err.getvalue().decode("utf-8")
    assert "\x1b" not in report
    assert "line 2, status: Unknown status '\\ud83d'" in report
    assert "line 3, job: Must be one line of visible text: no line breaks, tabs, control characters" in report
    assert "(found U+001B)" in report
    assert "line 4, customer: Unknown customer 'Nobody\\x1b[31m'." in report
    assert "invalid 3 (lines 2, 3, 4)" in report
    assert counts() == (0, 0)
