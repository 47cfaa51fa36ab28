"""Building clients for an environment, and testing a connection."""

from dataclasses import dataclass

from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone

from integrations.autotask.client import AutotaskClient, Credentials
from integrations.autotask.exceptions import AutotaskConfigurationError, AutotaskError
from integrations.autotask.limiter import process_limiter
from integrations.autotask.messages import operator_message
from integrations.autotask.models import AuditEvent

# Tests and the in-process demo swap the HTTP transport here (e.g. httpx.WSGITransport over the
# simulator). None = a real network transport.
_transport_factory = None
_client_options = {}


def set_transport_factory(factory, **client_options):
    """Install a zero-argument callable returning an httpx transport (None restores the default).

    `client_options` go to every AutotaskClient built here (tests pass `sleep=` so that retry backoff
    is recorded instead of slept).
    """
    global _transport_factory, _client_options
    _transport_factory = factory
    _client_options = dict(client_options) if factory else {}


def configured_transport():
    """A transport from the installed factory (tests, the in-process demo), or None for the network."""
    return _transport_factory() if _transport_factory else None


def credentials_for(env_config):
    if not env_config.has_credentials:
        missing = [
            label
            for label, value in (
                ("API username", env_config.username),
                ("API secret", env_config.secret),
                ("Tracking Identifier", env_config.integration_code),
            )
            if not value
        ]
        raise AutotaskConfigurationError(
            f"The {env_config.get_environment_display()} credentials are incomplete: "
            f"{', '.join(missing)} missing."
        )
    return Credentials(
        username=env_config.username,
        secret=env_config.secret,
        integration_code=env_config.integration_code,
        impersonation_resource_id=env_config.impersonation_resource_id,
    )


class CalledInsideTransaction(RuntimeError):
    """A programming error: an Autotask client was built while a database transaction is open."""


def assert_no_transaction():
    """Raise CalledInsideTransaction when any database connection is inside `transaction.atomic()`.

    A slow Autotask must never hold a database lock (on SQLite the whole database): claim in one short
    transaction, call Autotask outside it, record the outcome in another. The atomic blocks a test case
    wraps around each test (pytest-django's `db`) do not count.
    """
    for conn in connections.all(initialized_only=True):
        if any(not block._from_testcase for block in conn.atomic_blocks):
            raise CalledInsideTransaction(
                "An Autotask call must not run inside a database transaction (it would hold the lock while "
                "Autotask answers). Call Autotask before or after the transaction."
            )


def build_client(credentials, *, timeout=None):
    """An AutotaskClient for `credentials`. Raises CalledInsideTransaction inside `transaction.atomic()`.

    `timeout` (seconds per HTTP request) defaults to settings.AUTOTASK_TIMEOUT_SECONDS (30).
    """
    assert_no_transaction()
    if timeout is None:
        timeout = getattr(django_settings, "AUTOTASK_TIMEOUT_SECONDS", 30.0)
    transport = _transport_factory() if _transport_factory else None
    # Every client of this process shares one per-endpoint limiter per Tracking Identifier (bulk jobs run
    # several threads; see limiter.process_limiter).
    options = {"limiter": process_limiter(credentials.integration_code), **_client_options}
    return AutotaskClient(credentials, transport=transport, timeout=timeout, **options)


@dataclass(frozen=True)
class ConnectionResult:
    zone_name: str
    api_url: str
    web_url: str
    database_id: int | None  # None when Autotask's zone answer has no `ci`
    requests_used: int | None
    requests_limit: int | None

    @property
    def usage_text(self):
        if self.requests_used is None:
            return "unknown"
        return f"{self.requests_used:,} of {self.requests_limit:,} requests this hour"

    def as_dict(self):
        return {
            "zone_name": self.zone_name,
            "api_url": self.api_url,
            "web_url": self.web_url,
            "database_id": self.database_id,
            "requests_used_this_hour": self.requests_used,
            "requests_limit_per_hour": self.requests_limit,
        }


#: the overall deadline (seconds) of a connection test — the settings page's button and the command
PROBE_DEADLINE_SECONDS = 15


def probe(credentials):
    """Zone discovery + one authenticated call (ThresholdInformation). Raises AutotaskError.

    Costs at most 2 API calls (zone discovery is cached per username inside the client). The whole probe,
    retries included, ends within PROBE_DEADLINE_SECONDS (an admin is waiting on the button).
    """
    with build_client(credentials) as client, client.overall_deadline(PROBE_DEADLINE_SECONDS):
        zone = client.zone_information()
        threshold = client.threshold_information()
    return ConnectionResult(
        zone_name=zone.name,
        api_url=zone.api_url,
        web_url=zone.web_url or "",
        database_id=zone.database_id,
        requests_used=threshold.get("currentTimeframeRequestCount"),
        requests_limit=threshold.get("externalRequestThreshold"),
    )


def apply_connection_result(env_config, result):
    """Copy a successful ConnectionResult onto `env_config` (not saved)."""
    env_config.zone_name = result.zone_name
    env_config.api_url = result.api_url
    env_config.web_url = result.web_url
    env_config.database_id = result.database_id
    env_config.last_tested_at = timezone.now()
    env_config.last_test_ok = True
    env_config.last_test_message = f"Connected to zone {result.zone_name}; {result.usage_text}."


def check_connection(env_config, *, user=None):
    """Test the stored credentials of `env_config`; record the outcome on it and in the audit log.

    Allowed while the integration is disabled (it is an admin's explicit action). Returns a
    ConnectionResult or raises AutotaskError (also recorded). Safe to repeat.
    """
    try:
        result = probe(credentials_for(env_config))
    except AutotaskError as exc:
        env_config.last_tested_at = timezone.now()
        env_config.last_test_ok = False
        env_config.last_test_message = operator_message(exc)[:500]  # shown on the settings page
        env_config.save(update_fields=["last_tested_at", "last_test_ok", "last_test_message"])
        AuditEvent.record_failure("test_connection", exc, user=user, environment=env_config.environment)
        raise
    apply_connection_result(env_config, result)
    env_config.save()
    AuditEvent.record(
        "test_connection",
        user=user,
        environment=env_config.environment,
        message=env_config.last_test_message,
        database_id=result.database_id,
    )
    return result
