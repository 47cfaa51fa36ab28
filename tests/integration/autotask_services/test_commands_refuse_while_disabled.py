"""`autotask_test_connection` and `autotask_refresh_reference` refuse while the integration is disabled
(exit 2, zero Autotask requests) unless `--while-disabled` is given — an admin's explicit act, like the
settings page's buttons (issue 14, hsched item 3)."""

import json

import pytest
from django.core.management import call_command

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.simulator import SANDBOX

COMMANDS = ["autotask_test_connection", "autotask_refresh_reference"]


def run(command, *args):
    try:
        call_command(command, *args)
    except SystemExit as exc:
        return exc.code
    return 0


def set_enabled(enabled):
    settings = AutotaskSettings.load()
    settings.enabled = enabled
    settings.environment = "sandbox"
    settings.save()


@pytest.fixture
def env_credentials(monkeypatch):
    monkeypatch.setenv("AUTOTASK_USERNAME", SANDBOX.username)
    monkeypatch.setenv("AUTOTASK_SECRET", SANDBOX.secret)
    monkeypatch.setenv("AUTOTASK_INTEGRATION_CODE", SANDBOX.integration_code)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("args", [[], ["--environment", "sandbox"], ["--from-env"]])
def test_refuses_while_disabled_without_a_request(
    command, args, sim, sandbox_config, env_credentials, capsys
):
    set_enabled(False)
    sim.clear_requests()
    assert run(command, *args) == 2
    err = capsys.readouterr().err
    assert "integration is disabled" in err and "--while-disabled" in err
    assert sim.api_call_count() == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_refusal_as_json(command, sim, sandbox_config, capsys):
    set_enabled(False)
    assert run(command, "--json") == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and payload["error"] == "disabled"
    assert sim.api_call_count() == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_while_disabled_flag_is_the_explicit_exception(command, sim, sandbox_config, capsys):
    set_enabled(False)
    sim.clear_requests()
    assert run(command, "--while-disabled", "--environment", "sandbox") == 0
    assert capsys.readouterr().out.startswith("OK (Sandbox)")
    assert sim.api_call_count() >= 1
    assert AutotaskSettings.load().enabled is False  # the flag enables nothing


@pytest.mark.parametrize("command", COMMANDS)
def test_enabled_integration_needs_no_flag(command, sim, sandbox_config, capsys):
    set_enabled(True)
    sim.clear_requests()
    assert run(command, "--environment", "sandbox") == 0
    assert sim.api_call_count() >= 1
