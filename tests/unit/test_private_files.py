"""Issue 12.10: var/ is 0700 and the SQLite database with its -wal and -shm files 0600."""

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from backupchecks.private_files import private_dir, private_sqlite_file

ROOT = Path(__file__).resolve().parents[2]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_dir_is_created_and_tightened(tmp_path):
    created = private_dir(tmp_path / "var")
    assert mode(created) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    private_dir(loose)
    assert mode(loose) == 0o700


def test_sqlite_file_and_its_wal_and_shm_are_owner_only(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask, which gave 0644 files
    try:
        database = tmp_path / "db.sqlite3"
        private_sqlite_file(database)
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE t (x)")
            db.execute("INSERT INTO t VALUES (1)")
            for suffix in ("", "-wal", "-shm"):
                assert Path(f"{database}{suffix}").exists(), suffix
                assert mode(f"{database}{suffix}") == 0o600, suffix
    finally:
        os.umask(old_umask)


def test_existing_world_readable_files_are_tightened(tmp_path):
    database = tmp_path / "db.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").write_bytes(b"")
        os.chmod(f"{database}{suffix}", 0o644)
    private_sqlite_file(database)
    assert {mode(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")} == {0o600}


def test_settings_make_the_configured_database_owner_only(tmp_path):
    database = tmp_path / "site.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "x", "FERNET_KEYS": "x"}
    subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert mode(database) == 0o600
    assert mode(ROOT / "var") == 0o700
