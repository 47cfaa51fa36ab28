"""The Autotask error family.

Every failure the client sees — a transport problem or a non-2xx answer — becomes exactly one of these
(see ``AutotaskClient._request``). Like django-anymail's errors, each class also inherits from the
closest builtin where that helps callers (``ConnectionError``, ``ValueError``, ``LookupError``).

Attributes every error carries:

``status_code``  the HTTP status, or None (transport failure, configuration problem)
``errors``       Autotask's own ``errors[]`` strings (or its ASP.NET ``Message``), as a tuple
``hint``         one sentence telling the operator what to do
``retryable``    True when repeating the same request later may well succeed
``ambiguous``    True when a *write* may have been applied although it failed (timeout or dropped
                 connection after the request was sent, 5xx without an Autotask error body). Callers
                 that create things (tickets) must reconcile before trying again.
``attempts``     how many requests were sent for this call before giving up (1 for writes)

``str(err)`` is the operator-facing text: what happened, Autotask's words, and the hint. It never
contains a secret, an integration code or a header value — the client scrubs them before building
an error, and transport exceptions are not chained (their request objects carry the headers).
"""


class AutotaskError(Exception):
    """Base class: anything that went wrong talking to Autotask."""

    default_message = "The Autotask request failed."
    default_hint = ""
    default_retryable = False
    #: False when Autotask was never reached (network, misconfiguration): the usual "exit code 2" case.
    reached_autotask = True

    def __init__(
        self,
        message=None,
        *,
        status_code=None,
        errors=(),
        hint=None,
        retryable=None,
        ambiguous=False,
        method=None,
        entity=None,
    ):
        self.message = message or self.default_message
        self.status_code = status_code
        self.errors = tuple(str(e) for e in errors or ())
        self.hint = self.default_hint if hint is None else hint
        self.retryable = self.default_retryable if retryable is None else retryable
        self.ambiguous = ambiguous
        self.method = method
        self.entity = entity
        self.attempts = 1
        super().__init__(self.message)

    def __str__(self):
        message = self.message.rstrip()
        parts = [message[:-1] if message.endswith(".") else message]
        if self.errors:
            parts.append("Autotask said: " + " | ".join(self.errors))
        if self.hint:
            parts.append(self.hint)
        return " — ".join(p for p in parts if p)

    def __repr__(self):
        return f"{type(self).__name__}(status_code={self.status_code!r}, message={self.message!r}, errors={self.errors!r})"

    def __reduce__(self):
        # Keep the keyword-only attributes when pickled (task queues, multiprocessing).
        return _rebuild, (type(self), self.message, self.__dict__.copy())


def _rebuild(cls, message, state):
    err = cls.__new__(cls, message)
    err.__dict__.update(state)
    Exception.__init__(err, message)
    return err


class AutotaskConfigurationError(AutotaskError, ValueError):
    """Backupchecks is configured wrongly (missing credentials, a zone or page URL on a foreign host)."""

    default_message = "The Autotask integration is not configured correctly."
    default_hint = "check the Autotask settings in Backupchecks"
    reached_autotask = False


class AutotaskQueryError(AutotaskError, ValueError):
    """A query Backupchecks refused to send: an operator Autotask does not know (live Autotask silently
    ignores such a clause and answers 200), a malformed group, or more than 500 "OR" conditions that
    cannot be split into exact sub-queries. Nothing was sent."""

    default_message = "The Autotask query was refused before sending."
    default_hint = "this is a bug in Backupchecks' use of the Autotask API; please report it"
    reached_autotask = False


class AutotaskConnectionError(AutotaskError, ConnectionError):
    """Autotask could not be reached, or did not answer in time (DNS, TLS, reset, timeout)."""

    default_message = "Could not reach Autotask."
    default_hint = "check the network connection from this server to Autotask and try again"
    default_retryable = True
    reached_autotask = False


class AutotaskAuthError(AutotaskError):
    """Autotask refused the credentials: 401, an invalid integration code, or an unknown API user."""

    default_message = "Autotask refused the API credentials."
    default_hint = "check the API username and secret; the user must be an API-only user"


class AutotaskPermissionError(AutotaskError):
    """The API user is authenticated but not allowed to do this (403, or Autotask's 500 wording)."""

    default_message = "Autotask refused the request: insufficient permissions."
    default_hint = "this API user lacks permission; check its security level in Autotask"


class AutotaskNotFoundError(AutotaskError, LookupError):
    """404: the entity, path or record does not exist."""

    default_message = "Autotask answered 'not found'."
    default_hint = "the record or entity does not exist (any more) in this Autotask database"


class AutotaskRateLimitError(AutotaskError):
    """Autotask is throttling: the per-endpoint thread limit (429 / Itgenatr005) or the hourly threshold.

    ``kind`` is ``"thread"`` (retry in a moment) or ``"hourly"`` (blocked until usage falls).
    ``usage`` is the last known ThresholdInformation dict, if the client had one.
    """

    default_message = "Autotask is rate limiting this integration."
    default_hint = "Autotask is rate limiting — wait a moment and try again"
    default_retryable = True

    def __init__(self, message=None, *, kind="thread", usage=None, retry_after=None, **kwargs):
        self.kind = kind
        self.usage = usage
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class AutotaskValidationError(AutotaskError, ValueError):
    """Autotask rejected the request's content (400, or 500 with an ``errors`` list about the payload)."""

    default_message = "Autotask rejected the request."
    default_hint = "correct the values listed by Autotask and try again"


class AutotaskServerError(AutotaskError):
    """Autotask failed or answered something the client cannot use (5xx without body, non-JSON, 405,
    a redirect, paging that does not end)."""

    default_message = "Autotask returned an unexpected answer."
    default_hint = (
        "this is usually temporary; try again later, and check Autotask's status page if it persists"
    )
