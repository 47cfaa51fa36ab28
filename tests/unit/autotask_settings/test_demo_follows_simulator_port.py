"""`make run SIM_PORT=…`: the demo follows the simulator port it actually started (issue 13, item 2)."""

import importlib.util
import io
from pathlib import Path

from django.core.management import call_command

from integrations.autotask.models import AuditEvent, EnvironmentConfig

ROOT = Path(__file__).resolve().parents[3]


def run_demo_module():
    spec = importlib.util.spec_from_file_location("run_demo", ROOT / "scripts" / "run_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def zone_url(port):
    return f"http://127.0.0.1:{port}/atservicesrest/v1.0/zoneInformation"


def demo_setup(settings, port):
    settings.AUTOTASK_ZONE_INFO_URL = zone_url(port)
    out = io.StringIO()
    call_command("autotask_demo_setup", "--once", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_another_simulator_port_sets_the_demo_up_again(sim, db, settings):
    assert "configured and enabled" in demo_setup(settings, 8101)
    assert "already configured" in demo_setup(settings, 8101)
    out = demo_setup(settings, 8102)
    assert "configured and enabled" in out, out
    assert EnvironmentConfig.for_environment("sandbox").api_url.startswith("http://127.0.0.1:8102/")
    assert AuditEvent.objects.filter(action="demo_setup").count() == 2


def test_env_file_follows_the_port(tmp_path):
    module = run_demo_module()
    env_file = tmp_path / ".env"
    env_file.write_text(f"DEBUG=true\nAUTOTASK_ZONE_INFO_URL={zone_url(8101)}\nTIME_ZONE=UTC\n")
    assert module.update_env_file(zone_url(8102), env_file) is True
    assert env_file.read_text() == f"DEBUG=true\nAUTOTASK_ZONE_INFO_URL={zone_url(8102)}\nTIME_ZONE=UTC\n"
    assert module.update_env_file(zone_url(8102), env_file) is False


def test_env_file_pointing_at_a_real_autotask_is_left_alone(tmp_path):
    module = run_demo_module()
    env_file = tmp_path / ".env"
    text = "AUTOTASK_ZONE_INFO_URL=https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation\n"
    env_file.write_text(text)
    assert module.update_env_file(zone_url(8102), env_file) is False
    assert env_file.read_text() == text
