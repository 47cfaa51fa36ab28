"""Serve the demo: the Autotask simulator, the web server, a task worker and the scheduler. Used by `make run`.

Children (each a `manage.py` process, output prefixed with its name):
    simulator  `autotask_simulator`   the bundled fake Autotask (when the app ships it)
    web        `runserver`            Backupchecks itself
    worker     `db_worker`            runs django.tasks work (bulk jobs, mapping checks, ticket sync)
    scheduler  `crontask`             enqueues the scheduled mapping check and ticket status sync

One Ctrl-C (SIGINT) or SIGTERM stops them all (SIGTERM, then SIGKILL after 10 s). When a child exits on its
own, that is reported with its exit code and the others are stopped too; the exit code is then 1.
Production runs the same processes separately (docs/deployment.md).
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
COMMANDS = ROOT / "integrations/autotask/management/commands"
ENV_FILE = ROOT / ".env"
STOP_GRACE_SECONDS = 10.0
_print_lock = threading.Lock()


def say(name, line):
    """Print one line prefixed with the child's name (whole lines only, threads do not interleave)."""
    with _print_lock:
        sys.stdout.write(f"{name:<9}| {line.rstrip()}\n")
        sys.stdout.flush()


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


class Supervisor:
    """Long-running children with prefixed output; stops them all together."""

    def __init__(self, cwd=ROOT):
        self.cwd = cwd
        self.children = {}  # name -> Popen
        self.stopping = False

    def start(self, name, argv, *, watched=True):
        """Start `argv`; a `watched` child stopping on its own ends the demo (see watch())."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Own session: a terminal's Ctrl-C reaches only this supervisor, which then stops every child in
        # order (no tracebacks from four processes interrupted at once).
        child = subprocess.Popen(  # noqa: S603 - fixed argv
            argv,
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        child.pumped = threading.Event()
        if watched:
            self.children[name] = child
        threading.Thread(target=self._pump, args=(name, child), daemon=True).start()
        return child

    def _pump(self, name, child):
        for line in child.stdout:
            say(name, line)
        child.pumped.set()

    @staticmethod
    def pumps_done(child, timeout=5.0):
        """Wait until every line of an ended child has been printed."""
        child.pumped.wait(timeout)

    def run_once(self, name, argv):
        """Run a one-shot command to its end, output prefixed; returns its exit code."""
        child = self.start(name, argv, watched=False)
        code = child.wait()
        self.pumps_done(child)
        return code

    def watch(self, poll_seconds=0.5):
        """Block until a child exits on its own (returns its name and code) or stop() is called."""
        while not self.stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    self.pumps_done(child)
                    return name, code
            time.sleep(poll_seconds)
        return None, None

    def stop(self):
        self.stopping = True
        running = [(name, child) for name, child in self.children.items() if child.poll() is None]
        for _, child in running:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in running:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say("run_demo", f"{name} did not stop within {STOP_GRACE_SECONDS:.0f} s; killing it")
                _signal_group(child, signal.SIGKILL)
                child.wait()


def _signal_group(child, signum):
    """Signal the child's whole process group (its own session): a reloader's grandchild goes too."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def manage(*args):
    return [PY, "manage.py", *args]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default="8000")
    parser.add_argument("--simulator-port", default="8001")
    parser.add_argument("--no-worker", action="store_true", help="Do not start a db_worker.")
    parser.add_argument("--no-scheduler", action="store_true", help="Do not start the crontask scheduler.")
    args = parser.parse_args(argv)

    # The demo follows the simulator port it starts: the children get the zone-discovery URL of *this*
    # port (the environment wins over .env), and .env is updated for later manual commands.
    zone_url = f"http://127.0.0.1:{args.simulator_port}/atservicesrest/v1.0/zoneInformation"
    os.environ["AUTOTASK_ZONE_INFO_URL"] = zone_url
    update_env_file(zone_url)

    supervisor = Supervisor()

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C even when started from a shell that ignores SIGINT for background jobs (the handler would be
    # inherited as "ignore"; the children are in their own sessions and are stopped by stop()).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    crashed = None
    try:
        if (COMMANDS / "autotask_simulator.py").exists():
            supervisor.start(
                "simulator",
                manage(
                    "autotask_simulator",
                    "--port",
                    args.simulator_port,
                    "--state-file",
                    "var/simulator-state.json",
                ),
            )
            version_url = f"http://127.0.0.1:{args.simulator_port}/atservicesrest/versioninformation"
            if not wait_until_answering(version_url):
                say("run_demo", "The Autotask simulator did not start; the demo runs without it.")
            elif (COMMANDS / "autotask_demo_setup.py").exists():
                # Point the integration at the simulator's sandbox tenant (once): tested, refreshed, enabled.
                supervisor.run_once(
                    "setup",
                    manage("autotask_demo_setup", "--once", "--base-url", f"http://127.0.0.1:{args.port}"),
                )
        supervisor.run_once(
            "ingest", manage("demo_ingest_example", "--base-url", f"http://127.0.0.1:{args.port}")
        )

        supervisor.start("web", manage("runserver", "--noreload", f"127.0.0.1:{args.port}"))
        if not args.no_worker:
            supervisor.start("worker", manage("db_worker", "--interval", "1"))
        if not args.no_scheduler:
            supervisor.start("scheduler", manage("crontask", "--no-heartbeat"))

        logins = ROOT / "var" / "demo-logins.txt"
        if logins.exists():
            with _print_lock:
                print("\nDemo logins:\n" + logins.read_text(), flush=True)
        say(
            "run_demo",
            f"Backupchecks: http://127.0.0.1:{args.port}/  ({', '.join(supervisor.children)} running; "
            "Ctrl-C stops all)",
        )
        crashed = supervisor.watch()
        if crashed[0] is not None:
            say("run_demo", f"{crashed[0]} exited with code {crashed[1]}; stopping the others.")
    except KeyboardInterrupt:
        say("run_demo", "Stopping …")
    finally:
        supervisor.stop()
    return 1 if crashed and crashed[0] is not None else 0


if __name__ == "__main__":
    sys.exit(main())
