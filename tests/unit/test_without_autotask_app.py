"""The core site works without the Autotask app: removing "integrations.autotask" from INSTALLED_APPS
leaves every page rendering and every write working (architecture §2, dependency direction)."""

import ast
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.test import modify_settings
from django.urls import reverse

from backupchecks import extensions
from customers.models import Customer
from runs import signals
from runs.models import BackupJob, Run

ROOT = Path(__file__).resolve().parents[2]
CORE_PACKAGES = ["backupchecks", "customers", "runs"]


def _from_integrations(obj):
    return (getattr(obj, "__module__", None) or type(obj).__module__ or "").startswith("integrations")


@pytest.fixture
def without_autotask(monkeypatch):
    """The Autotask app uninstalled, and whatever its ready() registered (slots, receivers) disconnected."""
    monkeypatch.setattr(
        extensions, "_registry", [e for e in extensions._registry if not _from_integrations(e)]
    )
    monkeypatch.setattr(
        extensions,
        "_policies",
        {
            name: [f for f in funcs if not _from_integrations(f)]
            for name, funcs in extensions._policies.items()
        },
    )
    for signal in (signals.run_recorded, signals.run_reviewed):
        kept = [r for r in signal.receivers if not _from_integrations(r[1]() if callable(r[1]) else r[1])]
        monkeypatch.setattr(signal, "receivers", kept)
        monkeypatch.setattr(signal, "sender_receivers_cache", {})
    with modify_settings(INSTALLED_APPS={"remove": ["integrations.autotask"]}):
        assert not apps.is_installed("integrations.autotask")
        yield


@pytest.fixture
def run(db):
    job = BackupJob.objects.create(customer=Customer.objects.create(name="Acme"), name="Image")
    return Run.objects.create(
        job=job, status="error", summary="Disk full", started_at=datetime(2025, 3, 10, 22, tzinfo=UTC)
    )


def test_core_pages_render_without_the_autotask_app(without_autotask, operator_client, run):
    pages = {
        reverse("runs:run_checks"): "Disk full",
        reverse("runs:run_detail", args=[run.pk]): "Disk full",
        reverse("runs:job_detail", args=[run.job_id]): "Image",
        reverse("customers:customer_list"): "Acme",
        reverse("customers:customer_detail", args=[run.job.customer_id]): "Image",
    }
    for url, text in pages.items():
        response = operator_client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
        assert "extension-error" not in response.content.decode(), url


def test_core_writes_work_without_the_autotask_app(
    without_autotask, operator_client, run, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert operator_client.post(reverse("runs:review_runs"), {"runs": [run.pk]}).status_code == 302
    response = operator_client.post(
        reverse("runs:run_ticket_number", args=[run.pk]), {"manual_ticket_number": "T-1"}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.reviewed_at is not None and run.manual_ticket_number == "T-1"


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_code_never_imports_integrations():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for package in CORE_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if name == "integrations" or name.startswith("integrations.")
    ]
    assert offenders == []


def test_fresh_process_without_the_app_never_loads_it(tmp_path):
    """A fresh process whose settings omit the app serves every page and never imports integrations.autotask
    (so nothing in core reaches it through URLs, templates or imports)."""
    (tmp_path / "settings_without_autotask.py").write_text(
        "from tests.settings import *  # noqa\n"
        "INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'integrations.autotask']\n"
        "ALLOWED_HOSTS = ['testserver']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
    )
    script = textwrap.dedent(
        """
        import sys
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from datetime import UTC, datetime
        from django.contrib.auth.models import Group, User
        from django.test import Client
        from customers.models import Customer
        from runs.models import BackupJob, Run
        job = BackupJob.objects.create(customer=Customer.objects.create(name="Acme"), name="Image")
        run = Run.objects.create(job=job, status="error", started_at=datetime(2025, 3, 10, tzinfo=UTC))
        user = User.objects.create_user("op", password="x")
        user.groups.add(Group.objects.get(name="Operator"))
        client = Client()
        client.force_login(user)
        for url in ["/", f"/runs/{run.pk}/", f"/jobs/{job.pk}/", "/customers/", f"/customers/{job.customer_id}/"]:
            status = client.get(url).status_code
            assert status == 200, (url, status)
        assert client.post(f"/runs/{run.pk}/review/", {"reviewed": "1"}).status_code == 302
        loaded = sorted(m for m in sys.modules if m.startswith("integrations.autotask"))
        assert not loaded, loaded
        print("OK")
        """
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "settings_without_autotask",
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "PATH": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
