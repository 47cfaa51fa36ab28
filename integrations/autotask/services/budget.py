"""The tenant's shared API budget: which Autotask calls are background work.

Autotask allows ~10,000 requests per hour per tenant, shared by every integration, and 3 concurrent
requests per endpoint per integration (docs/autotask-api.md). Interactive actions (one operator, one
click) are few; background work (bulk jobs, scheduled checks) is what can starve the tenant. Code that
does background work wraps each unit in ``background_work()`` so that every client built inside it paces
itself by the tenant's hourly usage (see the limiter and pacing in this module's later sections).

The flag is a ``ContextVar``: it holds per thread (each worker thread of a bulk job enters it itself) and
per asyncio task, never across them.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_background = ContextVar("autotask_background_work", default=None)


@contextmanager
def background_work(label="background"):
    """Mark the Autotask calls made inside the block (in this thread) as background work.

    ``label`` (e.g. ``"bulk job 12"``, ``"scheduled mapping check"``) names the work in pacing reasons and
    the health page. Nesting keeps the outermost label. Makes no API call and no SQL query itself.
    """
    token = _background.set(_background.get() or label)
    try:
        yield
    finally:
        _background.reset(token)


def background_label():
    """The label of the background work this thread is doing, or None for an interactive action."""
    return _background.get()
