"""The one place an Autotask failure becomes text for an operator.

Views (flash messages), services (audit events, stored "last test" text), management commands and tasks
call ``operator_message()``; nobody else formats AutotaskErrors. The text comes from the error itself
(what happened, Autotask's own ``errors[]`` words, and a hint) and never contains a secret: the client
scrubs credentials before building an error.
"""

import re

from .exceptions import (
    AutotaskAuthError,
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPermissionError,
    AutotaskQueryError,
    AutotaskRateLimitError,
    AutotaskServerError,
    AutotaskValidationError,
)

# Short titles, most specific first (for headings, badges, the JSON output of commands).
_TITLES = (
    (AutotaskConfigurationError, "Autotask is not configured correctly"),
    (AutotaskQueryError, "Autotask query refused before sending"),
    (AutotaskConnectionError, "Autotask could not be reached"),
    (AutotaskAuthError, "Autotask refused the login"),
    (AutotaskPermissionError, "Autotask refused: missing permission"),
    (AutotaskNotFoundError, "Not found in Autotask"),
    (AutotaskRateLimitError, "Autotask is rate limiting"),
    (AutotaskValidationError, "Autotask rejected the data"),
    (AutotaskServerError, "Autotask failed"),
    (AutotaskError, "Autotask request failed"),
)

UNEXPECTED = "Unexpected error while talking to Autotask ({name}); the details are in the server log."


def error_title(exc):
    """A short heading for ``exc``."""
    for cls, title in _TITLES:
        if isinstance(exc, cls):
            return title
    return "Unexpected error"


#: what a request was for, in the words of someone who does not know Autotask's endpoint names
_STEPS = {
    ("GET", "zoneInformation"): "finding this API user's Autotask zone",
    ("GET", "ThresholdInformation"): "the sign-in check",
}
_METHOD_VERBS = {"GET": "reading", "POST": "sending or searching", "PATCH": "updating", "PUT": "updating"}


def _entity_words(entity):
    # "TicketNotes" -> "ticket notes"
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", entity).lower()


def step_description(method, endpoint):
    """A request as an admin would describe it: ("GET", "ThresholdInformation") → "the sign-in check"."""
    known = _STEPS.get((method, endpoint))
    if known:
        return known
    return f"{_METHOD_VERBS.get(method, method.lower())} {_entity_words(endpoint)}"


def _plain_words(exc, text):
    """``text`` with the client's "GET ThresholdInformation"-style request names put into plain words."""
    method, endpoint = getattr(exc, "method", None), getattr(exc, "entity", None)
    if not (method and endpoint):
        return text
    words = step_description(method, endpoint)
    text = text.replace(f"{method} {endpoint}", words)
    # hints name the endpoint alone ("lacks permission for Tickets", "requests to Tickets")
    return re.sub(rf"\b(for|to) {re.escape(endpoint)}\b", rf"\1 {_entity_words(endpoint)}", text)


def operator_message(exc, action=None):
    """What the operator should read about ``exc``.

    ``action`` names what was attempted ("create the ticket"): "Could not create the ticket: …".
    Requests are named in plain words ("the sign-in check", not "GET ThresholdInformation").
    Non-Autotask exceptions get a generic sentence (their text may contain anything).
    """
    if isinstance(exc, AutotaskError):
        text = _plain_words(exc, str(exc))
    else:
        text = UNEXPECTED.format(name=type(exc).__name__)
    if action:
        return f"Could not {action}: {text}"
    return text


def error_summary(exc):
    """A JSON-friendly description of ``exc`` (command ``--json`` output, audit details)."""
    if not isinstance(exc, AutotaskError):
        return {"error": type(exc).__name__, "title": error_title(exc), "message": operator_message(exc)}
    summary = {
        "error": type(exc).__name__,
        "title": error_title(exc),
        "message": operator_message(exc),
        "hint": exc.hint,
        "status_code": exc.status_code,
        "errors": list(exc.errors),
        "retryable": exc.retryable,
        "ambiguous": exc.ambiguous,
        "attempts": getattr(exc, "attempts", 1),
    }
    if isinstance(exc, AutotaskRateLimitError):
        summary["rate_limit"] = exc.kind
    return summary
