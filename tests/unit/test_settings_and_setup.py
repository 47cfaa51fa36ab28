"""Settings come from the environment; production-like values pass `check --deploy`; `.env` creation."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_overrides):
    # A minimal environment: nothing the test process set (tests/settings.py exports test values).
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_silent_with_production_values(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FERNET_KEYS": secrets.token_urlsafe(32),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "backupchecks.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_is_a_clear_error(tmp_path):
    result = run_manage(
        "check",
        env_overrides={"FERNET_KEYS": "x", "SECRET_KEY": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"},
    )
    if (ROOT / ".env").exists():
        pytest.skip("a local .env provides SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_create_env_writes_fresh_keys_once(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import create_env
    finally:
        sys.path.pop(0)
    target = tmp_path / ".env"
    monkeypatch.setattr(create_env, "ENV_FILE", target)
    monkeypatch.setattr(sys, "argv", ["create_env.py", "8001"])
    create_env.main()
    first = target.read_text()
    assert "SECRET_KEY=" in first and "FERNET_KEYS=" in first
    assert "127.0.0.1:8001" in first
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    create_env.main()  # never overwrites
    assert target.read_text() == first
    target.unlink()
    create_env.main()
    assert target.read_text() != first  # fresh keys each time a file is created


@pytest.mark.parametrize("path", [".env", "var/db.sqlite3", "var/demo-logins.txt"])
def test_local_secrets_and_data_are_git_ignored(path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(  # noqa: S603
        ["git", "check-ignore", "--quiet", "--no-index", path],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 0, f"{path} is not git-ignored"


def test_python_version_and_exact_pins():
    assert (ROOT / ".python-version").read_text().strip() == "3.12"
    requirements = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements and all("==" in line for line in requirements), requirements
