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


def test_a_stacked_limiter_holds_every_layer_and_gives_back_what_it_took_when_one_is_full():
    from integrations.autotask.limiter import EndpointLimiter, StackedLimiter

    local, shared = EndpointLimiter(2), EndpointLimiter(1)
    stacked = StackedLimiter(local, shared)
    with stacked.slot("Tickets", timeout=1):
        # the shared layer is full: the second request waits its (zero) time out and is not sent …
        try:
            with stacked.slot("tickets", timeout=0):
                raise AssertionError("a second slot of a 1-slot layer")
        except TimeoutError:
            pass
        # … and the local slot it had taken is back: both local slots are free besides the held one
        with local.slot("Tickets", timeout=0):
            pass
    with stacked.slot("Tickets", timeout=0):  # everything was released on the way out
        pass
