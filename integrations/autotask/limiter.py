"""Per-endpoint concurrency limiter.

Autotask allows 3 concurrent requests per (tracking identifier, object endpoint) for integrations
created after 2023.1 and rejects the 4th immediately with "Itgenatr005" (docs/autotask-api.md §11). Sub-paths
count against their root entity: ``/Tickets/5/Notes`` and ``/Tickets/entityInformation/fields`` both
use the ``Tickets`` budget. A client shared by threads therefore waits here instead of being refused.
"""

import hashlib
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


_process_limiters = {}
_process_lock = threading.Lock()


def process_limiter(integration_code, limit=DEFAULT_CONCURRENCY):
    """The EndpointLimiter every client of this process shares for one Tracking Identifier (Autotask counts
    the 3 concurrent requests per integration and endpoint), so that several threads — a bulk job's pool,
    web threads — never have more than ``limit`` requests in flight per endpoint together. Keyed by a digest
    (the identifier itself is not kept). Holds within one process only; the database-backed limiter of
    services/budget.py holds across processes."""
    key = hashlib.sha256(str(integration_code or "").encode()).hexdigest()
    with _process_lock:
        limiter = _process_limiters.get(key)
        if limiter is None:
            limiter = _process_limiters[key] = EndpointLimiter(limit)
        return limiter
