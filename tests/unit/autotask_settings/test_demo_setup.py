"""`manage.py autotask_demo_setup`: simulator Sandbox credentials, tested, refreshed, defaults, enabled."""

import pytest
from django.core.management import call_command

from integrations.autotask.models import AuditEvent, AutotaskSettings, EnvironmentConfig
from integrations.autotask.services.configuration import configuration_problems
from integrations.autotask.simulator import SANDBOX


def run(*args):
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("autotask_demo_setup", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_configures_and_enables_against_the_simulator(sim, db):
    out, err = run()
    assert err == ""
    assert "Sandbox configured and enabled" in out
    settings = AutotaskSettings.load()
    assert settings.enabled and settings.environment == "sandbox"
    assert settings.base_url == "http://127.0.0.1:8000"
    env = EnvironmentConfig.for_environment("sandbox")
    assert (env.username, env.secret, env.integration_code) == (
        SANDBOX.username,
        SANDBOX.secret,
        SANDBOX.integration_code,
    )
    assert env.database_id == SANDBOX.database_id
    assert (env.queue_id, env.note_publish_id, env.resolved_status_id, env.new_ticket_status_id) == (
        29700109,
        2,
        5,
        1,
    )
    assert configuration_problems() == []
    assert SANDBOX.secret not in out
    assert AuditEvent.objects.filter(action="demo_setup").count() == 1


def test_once_is_idempotent(sim, db):
    run("--once")
    sim.clear_requests()
    out, _ = run("--once")
    assert "already configured" in out
    assert sim.api_call_count() == 0
    assert AuditEvent.objects.filter(action="demo_setup").count() == 1


def test_without_once_it_reconfigures(sim, db):
    run()
    run()
    assert AuditEvent.objects.filter(action="demo_setup").count() == 2
    assert configuration_problems() == []


def test_unreachable_simulator_prints_one_warning_and_exits_0(db, settings):
    settings.AUTOTASK_ZONE_INFO_URL = "http://127.0.0.1:9/atservicesrest/v1.0/zoneInformation"
    out, err = run("--once")  # no SystemExit: exit status 0
    assert out == ""
    assert err.startswith("WARNING: Autotask demo setup failed")
    assert len(err.strip().splitlines()) == 1
    assert AutotaskSettings.load().enabled is False


def test_without_a_zone_override_it_never_contacts_autotask(db, settings):
    settings.AUTOTASK_ZONE_INFO_URL = ""
    out, err = run()
    assert "AUTOTASK_ZONE_INFO_URL is not set" in err
    assert EnvironmentConfig.objects.filter(username=SANDBOX.username).count() == 0


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8123/"])
def test_base_url_option(sim, db, base_url):
    run("--base-url", base_url)
    assert AutotaskSettings.load().base_url == "http://127.0.0.1:8123"
