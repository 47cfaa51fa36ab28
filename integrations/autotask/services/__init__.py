"""The only code that combines the ORM and the Autotask client.

Views, admin actions, management commands and tasks call these functions; each documents what it
guarantees when called twice, what it costs in API calls and what it raises: `ActionRefused` when a
precondition fails (checked before any API call, so a refused action makes zero Autotask requests), an
`AutotaskError` subclass when Autotask fails.
"""


class ActionRefused(Exception):  # noqa: N818 - the name the issues fix
    """A precondition of a service verb failed; nothing was sent to Autotask and nothing was changed.

    `str(exc)` is a sentence an operator understands (what is wrong and what to do about it); it never
    holds a secret.
    """

    def __init__(self, message, *, code=""):
        super().__init__(message)
        #: a short machine-readable reason ("not_configured", "already_has_ticket", …) for callers and tests
        self.code = code
