"""Serve the demo: the bundled Autotask simulator and the web server, side by side. Used by `make run`.

Ctrl-C stops both.
"""

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
COMMANDS = ROOT / "integrations/autotask/management/commands"
ENV_FILE = ROOT / ".env"


def wait_until_answering(url, timeout=20.0):
    """Readiness check: poll until the simulator answers (it starts in well under a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - fixed loopback URL
                return True
        except OSError:
            time.sleep(0.2)
    return False


def update_env_file(zone_url, env_file=ENV_FILE):
    """Point .env's AUTOTASK_ZONE_INFO_URL at `zone_url` when it names a local simulator (127.0.0.1).

    A line pointing elsewhere (a real Autotask, a test host) or no line at all is left alone.
    """
    if not env_file.exists():
        return False
    lines = env_file.read_text().splitlines(keepends=True)
    changed = False
    for index, line in enumerate(lines):
        key, _, value = line.partition("=")
        value = value.strip()
        is_local_simulator = key.strip() == "AUTOTASK_ZONE_INFO_URL" and value.startswith("http://127.0.0.1:")
        if is_local_simulator and value != zone_url:
            lines[index] = f"AUTOTASK_ZONE_INFO_URL={zone_url}\n"
            changed = True
    if changed:
        env_file.write_text("".join(lines))  # keeps the file's owner-only mode
    return changed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default="8000")
    parser.add_argument("--simulator-port", default="8001")
    args = parser.parse_args()

    # The demo follows the simulator port it starts: the children get the zone-discovery URL of *this*
    # port (the environment wins over .env), and .env is updated for later manual commands.
    zone_url = f"http://127.0.0.1:{args.simulator_port}/atservicesrest/v1.0/zoneInformation"
    os.environ["AUTOTASK_ZONE_INFO_URL"] = zone_url
    update_env_file(zone_url)

    children = []
    if (COMMANDS / "autotask_simulator.py").exists():
        children.append(
            subprocess.Popen(  # noqa: S603 - fixed argv
                [
                    PY,
                    "manage.py",
                    "autotask_simulator",
                    "--port",
                    args.simulator_port,
                    "--state-file",
                    "var/simulator-state.json",
                ],
                cwd=ROOT,
            )
        )
        version_url = f"http://127.0.0.1:{args.simulator_port}/atservicesrest/versioninformation"
        if not wait_until_answering(version_url):
            print("The Autotask simulator did not start; the demo runs without it.", flush=True)
        elif (COMMANDS / "autotask_demo_setup.py").exists():
            # Point the integration at the simulator's sandbox tenant (once): tested, refreshed, enabled.
            subprocess.run(  # noqa: S603 - fixed argv
                [
                    PY,
                    "manage.py",
                    "autotask_demo_setup",
                    "--once",
                    "--base-url",
                    f"http://127.0.0.1:{args.port}",
                ],
                cwd=ROOT,
                check=False,
            )
    subprocess.run(  # noqa: S603 - fixed argv
        [PY, "manage.py", "demo_ingest_example", "--base-url", f"http://127.0.0.1:{args.port}"],
        cwd=ROOT,
        check=False,
    )
    logins = ROOT / "var" / "demo-logins.txt"
    if logins.exists():
        print("\nDemo logins:\n" + logins.read_text())
    print(f"Backupchecks: http://127.0.0.1:{args.port}/  (Ctrl-C to stop)\n", flush=True)
    try:
        subprocess.run(  # noqa: S603 - fixed argv
            [PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"], cwd=ROOT, check=False
        )
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
