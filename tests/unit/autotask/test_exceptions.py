"""The error family and the operator-message helper."""

import pickle

import pytest

from integrations.autotask import messages
from integrations.autotask.exceptions import (
    AutotaskAuthError,
    AutotaskConfigurationError,
    AutotaskConnectionError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPermissionError,
    AutotaskRateLimitError,
    AutotaskServerError,
    AutotaskValidationError,
)

FAMILY = [
    (AutotaskConfigurationError, ValueError),
    (AutotaskConnectionError, ConnectionError),
    (AutotaskAuthError, None),
    (AutotaskPermissionError, None),
    (AutotaskNotFoundError, LookupError),
    (AutotaskRateLimitError, None),
    (AutotaskValidationError, ValueError),
    (AutotaskServerError, None),
]


@pytest.mark.parametrize(("cls", "builtin"), FAMILY, ids=[c.__name__ for c, _ in FAMILY])
def test_every_error_is_an_autotask_error_with_the_common_attributes(cls, builtin):
    err = cls("Something happened.", status_code=500, errors=["Autotask words."])
    assert isinstance(err, AutotaskError)
    if builtin is not None:
        assert isinstance(err, builtin)
    assert err.status_code == 500
    assert err.errors == ("Autotask words.",)
    assert err.hint  # every class has a default operator hint
    assert isinstance(err.retryable, bool) and err.ambiguous is False
    assert str(err) == f"Something happened — Autotask said: Autotask words. — {err.hint}"


def test_defaults_without_arguments():
    err = AutotaskServerError()
    assert err.status_code is None and err.errors == ()
    assert str(err).startswith("Autotask returned an unexpected answer")


def test_positional_message_like_a_plain_exception():
    err = AutotaskConfigurationError("The Sandbox credentials are incomplete: API secret missing.", hint="")
    assert str(err) == "The Sandbox credentials are incomplete: API secret missing"


def test_reached_autotask_separates_refusals_from_unreachable():
    assert not AutotaskConnectionError().reached_autotask
    assert not AutotaskConfigurationError().reached_autotask
    assert AutotaskAuthError().reached_autotask and AutotaskValidationError().reached_autotask


def test_errors_survive_pickling():
    err = AutotaskRateLimitError(
        "Slow down.",
        kind="hourly",
        usage={"currentTimeframeRequestCount": 5},
        status_code=429,
        ambiguous=False,
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is AutotaskRateLimitError
    assert (copy.kind, copy.usage, copy.status_code, str(copy)) == (err.kind, err.usage, 429, str(err))
    conn = pickle.loads(pickle.dumps(AutotaskConnectionError("Down.", ambiguous=True)))
    assert conn.ambiguous is True and str(conn).startswith("Down")


def test_operator_message():
    err = AutotaskPermissionError("Autotask refused POST Tickets.", hint="this API user lacks permission")
    assert messages.operator_message(err) == str(err)
    assert messages.operator_message(err, "create the ticket") == f"Could not create the ticket: {err}"


def test_operator_message_hides_unexpected_exception_text():
    text = messages.operator_message(RuntimeError("Secret: hunter2"))
    assert "hunter2" not in text and "RuntimeError" in text


def test_error_summary_is_json_friendly():
    err = AutotaskRateLimitError("Busy.", kind="thread", status_code=429, errors=["Itgenatr005"])
    summary = messages.error_summary(err)
    assert summary["error"] == "AutotaskRateLimitError"
    assert summary["title"] == "Autotask is rate limiting"
    assert summary["rate_limit"] == "thread"
    assert summary["errors"] == ["Itgenatr005"] and summary["status_code"] == 429
    assert messages.error_title(AutotaskConnectionError()) == "Autotask could not be reached"
    assert summary["attempts"] == 1


def test_query_errors_have_their_own_title_and_are_value_errors():
    from integrations.autotask.exceptions import AutotaskQueryError

    err = AutotaskQueryError("Refused to send an Autotask query: bad operator.")
    assert messages.error_title(err) == "Autotask query refused before sending"
    assert isinstance(err, ValueError) and err.reached_autotask is False
    assert messages.error_summary(err)["retryable"] is False
