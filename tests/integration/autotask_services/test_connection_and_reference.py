import json
import logging
import os
import socket
import subprocess
import sys

import pytest
from django.conf import settings as settings_module
from django.core.management import call_command
from django.utils import timezone

from integrations.autotask.exceptions import (
    AutotaskAuthError,
    AutotaskConfigurationError,
    AutotaskServerError,
)
from integrations.autotask.models import AuditEvent, AutotaskSettings, EnvironmentConfig, ReferenceValue
from integrations.autotask.services import connection, reference
from integrations.autotask.simulator import PRODUCTION, SANDBOX


def test_check_connection_reports_zone_database_and_usage(sim, sandbox_config):
    result = connection.check_connection(sandbox_config)

    assert result.database_id == SANDBOX.database_id
    assert result.zone_name
    assert result.api_url.startswith("https://") and "autotask.net" in result.api_url
    assert result.requests_limit == 10_000
    assert result.requests_used >= 1
    sandbox_config.refresh_from_db()
    assert sandbox_config.last_test_ok is True
    assert sandbox_config.database_id == SANDBOX.database_id
    assert AuditEvent.objects.filter(action="test_connection", outcome="ok").count() == 1


def test_environment_selection_picks_the_credential_set(sim, sandbox_config, production_config):
    assert connection.check_connection(sandbox_config).database_id == SANDBOX.database_id
    assert connection.check_connection(production_config).database_id == PRODUCTION.database_id
    assert SANDBOX.database_id != PRODUCTION.database_id


def test_wrong_secret_is_an_auth_error_and_is_recorded(sim, sandbox_config, caplog):
    sandbox_config.secret = "definitely-wrong-secret-value"
    sandbox_config.save()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AutotaskAuthError) as excinfo:
        connection.check_connection(sandbox_config)

    sandbox_config.refresh_from_db()
    assert sandbox_config.last_test_ok is False
    assert AuditEvent.objects.get(action="test_connection").outcome == "failed"
    for text in (str(excinfo.value), repr(excinfo.value), caplog.text, sandbox_config.last_test_message):
        assert "definitely-wrong-secret-value" not in text
        assert SANDBOX.integration_code not in text


def test_incomplete_credentials_are_a_configuration_error_without_api_calls(sim, db):
    env_config = EnvironmentConfig.for_environment("sandbox")
    env_config.username = SANDBOX.username
    env_config.save()

    with pytest.raises(AutotaskConfigurationError, match="API secret"):
        connection.check_connection(env_config)
    assert sim.api_call_count() == 0


def test_refresh_reference_data_caches_picklists_within_three_calls(sim, sandbox_config):
    sim.clear_requests()
    result = reference.refresh_reference_data(sandbox_config)

    assert sim.api_call_count() <= 3
    assert result.database_id == SANDBOX.database_id
    values = ReferenceValue.objects.filter(environment="sandbox", database_id=SANDBOX.database_id)
    for kind in ("queue", "source", "priority", "status", "note_type", "note_publish"):
        assert values.filter(kind=kind, is_active=True).exists(), kind
    # Inactive values are cached too (so a chosen default can be recognised as inactive) ...
    assert values.filter(is_active=False).exists()
    assert sum(result.inactive.values()) == values.filter(is_active=False).count()
    # ... but not offered.
    offered = reference.current_values("sandbox", SANDBOX.database_id, "status")
    assert offered.exists() and not offered.filter(is_active=False).exists()
    assert values.filter(kind="status", value=5).exists()  # Complete is a system status


def test_refresh_is_idempotent_and_marks_vanished_values(sim, sandbox_config):
    reference.refresh_reference_data(sandbox_config)
    count = ReferenceValue.objects.count()
    reference.refresh_reference_data(sandbox_config)
    assert ReferenceValue.objects.count() == count

    ghost = ReferenceValue.objects.filter(kind="queue").first()
    ghost.pk = None
    ghost.value = 999_999_999
    ghost.save()
    reference.refresh_reference_data(sandbox_config)
    ghost.refresh_from_db()
    assert ghost.is_present is False
    assert not reference.current_values("sandbox", SANDBOX.database_id, "queue").filter(value=999_999_999)


def test_refresh_racing_a_concurrent_first_refresh_stores_its_values(sim, sandbox_config, monkeypatch):
    # Two first refreshes at once (a double-clicked button; PostgreSQL): the other one inserts the same
    # rows after this one read the (empty) cache. That was an IntegrityError — a 500 on the settings page.
    real_bulk_create = ReferenceValue.objects.bulk_create

    def racing_bulk_create(objs, **kwargs):
        first = objs[0]
        ReferenceValue.objects.create(
            environment=first.environment,
            database_id=first.database_id,
            kind=first.kind,
            value=first.value,
            label="written by the other refresh",
            is_active=not first.is_active,
        )
        return real_bulk_create(objs, **kwargs)

    monkeypatch.setattr(ReferenceValue.objects, "bulk_create", racing_bulk_create)
    result = reference.refresh_reference_data(sandbox_config)
    monkeypatch.undo()

    stored = ReferenceValue.objects.filter(environment="sandbox", database_id=result.database_id)
    assert stored.count() == sum(result.counts.values())
    with connection.build_client(connection.credentials_for(sandbox_config)) as client:
        fresh = reference.fetch_reference_data(client)
    first_kind, first_values = next(iter(fresh[1].items()))
    row = stored.get(kind=first_kind, value=first_values[0]["value"])
    assert (row.label, row.is_active) == (first_values[0]["label"], first_values[0]["is_active"])


def test_reference_values_are_kept_per_environment(sim, sandbox_config, production_config):
    reference.refresh_reference_data(sandbox_config)
    reference.refresh_reference_data(production_config)
    sandbox_queues = set(
        ReferenceValue.objects.filter(environment="sandbox", kind="queue").values_list("value", flat=True)
    )
    production_queues = set(
        ReferenceValue.objects.filter(environment="production", kind="queue").values_list("value", flat=True)
    )
    assert sandbox_queues and production_queues
    assert sandbox_queues != production_queues


def test_parse_picklist_reads_string_values_case_insensitively():
    fields = [
        {
            "name": "QueueID",
            "picklistValues": [
                {"value": "29682833", "label": "Monitoring", "isActive": True, "sortOrder": 2},
                {"value": "8", "label": "Old queue", "isActive": False},
                {"value": "not-a-number", "label": "broken"},
            ],
        }
    ]
    parsed = reference.parse_picklist(fields, "queueID")
    assert [(v["value"], v["label"], v["is_active"]) for v in parsed] == [
        (29682833, "Monitoring", True),
        (8, "Old queue", False),
    ]
    assert reference.parse_picklist(fields, "source") == []


class TestCommands:
    def test_test_connection_command_ok(self, sim, sandbox_config, capsys):
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert f"database {SANDBOX.database_id}" in out
        assert "of 10,000 requests" in out

    def test_test_connection_command_json(self, sim, sandbox_config, capsys):
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox", "--json")
        assert exit_info.value.code == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["ok"] is True and payload["database_id"] == SANDBOX.database_id

    def test_refused_credentials_exit_1(self, sim, sandbox_config, capsys):
        sandbox_config.secret = "wrong-secret-xyz"
        sandbox_config.save()
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == 1
        captured = capsys.readouterr()
        assert captured.err.count("\n") <= 1 and "Traceback" not in captured.err
        assert "wrong-secret-xyz" not in captured.err + captured.out

    def test_unreachable_exit_2(self, sim, sandbox_config, capsys):
        sim.inject_fault(entity="ThresholdInformation", method="GET", mode="commit_then_drop", times=10)
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
        assert sim.backoff_sleeps, "a dropped read is retried with backoff before giving up"

    def test_misconfigured_exit_2(self, sim, db, capsys):
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "production")
        assert exit_info.value.code == 2
        assert "incomplete" in capsys.readouterr().err

    def test_from_env(self, sim, db, monkeypatch, capsys):
        monkeypatch.setenv("AUTOTASK_USERNAME", PRODUCTION.username)
        monkeypatch.setenv("AUTOTASK_SECRET", PRODUCTION.secret)
        monkeypatch.setenv("AUTOTASK_INTEGRATION_CODE", PRODUCTION.integration_code)
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--from-env")
        assert exit_info.value.code == 0
        assert str(PRODUCTION.database_id) in capsys.readouterr().out
        assert not EnvironmentConfig.objects.exclude(username="").exists()  # stores nothing

    def test_from_env_missing_variables_exit_2(self, sim, db, monkeypatch, capsys):
        for name in ("AUTOTASK_USERNAME", "AUTOTASK_SECRET", "AUTOTASK_INTEGRATION_CODE"):
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--from-env")
        assert exit_info.value.code == 2
        assert "AUTOTASK_SECRET" in capsys.readouterr().err

    def test_refresh_command(self, sim, sandbox_config, capsys):
        call_command("autotask_refresh_reference", "--while-disabled", "--environment", "sandbox")
        assert capsys.readouterr().out.startswith("OK (Sandbox): refreshed from database ")
        assert ReferenceValue.objects.filter(environment="sandbox").exists()


class TestCommandOutcomes:
    """Issue #3 section 3: exit 0 / 1 (Autotask answered but refused) / 2 (unreachable or misconfigured),
    one clear line, no traceback, no secret."""

    @pytest.mark.parametrize(
        ("field", "value", "said"),
        [
            ("secret", "wrong-secret-xyz", "HTTP 401"),
            ("integration_code", "WRONGTRACKINGID", "IntegrationCode is invalid."),
            ("username", "nobody@backupchecks-demo.example", "Zone information could not be determined"),
        ],
        ids=["secret", "tracking-identifier", "username"],
    )
    def test_refusals_exit_1_with_autotasks_words(self, sim, sandbox_config, capsys, field, value, said):
        setattr(sandbox_config, field, value)
        sandbox_config.save()
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert said in err and err.count("\n") <= 1
        assert value not in err or field == "username"

    def test_missing_permission_exits_1(self, sim, production_config, capsys):
        """Issue 7 item 12: the simulator's permission switch, through the real client (no MockTransport)."""
        permission = "The logged in Resource does not have the adequate permissions"
        sim.configure(permission_denied_entities=["ThresholdInformation"])
        with pytest.raises(SystemExit) as exit_info:
            call_command(
                "autotask_test_connection", "--while-disabled", "--environment", "production", "--json"
            )
        assert exit_info.value.code == 1
        payload = json.loads(capsys.readouterr().out)
        assert payload["ok"] is False
        assert payload["error"] == "AutotaskPermissionError"
        assert payload["errors"] == [permission]
        assert "lacks permission" in payload["hint"]
        assert [(r.operation, r.status, r.errors) for r in sim.requests] == [
            ("zoneInformation", 200, ()),
            ("thresholdInformation", 500, (permission,)),
        ]

    def test_json_failure_is_one_json_line(self, sim, sandbox_config, capsys):
        sandbox_config.secret = "wrong-secret-xyz"
        sandbox_config.save()
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox", "--json")
        assert exit_info.value.code == 1
        out = capsys.readouterr().out
        assert out.count("\n") == 1
        payload = json.loads(out)
        assert payload["ok"] is False and payload["error"] == "AutotaskAuthError"
        assert payload["status_code"] == 401 and payload["title"] == "Autotask refused the login"
        assert "wrong-secret-xyz" not in out

    def test_the_selected_environment_is_the_default(self, sim, sandbox_config, production_config, capsys):
        settings_row = AutotaskSettings.load()
        settings_row.environment = "production"
        settings_row.save()
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled")
        assert exit_info.value.code == 0
        assert f"OK (Production): zone {PRODUCTION.zone_name}" in capsys.readouterr().out
        production_config.refresh_from_db()
        sandbox_config.refresh_from_db()
        assert production_config.database_id == PRODUCTION.database_id
        assert sandbox_config.last_tested_at is None

    def test_client_log_lines_are_quiet_unless_verbose(self, sim, sandbox_config, caplog, capsys):
        # The console handler writes the client's retry warnings to stderr: they would bury the one line.
        sim.inject_fault(entity="ThresholdInformation", method="GET", mode="fail_500", times=None)
        caplog.set_level(logging.INFO)
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == 2
        assert not [r for r in caplog.records if r.name == "integrations.autotask.client"]

        caplog.clear()
        with pytest.raises(SystemExit):
            call_command(
                "autotask_test_connection", "--while-disabled", "--environment", "sandbox", "--verbosity", "2"
            )
        assert [
            r for r in caplog.records if r.name == "integrations.autotask.client" and "retry" in r.message
        ]

    def test_unexpected_error_is_one_line_exit_2_unless_traceback(
        self, sim, sandbox_config, monkeypatch, capsys
    ):
        def broken(env_config, **kwargs):
            raise RuntimeError("database is on fire")

        monkeypatch.setattr(connection, "check_connection", broken)
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") <= 1 and "RuntimeError" in err and "--traceback" in err
        with pytest.raises(RuntimeError):
            call_command(
                "autotask_test_connection", "--while-disabled", "--environment", "sandbox", "--traceback"
            )

    @pytest.mark.parametrize(
        ("change", "code"),
        [({"secret": "wrong-secret-xyz"}, 1), ({"secret": ""}, 2)],
        ids=["refused", "incomplete"],
    )
    def test_refresh_command_failures(self, sim, sandbox_config, capsys, change, code):
        for field, value in change.items():
            setattr(sandbox_config, field, value)
        sandbox_config.save()
        with pytest.raises(SystemExit) as exit_info:
            call_command("autotask_refresh_reference", "--while-disabled", "--environment", "sandbox")
        assert exit_info.value.code == code
        err = capsys.readouterr().err
        assert err.startswith("Autotask reference refresh failed:") and err.count("\n") <= 1
        assert not ReferenceValue.objects.exists()


def _run_manage(args, extra_env, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOTASK_", "DJANGO_SETTINGS"))}
    env.update(
        SECRET_KEY="test-only-secret-key-for-a-subprocess-0123456789abcdef",
        FERNET_KEYS="test-only-fernet-key",
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra_env,
    )
    return subprocess.run(
        [sys.executable, str(settings_module.BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_from_env_unreachable_prints_exactly_one_line_in_a_real_process(tmp_path):
    """With the real console logging of backupchecks/settings.py: stderr is one line, no traceback."""
    extra = {
        "AUTOTASK_ZONE_INFO_URL": f"http://127.0.0.1:{_closed_port()}/atservicesrest/v1.0/zoneInformation",
        "AUTOTASK_USERNAME": SANDBOX.username,
        "AUTOTASK_SECRET": SANDBOX.secret,
        "AUTOTASK_INTEGRATION_CODE": SANDBOX.integration_code,
    }
    done = _run_manage(["autotask_test_connection", "--while-disabled", "--from-env"], extra, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Autotask connection failed: Could not reach Autotask")
    assert SANDBOX.secret not in done.stderr


def test_from_env_secret_that_cannot_be_sent_exits_2(sim, db, monkeypatch, capsys):
    """A pasted secret with an accented letter used to end in a UnicodeEncodeError traceback."""
    monkeypatch.setenv("AUTOTASK_USERNAME", SANDBOX.username)
    monkeypatch.setenv("AUTOTASK_SECRET", "sécret-from-a-paste")
    monkeypatch.setenv("AUTOTASK_INTEGRATION_CODE", SANDBOX.integration_code)
    with pytest.raises(SystemExit) as exit_info:
        call_command("autotask_test_connection", "--while-disabled", "--from-env")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "API secret contains characters that cannot be sent" in err and err.count("\n") <= 1
    assert "sécret-from-a-paste" not in err
    assert sim.api_call_count() == 0


def test_reference_cache_rows_carry_label_active_flag_tenant_and_fetch_time(sim, sandbox_config):
    before = timezone.now()
    reference.refresh_reference_data(sandbox_config)

    def row(kind, value):
        return ReferenceValue.objects.get(
            environment="sandbox", database_id=SANDBOX.database_id, kind=kind, value=value
        )

    queue = row("queue", 29700101)
    assert (queue.label, queue.is_active, queue.is_default) == ("Service Desk", True, True)
    retired = row("queue", 29700110)
    assert (retired.label, retired.is_active) == ("Old Triage Queue", False)
    assert (row("source", 8).label, row("source", 8).is_active) == ("In Person", False)
    assert (row("priority", 6).label, row("priority", 6).is_active) == ("Planned (retired)", False)
    assert row("status", 5).is_system and row("status", 5).label == "Complete"
    assert row("note_type", 19).is_active is False
    assert {r.label for r in ReferenceValue.objects.filter(kind="note_publish")} == {
        "All Autotask Users",
        "Internal Only",
    }
    assert not ReferenceValue.objects.filter(fetched_at__lt=before).exists()
    assert not ReferenceValue.objects.exclude(database_id=SANDBOX.database_id).exists()


def test_zone_answer_without_database_id(sim, sandbox_config, capsys):
    """`ci` in zoneInformation is only illustrated by the reference (§1.2): without it the connection test
    still reports, but the per-tenant reference cache refuses clearly instead of an IntegrityError."""
    sim.configure(zone_includes_ci=False)

    result = connection.check_connection(sandbox_config)
    assert result.database_id is None and result.zone_name == SANDBOX.zone_name

    with pytest.raises(AutotaskServerError, match="did not include the database id") as info:
        reference.refresh_reference_data(sandbox_config)
    assert SANDBOX.zone_name in str(info.value)
    assert not ReferenceValue.objects.exists()
    assert AuditEvent.objects.filter(action="refresh_reference", outcome="failed").exists()

    with pytest.raises(SystemExit) as exit_info:
        call_command("autotask_test_connection", "--while-disabled", "--environment", "sandbox")
    assert exit_info.value.code == 0
    assert "database id not reported" in capsys.readouterr().out
