"""scripts/run_demo.py's supervisor (`make run`): prefixed output, a crashed child reported, one stop for all,
and SIGTERM to the demo stops every child. Real child processes (tiny Python programs)."""

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def run_demo_module():
    spec = importlib.util.spec_from_file_location("run_demo_sup", ROOT / "scripts" / "run_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def py(code):
    return [sys.executable, "-c", textwrap.dedent(code)]


SLEEPER = "import time\nprint('up', flush=True)\nwhile True: time.sleep(0.05)"


def test_output_is_prefixed_and_a_crashed_child_is_reported(capsys):
    module = run_demo_module()
    supervisor = module.Supervisor()
    sleeper = supervisor.start("web", py(SLEEPER))
    supervisor.start("worker", py("print('working'); raise SystemExit(3)"))
    name, code = supervisor.watch(poll_seconds=0.01)
    supervisor.stop()
    assert (name, code) == ("worker", 3)
    assert sleeper.poll() is not None  # stopped with the others
    out = capsys.readouterr().out
    assert "worker   | working" in out


def test_run_once_is_not_watched_and_prints_everything(capsys):
    module = run_demo_module()
    supervisor = module.Supervisor()
    assert supervisor.run_once("setup", py("print('a'); print('b'); raise SystemExit(0)")) == 0
    assert supervisor.children == {}
    out = capsys.readouterr().out
    assert "setup    | a\nsetup    | b\n" in out


def test_stop_kills_a_child_that_ignores_sigterm(monkeypatch, tmp_path):
    module = run_demo_module()
    monkeypatch.setattr(module, "STOP_GRACE_SECONDS", 0.5)
    ready = tmp_path / "ready"
    supervisor = module.Supervisor()
    stubborn = supervisor.start(
        "stubborn",
        py(
            "import pathlib, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"pathlib.Path({str(ready)!r}).touch()\nwhile True: time.sleep(0.05)"
        ),
    )
    while not ready.exists():  # the child has installed its handler
        assert stubborn.poll() is None
    supervisor.stop()
    assert stubborn.returncode == -signal.SIGKILL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_demo_stops_every_child(tmp_path, signum):
    """The real main() with its manage.py children replaced by sleepers: SIGTERM or SIGINT (Ctrl-C, also when
    the demo inherited SIGINT as ignored) → all children gone."""
    pids = tmp_path / "pids"
    program = tmp_path / "demo.py"
    program.write_text(
        textwrap.dedent(
            f"""
            import importlib.util, sys
            spec = importlib.util.spec_from_file_location("run_demo", {str(ROOT / "scripts" / "run_demo.py")!r})
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.COMMANDS = module.ROOT / "no-such-dir"  # no simulator in this test
            module.ENV_FILE = module.ROOT / "no-such-env"
            sleeper = {SLEEPER!r}
            original_start = module.Supervisor.start
            def start(self, name, argv, **kw):
                code = "print('ok')" if name == "ingest" else sleeper
                child = original_start(self, name, [sys.executable, "-c", code], **kw)
                with open({str(pids)!r}, "a") as f:
                    f.write(f"{{name}} {{child.pid}}\\n")
                return child
            module.Supervisor.start = start
            sys.exit(module.main(["--port", "1", "--simulator-port", "2"]))
            """
        )
    )
    demo = subprocess.Popen(  # noqa: S603
        [sys.executable, str(program)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # like a shell's background job
    )
    for line in demo.stdout:  # wait until the demo says it is running
        if "Ctrl-C stops all" in line:
            break
    started = dict(line.split() for line in pids.read_text().splitlines())
    assert set(started) == {"ingest", "web", "worker", "scheduler"}
    demo.send_signal(signum)
    try:
        code = demo.wait(timeout=30)
    except subprocess.TimeoutExpired:
        demo.kill()
        for pid in started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
        pytest.fail(f"the demo did not stop on signal {signum}")
    rest = demo.stdout.read()
    assert code == 0
    assert "Stopping" in rest
    for name in ("web", "worker", "scheduler"):
        pid = int(started[name])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # a zombie is not running: only its parent (gone now) could reap it
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        assert state == "Z", f"{name} still running"
