"""`autotask_refresh_reference` takes the same options as `autotask_test_connection` (--environment, --json)
and speaks the same words as the settings page: "note visibilities", never the internal "note_publish"."""

import json

import pytest
from django.core.management import call_command

from integrations.autotask.models import ReferenceValue


def test_plain_output_names_kinds_in_words(sim, sandbox_config, capsys):
    call_command("autotask_refresh_reference", "--while-disabled", "--environment", "sandbox")
    out = capsys.readouterr().out
    assert out.startswith("OK (Sandbox): refreshed from database ")
    assert "note visibilities" in out and "ticket sources" in out
    assert "note_publish" not in out and "ticket_type" not in out
    assert out.count("\n") == 1


def test_json_output(sim, sandbox_config, capsys):
    call_command("autotask_refresh_reference", "--while-disabled", "--environment", "sandbox", "--json")
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True and payload["environment"] == "sandbox"
    queues = ReferenceValue.objects.filter(environment="sandbox", kind="queue")
    assert payload["counts"]["queues"] == {
        "total": queues.count(),
        "inactive": queues.filter(is_active=False).count(),
    }
    assert "note visibilities" in payload["counts"]
    assert "note_publish" not in json.dumps(payload)


def test_json_output_of_a_refusal_has_the_test_commands_shape(sim, sandbox_config, capsys):
    sandbox_config.secret = "wrong-secret-xyz"
    sandbox_config.save()
    with pytest.raises(SystemExit) as exit_info:
        call_command("autotask_refresh_reference", "--while-disabled", "--environment", "sandbox", "--json")
    assert exit_info.value.code == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and payload["error"] == "AutotaskAuthError"
    assert payload["title"] == "Autotask refused the login"
    assert "GET " not in payload["message"]  # requests named in words, as on the settings page
    assert "wrong-secret-xyz" not in json.dumps(payload)


def test_from_env_refreshes_without_storing_credentials(sim, db, monkeypatch, capsys):
    from integrations.autotask.models import EnvironmentConfig
    from integrations.autotask.simulator import PRODUCTION

    monkeypatch.setenv("AUTOTASK_USERNAME", PRODUCTION.username)
    monkeypatch.setenv("AUTOTASK_SECRET", PRODUCTION.secret)
    monkeypatch.setenv("AUTOTASK_INTEGRATION_CODE", PRODUCTION.integration_code)
    call_command(
        "autotask_refresh_reference",
        "--while-disabled",
        "--from-env",
        "--environment",
        "production",
        "--json",
    )
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True and payload["database_id"] == PRODUCTION.database_id
    assert payload["message"].startswith("OK (environment variables, Production): refreshed from database ")
    assert ReferenceValue.objects.filter(
        environment="production", database_id=PRODUCTION.database_id
    ).exists()
    assert not EnvironmentConfig.objects.exclude(username="").exists()  # stores no credentials
    assert PRODUCTION.secret not in json.dumps(payload)


def test_from_env_with_missing_variables_exits_2_like_the_test_command(sim, db, monkeypatch, capsys):
    for name in ("AUTOTASK_USERNAME", "AUTOTASK_SECRET", "AUTOTASK_INTEGRATION_CODE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        call_command("autotask_refresh_reference", "--while-disabled", "--from-env")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Autotask reference refresh failed: missing environment variable(s)")
    assert "AUTOTASK_SECRET" in err
