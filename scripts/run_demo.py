"""Serve the demo: the bundled Autotask simulator and the web server, side by side. Used by `make run`.

Ctrl-C stops both.
"""

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default="8000")
    parser.add_argument("--simulator-port", default="8001")
    args = parser.parse_args()

    children = []
    simulator_command = ROOT / "integrations/autotask/management/commands/autotask_simulator.py"
    if simulator_command.exists():
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
    logins = ROOT / "var" / "demo-logins.txt"
    if logins.exists():
        print("\nDemo logins:\n" + logins.read_text())
    print(f"Backupchecks: http://127.0.0.1:{args.port}/  (Ctrl-C to stop)\n", flush=True)
    try:
        subprocess.run(  # noqa: S603 - fixed argv
            [PY, "manage.py", "runserver", f"127.0.0.1:{args.port}"], cwd=ROOT, check=False
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
