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


#: PostgreSQL SQLSTATEs that mean "try again": lock not available, serialization failure, deadlock,
#: statement timeout / cancel, and the connection-exception class (08…) and server shutdown (57P…)
_TRANSIENT_SQLSTATES = ("55P03", "40001", "40P01", "57014", "08", "57P")


def is_transient(exception):
    """True for an OperationalError a retry can cure (busy or unreachable database), not a broken schema."""
    cause = exception.__cause__ or exception
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate.startswith(_TRANSIENT_SQLSTATES)
    text = str(cause).lower()
    if "locked" in text or "busy" in text:  # SQLite: "database is locked", "database table is locked"
        return True
    # psycopg connection failures carry no SQLSTATE; SQLite's schema errors ("no such table") are not transient
    return type(cause).__module__.startswith("psycopg")


class DatabaseBusyMiddleware:
    """A database that is busy or unreachable answers 503 with Retry-After — never a 500.

    SQLite refuses a write with "database is locked" once its busy timeout passes while another writer
    holds the lock; PostgreSQL raises on a lock timeout, a deadlock or a lost connection. The request's
    transaction has been rolled back, so nothing was half-written: the client may simply retry. Other
    OperationalErrors (a missing table after a deploy without `migrate`) stay 500s. `/api/` clients get JSON (`{"detail": …}`), people a short page.
    """

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError) or not is_transient(exception):
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
