"""One competitor in the two-process race (test_ticket_concurrency.py): `python -m … <run id>`.

Sets Django up from the environment (DATABASE_URL, TEST_AUTOTASK_ZONE_INFO_URL), waits for "go" on stdin,
calls `create_ticket_for_run` and prints one JSON line with what happened.
"""

import json
import os
import sys


def main(run_id):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from integrations.autotask.exceptions import AutotaskError
    from integrations.autotask.services import ActionRefused, tickets
    from runs.models import Run

    run = Run.objects.get(pk=run_id)
    print("ready", flush=True)
    sys.stdin.readline()  # the test releases both processes at once
    try:
        record = tickets.create_ticket_for_run(run)
        result = {"outcome": "created", "ticket_number": record.ticket_number, "ticket_id": record.ticket_id}
    except ActionRefused as exc:
        result = {"outcome": "refused", "code": exc.code, "message": str(exc)}
    except AutotaskError as exc:
        result = {"outcome": "error", "message": str(exc)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
