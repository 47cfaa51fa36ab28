"""Create a local .env with freshly generated keys, unless one exists. Used by `make run`.

The file is git-ignored: keys generated here never leave this machine.
"""

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
    ENV_FILE.write_text(
        TEMPLATE.format(
            secret_key=secrets.token_urlsafe(50),
            fernet_key=secrets.token_urlsafe(32),
            sim_port=sim_port,
        )
    )
    ENV_FILE.chmod(0o600)
    print(f"Created {ENV_FILE.name} with fresh keys.")


if __name__ == "__main__":
    main()
