"""Shared by the Autotask management commands: their output is one clear line (django-health-check style).

Not a command itself (Django skips modules whose name starts with an underscore).
"""

import contextlib
import logging

CLIENT_LOGGER = "integrations.autotask.client"


@contextlib.contextmanager
def quiet_client_logs(verbosity=1):
    """Hide the client's per-request and retry log lines (INFO/WARNING) unless ``--verbosity 2`` or more.

    The console handler writes them to stderr, where they would bury the command's one-line result.
    Errors (level ERROR) still show.
    """
    client_logger = logging.getLogger(CLIENT_LOGGER)
    previous = client_logger.level
    if verbosity < 2:
        client_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        client_logger.setLevel(previous)


def unexpected_line(exc):
    """One line for an exception that is not an AutotaskError (the full traceback with ``--traceback``)."""
    return f"unexpected {type(exc).__name__}; run again with --traceback for the details"
