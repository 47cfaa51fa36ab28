"""Logging filters used by settings.LOGGING."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refused request (any 4xx, e.g. 403 Permission denied) is one log line, not a traceback.

    Django logs `PermissionDenied` and friends on `django.request` with the exception attached; for a
    client error that traceback says nothing an operator needs. Server errors (5xx) keep theirs.
    """

    def filter(self, record):
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
