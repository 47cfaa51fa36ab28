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


WHILE_DISABLED_HELP = (
    "Call Autotask even though the integration is disabled (an admin's explicit act, like the settings "
    "page's button). Without it the command refuses while disabled and sends nothing."
)


class IntegrationDisabled(Exception):
    """The integration is disabled and --while-disabled was not given: nothing was sent (exit 2)."""


def refuse_while_disabled(options, what):
    """Raise IntegrationDisabled unless the integration is enabled or ``--while-disabled`` was given.

    Reads the settings row (one SQL query); makes no API call. `what` names the action in the message.
    """
    if options.get("while_disabled"):
        return
    from integrations.autotask.models import AutotaskSettings

    if not AutotaskSettings.load().enabled:
        raise IntegrationDisabled(
            f"the Autotask integration is disabled, so {what} sent nothing to Autotask. Enable it on the "
            "settings page, use the page's button, or pass --while-disabled (an admin's explicit act)."
        )
