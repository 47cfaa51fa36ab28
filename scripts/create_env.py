"""Create a local .env with freshly generated keys, unless one exists. Used by `make run`.

The file is git-ignored: keys generated here never leave this machine.
"""

import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"

TEMPLATE = """\
# Local development settings, created by `make run`. Never commit this file.
DEBUG=true
SECRET_KEY={secret_key}
FERNET_KEYS={fernet_key}
ALLOWED_HOSTS=127.0.0.1,localhost
TIME_ZONE=UTC
# The bundled Autotask simulator that `make run` starts; remove to use the real Autotask.
AUTOTASK_ZONE_INFO_URL=http://127.0.0.1:{sim_port}/atservicesrest/v1.0/zoneInformation
"""


def main():
    if ENV_FILE.exists():
        return
    sim_port = sys.argv[1] if len(sys.argv) > 1 else "8001"
    content = TEMPLATE.format(
        secret_key=secrets.token_urlsafe(50),
        fernet_key=secrets.token_urlsafe(32),
        sim_port=sim_port,
    )
    # Owner-only from the first byte: the keys are never readable by others, not even briefly.
    fd = os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    print(f"Created {ENV_FILE.name} with fresh keys.")


if __name__ == "__main__":
    main()
