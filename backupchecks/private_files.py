"""Owner-only files for what holds password hashes, session keys and encrypted secrets.

`var/` (the SQLite database, the demo logins, the simulator's state) is created 0700 and the SQLite file
0600 before SQLite first opens it: SQLite gives its `-wal` and `-shm` files the permissions of the database
file, so they are owner-only too. Existing files from older versions are tightened on start.
"""

import contextlib
import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path):
    """Create `path` (0700) if missing, and make an existing one 0700. Returns the Path."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # someone else's directory: leave it as it is
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def private_sqlite_file(name):
    """Make the SQLite database file `name` (and its -wal/-shm/-journal, if present) owner-only.

    Creates an empty database file 0600 when missing, so SQLite never creates it with the umask's mode.
    In-memory and URI names are left alone.
    """
    name = str(name)
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.exists():
        return
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            with contextlib.suppress(PermissionError):
                os.chmod(companion, PRIVATE_FILE_MODE)
