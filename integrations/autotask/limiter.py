"""Per-endpoint concurrency limiter.

Autotask allows 3 concurrent requests per (tracking identifier, object endpoint) for integrations
created after 2023.1 and rejects the 4th immediately with "Itgenatr005" (docs/autotask-api.md §11). Sub-paths
count against their root entity: ``/Tickets/5/Notes`` and ``/Tickets/entityInformation/fields`` both
use the ``Tickets`` budget. A client shared by threads therefore waits here instead of being refused.
"""

import threading
from contextlib import contextmanager

DEFAULT_CONCURRENCY = 3


class EndpointLimiter:
    """At most ``limit`` requests in flight per endpoint key (case-insensitive)."""

    def __init__(self, limit=DEFAULT_CONCURRENCY):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._semaphores = {}
        self._lock = threading.Lock()

    def _semaphore(self, endpoint):
        key = (endpoint or "").casefold()
        with self._lock:
            sem = self._semaphores.get(key)
            if sem is None:
                sem = self._semaphores[key] = threading.BoundedSemaphore(self.limit)
            return sem

    @contextmanager
    def slot(self, endpoint, timeout=None):
        """Hold one of the endpoint's slots. With ``timeout`` (seconds), raise TimeoutError when none
        frees up in time (the request is then not sent)."""
        sem = self._semaphore(endpoint)
        if not sem.acquire(timeout=timeout):
            raise TimeoutError(f"no free slot for {endpoint} within {timeout} s")
        try:
            yield
        finally:
            sem.release()
