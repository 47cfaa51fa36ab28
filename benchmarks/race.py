"""Benchmark 4 of issue 14: the exactly-once race across processes on PostgreSQL.

    BENCH_POSTGRES_URL=postgres://user:pw@127.0.0.1:5432/postgres python benchmarks/race.py \
        [--runs 200] [--requests 1000] [--threads 24] [--bulk-size 5] [--latency-ms 30]
    python benchmarks/race.py --quick        # --runs 20 --requests 100

As deployed (docs/deployment.md): a throwaway PostgreSQL database (created on the server of
BENCH_POSTGRES_URL / --postgres, dropped at the end), the Autotask simulator served on a real port by
`manage.py autotask_simulator` (with a simulated latency per API request, so that requests overlap), two
gunicorn masters (`--workers 2 --threads 4` each) and two `manage.py db_worker` processes.

`--runs` error runs need tickets (each its own backup job, customers mapped, the integration configured
and enabled). `--requests` create requests for those runs — every run requested requests/runs times — are
shuffled and sent concurrently by a pool of `--threads` HTTP clients, each logged in as an Operator, to
either gunicorn at random: half as single-run create POSTs (`/autotask/runs/<id>/ticket/`, handled by the
web processes), half inside bulk-create POSTs (`/autotask/bulk/start/`, `--bulk-size` runs each) that the
task workers execute. Then it waits for every bulk job to finish.

Checks (one row each, with its ratio to the target; exit 1 when one fails): tickets in the simulator = runs;
runs linked to a ticket = runs; distinct tickets linked = runs (no run shares one); tickets left pending or
unknown = 0; tickets in Autotask without a local record = 0; 5xx answers = 0. Without a PostgreSQL URL it
prints why it skips and exits 0.
"""

import argparse
import contextlib
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
PASSWORD = "race-Operator-pw-1"  # noqa: S105 - a throwaway benchmark user in a throwaway database
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextlib.contextmanager
def throwaway_database(server_url):
    import psycopg

    name = f"bench_race_{os.getpid()}_{secrets.token_hex(3)}"
    admin_url = with_database(server_url, urlsplit(server_url).path.lstrip("/") or "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    """Child processes with their output in log files; all stopped (process group) at the end."""

    def __init__(self, env, log_dir):
        self.env, self.log_dir, self.children = env, Path(log_dir), []

    def start(self, name, argv):
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        child = subprocess.Popen(  # noqa: S603 - fixed argv
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, child, log))
        return child

    def check_alive(self):
        for name, child, _ in self.children:
            if child.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {child.returncode}; see {self.log_dir}/{name}.log"
                )

    def print_logs(self, lines=15):
        for name, _, _ in self.children:
            tail = (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:]
            print(f"--- {name} (last {lines} lines) ---\n" + "\n".join(tail), file=sys.stderr)

    def stop(self):
        for _, child, _ in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        for _, child, log in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            log.close()


def wait_for(url, timeout=60.0):
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def child_environment(database_url, sim_port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTASK_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backupchecks.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(40),
            "FERNET_KEYS": secrets.token_urlsafe(32),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "LOGIN_FAILURE_LIMIT": "1000",
            "AUTOTASK_ZONE_INFO_URL": f"http://127.0.0.1:{sim_port}/atservicesrest/v1.0/zoneInformation",
            "AUTOTASK_MAPPING_CHECK_SCHEDULE": "",
            "AUTOTASK_TICKET_SYNC_SCHEDULE": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def setup_data(args, base_url):
    """In this process (Django on the throwaway database): configure + enable Sandbox, runs, operators."""
    from django.contrib.auth.models import Group, User

    from customers.models import Customer
    from integrations.autotask.client import clear_zone_cache
    from runs.models import BackupJob
    from runs.roles import OPERATOR
    from tests.integration.autotask_tickets.conftest import configure_integration, make_run, map_customer

    clear_zone_cache()
    env_config = configure_integration(base_url=base_url)
    customer = Customer.objects.create(name="Race customer")  # one mapped customer, one job per run
    map_customer(customer, env_config)
    runs = []
    for i in range(args.runs):
        job = BackupJob.objects.create(customer=customer, name=f"Race job {i:04d}")
        runs.append(make_run(job).pk)
    group = Group.objects.get(name=OPERATOR)
    users = []
    for i in range(args.threads):
        user = User.objects.create_user(f"race-op-{i:02d}", password=PASSWORD)
        user.groups.add(group)
        users.append(user.username)
    return env_config.database_id, runs, users


class Operator:
    """One logged-in HTTP client (cookies shared by both gunicorn ports: same host)."""

    def __init__(self, username, ports):
        import httpx

        self.ports = ports
        # No keep-alive: gunicorn closes idle connections after 2 s, and a POST sent on a connection the
        # server is just closing ends in "connection reset" (httpx does not resend it).
        self.client = httpx.Client(
            timeout=120, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        base = f"http://127.0.0.1:{ports[0]}"
        page = self.client.get(f"{base}/login/")
        token = CSRF_INPUT.search(page.text).group(1)
        answer = self.client.post(
            f"{base}/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base}/login/"},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"login as {username} failed: HTTP {answer.status_code}")
        self.token = self.client.cookies.get("csrftoken")

    def post(self, path, data):
        """The HTTP status, or "no answer" when the connection failed (counted, never hidden)."""
        import httpx

        port = random.choice(self.ports)  # noqa: S311 - load spreading, not security
        url = f"http://127.0.0.1:{port}{path}"
        try:
            return self.client.post(
                url, data={**data, "csrfmiddlewaretoken": self.token}, headers={"Referer": url}
            ).status_code
        except httpx.TransportError:
            return "no answer"


def plan_requests(runs, total, bulk_size, rng):
    """[("single", [run]) | ("bulk", [runs…])]: `total` run-requests, shuffled, half of them in bulk POSTs."""
    requests = [runs[i % len(runs)] for i in range(total)]
    rng.shuffle(requests)
    half = total // 2
    singles = [("single", [run]) for run in requests[:half]]
    bulk_part = requests[half:]
    bulks = []
    for start in range(0, len(bulk_part), bulk_size):
        chunk = list(dict.fromkeys(bulk_part[start : start + bulk_size]))  # a run once per POST
        bulks.append(("bulk", chunk))
    posts = singles + bulks
    rng.shuffle(posts)
    return posts


def wait_for_bulk_jobs(processes, timeout):
    from django_tasks_db.models import DBTaskResult

    from integrations.autotask.models import BulkJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        busy = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).count()
        unfinished = BulkJob.objects.exclude(finished_at__isnull=False).count()
        if busy == 0 and unfinished == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"bulk jobs still unfinished after {timeout:.0f} s")


def sim_tickets(sim_url, database_id):
    import httpx

    rows = httpx.get(f"{sim_url}/_simulator/tenants/{database_id}/tickets", timeout=30).json()
    rows = rows.get("tickets", rows) if isinstance(rows, dict) else rows
    return [t for t in rows if (t.get("externalID") or "").startswith("BC-")]


def verify(args, runs, database_id, sim_url, statuses):
    from integrations.autotask.models import AutotaskTicket, RunTicket, TicketState

    created = sim_tickets(sim_url, database_id)
    links = RunTicket.objects.filter(run_id__in=runs)
    linked_runs = links.values("run_id").distinct().count()
    distinct_tickets = links.values("ticket_id").distinct().count()
    left = AutotaskTicket.objects.filter(state__in=[TicketState.PENDING, TicketState.UNKNOWN]).count()
    local_keys = set(AutotaskTicket.objects.values_list("correlation_key", flat=True))
    orphans = sum(1 for t in created if t["externalID"] not in local_keys)
    externals = Counter(t["externalID"] for t in created)
    duplicates = sum(n - 1 for n in externals.values() if n > 1)
    errors = sum(n for code, n in statuses.items() if isinstance(code, int) and code >= 500)
    unanswered = statuses.get("no answer", 0)
    import httpx

    log = httpx.get(f"{sim_url}/_simulator/requests", timeout=60).json()["requests"]
    rejected = sum(1 for r in log if r["status"] == 429)
    print(
        f"race: {len(log)} Autotask requests, {rejected} answered 429 (the simulator's thread limit: a 4th "
        "request in flight per endpoint; the database-wide limiter keeps every process at ≤ 3 together)"
    )
    from integrations.autotask.models import BulkJobItem

    items = Counter(BulkJobItem.objects.values_list("state", flat=True))
    print(f"race: bulk items by outcome {dict(sorted(items.items()))}")
    n = args.runs
    return [
        ("tickets in the simulator", len(created), n),
        ("runs linked to a ticket", linked_runs, n),
        ("distinct tickets linked to the runs", distinct_tickets, n),
        ("tickets left pending or unknown", left, 0),
        ("tickets with a duplicated externalID", duplicates, 0),
        ("Autotask tickets without a local record", orphans, 0),
        ("HTTP 5xx answers", errors, 0),
        ("requests without an HTTP answer", unanswered, 0),
        ("Autotask answers 429 (thread limit)", rejected, 0),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""), metavar="URL")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=24, help="concurrent HTTP clients (operators)")
    parser.add_argument("--bulk-size", type=int, default=5, help="runs per bulk-create POST")
    parser.add_argument("--latency-ms", type=int, default=30, help="simulated latency per API request")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the bulk jobs")
    parser.add_argument("--quick", action="store_true", help="--runs 20 --requests 100 --threads 8")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.requests, args.threads = 20, 100, 8
    if not args.postgres:
        print("race: skipped — set BENCH_POSTGRES_URL (or --postgres URL) to a PostgreSQL server to run it.")
        return 0
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible order, not security
    with throwaway_database(args.postgres) as database_url, tempfile.TemporaryDirectory() as logs:
        sim_port, web_ports = free_port(), [free_port(), free_port()]
        env = child_environment(database_url, sim_port)
        os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
        os.environ["DJANGO_SETTINGS_MODULE"] = "backupchecks.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        env["STATIC_ROOT"] = str(Path(logs) / "static")  # the manifest storage needs collectstatic
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            subprocess.run([PY, "manage.py", *command, "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
        processes = Processes(env, logs)
        try:
            sim_url = f"http://127.0.0.1:{sim_port}"
            processes.start("simulator", [PY, "manage.py", "autotask_simulator", "--port", str(sim_port)])
            wait_for(f"{sim_url}/atservicesrest/versioninformation")
            database_id, runs, users = setup_data(args, f"http://127.0.0.1:{web_ports[0]}")
            import httpx

            httpx.post(f"{sim_url}/_simulator/config", json={"latency_seconds": args.latency_ms / 1000})
            for index, port in enumerate(web_ports):
                processes.start(
                    f"gunicorn{index + 1}",
                    [
                        GUNICORN,
                        "backupchecks.wsgi",
                        "--workers",
                        "2",
                        "--threads",
                        "4",
                        "--timeout",
                        "120",
                        "--bind",
                        f"127.0.0.1:{port}",
                    ],
                )
            for index in range(2):
                processes.start(
                    f"worker{index + 1}",
                    [PY, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
                )
            for port in web_ports:
                wait_for(f"http://127.0.0.1:{port}/login/")
            operators = [Operator(name, web_ports) for name in users]
            posts = plan_requests(runs, args.requests, args.bulk_size, rng)
            statuses, lock = Counter(), threading.Lock()
            next_operator = iter(range(10**9))

            def send(post):
                kind, run_ids = post
                operator = operators[next(next_operator) % len(operators)]
                if kind == "single":
                    code = operator.post(f"/autotask/runs/{run_ids[0]}/ticket/", {"next": "/"})
                else:
                    code = operator.post(
                        "/autotask/bulk/start/", {"action": "create", "runs": [str(r) for r in run_ids]}
                    )
                with lock:
                    statuses[code] += 1

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.threads) as pool:
                list(pool.map(send, posts))
            sent = time.perf_counter() - started
            wait_for_bulk_jobs(processes, args.timeout)
            total = time.perf_counter() - started
            rows = verify(args, runs, database_id, sim_url, statuses)
        except BaseException:
            processes.stop()
            processes.print_logs()
            raise
        processes.stop()
    singles = sum(1 for kind, _ in posts if kind == "single")
    bulk_posts = len(posts) - singles
    print(
        f"race: {args.runs} runs, {args.requests} create requests ({singles} single-run POSTs, "
        f"{args.requests - singles} in {bulk_posts} bulk-create POSTs) from {args.threads} clients to 2 "
        f"gunicorn × 2 workers + 2 db_workers on PostgreSQL, {args.latency_ms} ms simulated latency; "
        f"sent in {sent:.1f} s, all done in {total:.1f} s; HTTP answers {dict(sorted(statuses.items(), key=str))}"
    )
    print("| check | measured | target | ratio |")
    print("|---|---:|---:|---:|")
    failed = []
    for label, measured, target in rows:
        ratio = measured / target if target else (1.0 if measured == 0 else float("inf"))
        ok = measured == target
        print(f"| {label} | {measured} | {target} | {ratio:.2f}{'' if ok else ' **FAIL**'} |")
        if not ok:
            failed.append(label)
    if failed:
        print(f"RACE FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
