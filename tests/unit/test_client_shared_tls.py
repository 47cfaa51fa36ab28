"""Every Autotask client of a process shares one TLS context and one per-endpoint limiter per Tracking
Identifier (a bulk job builds a client per run: building a TLS context costs ~100 ms of CPU each time)."""

from integrations.autotask import client as client_module
from integrations.autotask.limiter import process_limiter


def test_network_transports_share_one_tls_context():
    first = client_module._network_transport(lambda: None)
    second = client_module._network_transport(lambda: None)
    assert first._pool._ssl_context is second._pool._ssl_context is client_module._ssl_context()


def test_one_limiter_per_tracking_identifier():
    assert process_limiter("code-a") is process_limiter("code-a")
    assert process_limiter("code-a") is not process_limiter("code-b")
    assert process_limiter("code-a").limit == 3
