"""Issue 12.1 (second half): under database contention the ingest API answers JSON 503 + Retry-After —
never an HTML 500 — and no run is lost: the sender's retry stores it.

A real second connection holds the write lock (SQLite: a write transaction; PostgreSQL: an exclusive lock on
the runs table with a short lock_timeout for the request), exactly what a slow writer does.
"""

import json
import threading

import pytest
from django.db import connection, connections, transaction

from customers.models import Customer
from runs.models import IngestToken, Run

pytestmark = pytest.mark.django_db(transaction=True)


class LockHolder(threading.Thread):
    """Holds the database's write lock on the runs table until `release` is set."""

    def __init__(self):
        super().__init__(daemon=True)
        self.locked = threading.Event()
        self.release = threading.Event()
        self.error = None

    def run(self):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":
                        cursor.execute("LOCK TABLE runs_run IN ACCESS EXCLUSIVE MODE")
                    else:
                        cursor.execute("UPDATE runs_run SET summary = summary WHERE id = -1")
                self.locked.set()
                self.release.wait(timeout=30)
        except Exception as exc:  # reported by the test
            self.error = exc
            self.locked.set()
        finally:
            connections.close_all()


def test_ingest_under_contention_is_json_503_and_the_retry_stores_the_run(client):
    Customer.objects.create(name="Acme")
    _, raw = IngestToken.issue("contention")
    body = json.dumps(
        {
            "customer": "Acme",
            "job": "Nightly",
            "status": "error",
            "started_at": "2025-01-31T22:00:00Z",
            "external_id": "c-1",
        }
    )
    headers = {"Authorization": f"Bearer {raw}"}
    holder = LockHolder()
    holder.start()
    assert holder.locked.wait(timeout=10) and holder.error is None
    try:
        with connection.cursor() as cursor:  # wait 0.3 s for the lock instead of the configured 20 s
            if connection.vendor == "postgresql":
                cursor.execute("SET lock_timeout = '300ms'")
            else:
                cursor.execute("PRAGMA busy_timeout = 300")
        response = client.post("/api/runs/", body, content_type="application/json", headers=headers)
    finally:
        holder.release.set()
        holder.join(timeout=10)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert "retry" in response.json()["detail"].lower()
    assert Run.objects.count() == 0  # nothing half-written

    retry = client.post("/api/runs/", body, content_type="application/json", headers=headers)
    assert retry.status_code == 201
    assert Run.objects.filter(source_external_id="c-1").count() == 1


def test_a_broken_schema_is_not_reported_as_busy():
    from django.db import OperationalError

    from backupchecks.middleware import is_transient

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
    except Exception as exc:  # ProgrammingError on PostgreSQL, OperationalError on SQLite
        assert not (isinstance(exc, OperationalError) and is_transient(exc))
