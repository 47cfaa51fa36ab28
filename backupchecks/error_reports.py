"""Error reports (Django's DEBUG 500 page, the admins' error mail) that never show a secret.

Django turns its sensitive-data filter off under DEBUG (`SafeExceptionReporterFilter.is_active`), and
`make run` sets DEBUG=true: a crash during Autotask's Test connection then showed the typed secret and
Tracking Identifier — and, to a staff member who never typed them, the stored ones. Two layers:

* `AlwaysActiveReporterFilter` (DEFAULT_EXCEPTION_REPORTER_FILTER): `sensitive_variables` /
  `sensitive_post_parameters` apply under any DEBUG value.
* `SecretScrubbingReporter` (DEFAULT_EXCEPTION_REPORTER): whatever still holds a secret — a repr, an
  exception message, a source line, a variable nobody marked — is replaced in the finished report. The
  secrets it looks for are the request's sensitive POST values plus what registered *secret sources*
  return. Apps register sources (`register_secret_source`) because the core must not import them: the
  Autotask app registers its stored secrets and Tracking Identifiers.
"""

import logging

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

logger = logging.getLogger(__name__)

CLEANSED = SafeExceptionReporterFilter.cleansed_substitute
#: shorter values are not scrubbed (they would blank out ordinary words); secrets are far longer
MIN_SECRET_LENGTH = 6

_secret_sources = []


def register_secret_source(source):
    """Register a zero-argument callable returning an iterable of secret strings (read at report time)."""
    if source not in _secret_sources:
        _secret_sources.append(source)


def known_secrets(request=None):
    """Every secret an error report for `request` must not contain, longest first."""
    secrets = set()
    for source in list(_secret_sources):
        try:
            secrets.update(value for value in source() if value)
        except Exception:  # the database may be what failed: report the error, just without this layer
            logger.warning("A secret source failed while building an error report", exc_info=True)
    sensitive = getattr(request, "sensitive_post_parameters", None) if request is not None else None
    if sensitive:
        try:
            post = request.POST
            names = list(post) if sensitive == "__ALL__" else sensitive
            for name in names:
                secrets.update(value for value in post.getlist(name) if value)
        except Exception:
            logger.warning("Could not read the posted sensitive values for an error report", exc_info=True)
    return sorted(
        (s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True
    )


def scrub(text, secrets):
    """`text` with every secret (raw, HTML-escaped or repr-escaped) replaced by stars."""
    from django.utils.html import escape

    for secret in secrets:
        for form in {secret, escape(secret), repr(secret)[1:-1], escape(repr(secret)[1:-1])}:
            if form:
                text = text.replace(form, CLEANSED)
    return text


class AlwaysActiveReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, active under DEBUG too."""

    def is_active(self, request):
        return True


class SecretScrubbingReporter(ExceptionReporter):
    """Django's reporter whose HTML and text output has every known secret replaced."""

    def get_traceback_html(self):
        return scrub(super().get_traceback_html(), known_secrets(self.request))

    def get_traceback_text(self):
        return scrub(super().get_traceback_text(), known_secrets(self.request))
