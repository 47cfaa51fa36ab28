"""`manage.py autotask_simulator`: serve the Autotask REST simulator on 127.0.0.1 for demos and browser tests."""

from django.core.management.base import BaseCommand, CommandError

from integrations.autotask.simulator import TENANTS, AutotaskSimulator
from integrations.autotask.simulator.server import LOOPBACK, make_server


class Command(BaseCommand):
    help = "Serve the bundled Autotask REST simulator (two demo tenants) on 127.0.0.1. Ctrl-C stops it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=8001, help="TCP port on 127.0.0.1 (0 = any free port)."
        )
        parser.add_argument(
            "--state-file",
            default=None,
            help="JSON file that keeps the simulator's data across restarts (created when missing).",
        )
        parser.add_argument("--seed", type=int, default=1, help="Seed for a fresh state (default 1).")
        parser.add_argument("--verbose-requests", action="store_true", help="Log every request to stderr.")

    def handle(self, *args, port, state_file, seed, verbose_requests, **options):
        simulator = AutotaskSimulator(state_file=state_file, seed=seed)
        try:
            server = make_server(simulator, port=port, verbose=verbose_requests)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}") from exc
        self.server = server  # lets a test shut it down
        bound = server.server_port
        base = f"http://{LOOPBACK}:{bound}"
        self.stdout.write(f"Autotask simulator listening on {base} (loopback only; a local test tool).")
        self.stdout.write(f"Zone discovery URL: {base}/atservicesrest/v1.0/zoneInformation")
        self.stdout.write(f"Control API: {base}/_simulator/ (see docs/simulator.md)")
        if state_file:
            self.stdout.write(f"State file: {state_file}")
        for tenant in TENANTS:
            self.stdout.write(
                f"[{tenant.key}] database id {tenant.database_id}\n"
                f"    username:          {tenant.username}\n"
                f"    secret:            {tenant.secret}\n"
                f"    integration code:  {tenant.integration_code}"
            )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the Autotask simulator.")
        finally:
            server.server_close()
