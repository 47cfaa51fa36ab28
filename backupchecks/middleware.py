"""Project middleware."""

import logging

from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)


class NoStoreForSignedInUsers:
    """`Cache-Control: no-store` (and friends) on every response to a signed-in user.

    Pages of signed-in users show customers' data and carry CSRF tokens: no browser or proxy cache may keep
    them (the back button after logging out, a shared computer). Static files never get here: WhiteNoise
    answers them earlier in the chain, so they stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class DatabaseBusyMiddleware:
    """A database that is busy or unreachable answers 503 with Retry-After — never a 500.

    SQLite refuses a write with "database is locked" once its busy timeout passes while another writer
    holds the lock; PostgreSQL raises on a lock timeout, a deadlock or a lost connection. All of these are
    `OperationalError`s, and the request's transaction has been rolled back, so nothing was half-written:
    the client may simply retry. `/api/` clients get JSON (`{"detail": …}`), people a short page.
    """

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError):
            return None
        logger.warning("Database busy or unavailable for %s %s: %s", request.method, request.path, exception)
        message = "The database is busy right now; nothing was stored. Please retry in a few seconds."
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(
                f"<!doctype html><title>Busy</title><h1>Busy</h1><p>{message}</p>", status=503
            )
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
