"""Page render benchmarks: median/p95 time and SQL query count of operator pages, via the test client."""

import statistics
import time
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from runs.models import BackupJob

#: a page smaller than this is most likely still a skeleton view (flagged in the report)
SKELETON_BYTES = 200


@dataclass
class PageTiming:
    page: str
    median_ms: float
    p95_ms: float
    queries: int
    response_bytes: int
    #: every timed request, in ms
    samples: list = None

    @property
    def looks_like_skeleton(self):
        return self.response_bytes < SKELETON_BYTES


def page_urls():
    """(label, url) of the pages to measure at the current database size."""
    # Every job has the same history length in the demo; the busiest one is the worst case.
    job = BackupJob.objects.order_by("customer__name", "name").first()
    return [
        ("Run Checks", reverse("runs:run_checks")),
        ("Job Details", reverse("runs:job_detail", args=[job.pk])),
    ]


def percentile(samples, fraction):
    """Nearest-rank percentile (no interpolation: a p95 is a sample that really happened)."""
    ordered = sorted(samples)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def measure(client, label, url, requests, warmup=2):
    """GET `url` `warmup` + `requests` times; count queries on one extra request (counting slows SQL)."""
    for _ in range(warmup):
        _get(client, url)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        _get(client, url)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = _get(client, url)
    query_count = len(queries)  # read before any other request clears the connection's query log
    return PageTiming(
        page=label,
        median_ms=statistics.median(samples),
        p95_ms=percentile(samples, 0.95),
        queries=query_count,
        response_bytes=len(response.content),
        samples=samples,
    )


def _get(client, url):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} returned {response.status_code}, expected 200")
    return response
