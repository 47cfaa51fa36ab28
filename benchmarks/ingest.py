"""Ingestion throughput: POST /api/runs/ with full batches of new runs, then one re-post (all duplicates)."""

import json
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from runs.models import BackupJob, IngestToken


@dataclass
class IngestTiming:
    batch_size: int
    batches: int
    median_ms: float
    runs_per_second: float
    queries: int
    repost_ms: float


def available():
    """True when the ingestion endpoint is implemented (runs/ingest.py exists)."""
    try:
        import runs.ingest  # noqa: F401
    except ImportError:
        return False
    return True


def _batch(jobs, size, tag, now):
    items = []
    for i in range(size):
        job = jobs[i % len(jobs)]
        started = now - timedelta(hours=2, minutes=i % 600)
        items.append(
            {
                "customer": job.customer.name,
                "job": job.name,
                "started_at": started.isoformat(),
                "finished_at": (started + timedelta(minutes=42)).isoformat(),
                "status": ("success", "success", "success", "warning", "error")[i % 5],
                "summary": "Backup completed successfully (12.4 GB transferred)",
                "details": "Processed 14 of 14 items.",
                "external_id": f"bench-{tag}-{i}",
            }
        )
    return items


def measure(client, batches=5, batch_size=None, tag="0"):
    """POST `batches` batches of `batch_size` new runs (default: settings.INGEST_MAX_ITEMS)."""
    batch_size = batch_size or settings.INGEST_MAX_ITEMS
    _, raw_token = IngestToken.issue("benchmark")
    headers = {"Authorization": f"Bearer {raw_token}"}
    jobs = list(BackupJob.objects.select_related("customer").order_by("pk")[:batch_size])
    url = reverse("api:runs_ingest")
    now = timezone.now()

    def post(items):
        response = client.post(url, json.dumps(items), content_type="application/json", headers=headers)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {url} returned {response.status_code}: {response.content[:300]!r}")
        return response

    samples = []
    last = None
    for n in range(batches):
        last = _batch(jobs, batch_size, f"{tag}-{n}", now)
        started = time.perf_counter()
        post(last)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        post(_batch(jobs, batch_size, f"{tag}-counted", now))
    query_count = len(queries)  # now: the next request clears the connection's query log
    started = time.perf_counter()
    post(last)  # every item already present: the idempotent path
    repost_ms = (time.perf_counter() - started) * 1000

    median = statistics.median(samples)
    return IngestTiming(
        batch_size=batch_size,
        batches=batches,
        median_ms=median,
        runs_per_second=batch_size / (median / 1000),
        queries=query_count,
        repost_ms=repost_ms,
    )
