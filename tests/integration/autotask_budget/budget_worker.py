"""A separate process for the limiter tests (test_limiter.py): `python -m … <mode> …`.

hold <endpoint> <count> <lease seconds>: take `count` slots, print "held", wait to be killed.
burst <database|process> <threads> <calls>: print "ready", wait for "go" on stdin, then `threads` threads each
make `calls` reads of Tickets through the simulator (TEST_AUTOTASK_ZONE_INFO_URL); print one JSON line.
"""

import json
import os
import sys
import threading


def main(mode, *args):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from integrations.autotask.services import budget
    from integrations.autotask.simulator import SANDBOX

    scope = budget.scope_for(SANDBOX.integration_code)
    if mode == "hold":
        endpoint, count, seconds = args[0], int(args[1]), float(args[2])
        limiter = budget.DatabaseLimiter(scope)
        leases = [limiter.try_take(endpoint, seconds) for _ in range(count)]
        assert all(leases)
        print("held", flush=True)
        threading.Event().wait()  # until SIGKILL
        return
    from django.db import connections

    from integrations.autotask.client import AutotaskClient, Credentials
    from integrations.autotask.exceptions import AutotaskError
    from integrations.autotask.services.connection import budget_hooks

    kind, threads, calls = args[0], int(args[1]), int(args[2])
    creds = Credentials(SANDBOX.username, SANDBOX.secret, SANDBOX.integration_code)
    hooks = budget_hooks(creds)
    if kind == "process":
        hooks.pop("limiter")  # the client's own in-process limiter (the control)
    client = AutotaskClient(creds, max_attempts=1, **hooks)
    client.zone_information()
    ticket_id = next(iter(client.query("Tickets", [{"op": "exist", "field": "id"}], max_records=1)))["id"]
    print("ready", flush=True)
    sys.stdin.readline()
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def work():
        try:
            for _ in range(calls):
                try:
                    client.get("Tickets", ticket_id)
                    key = "ok"
                except AutotaskError:
                    key = "errors"
                with lock:
                    counts[key] += 1
        finally:
            connections.close_all()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
