"""Fault injection: make the next matching request(s) fail the way a real network or Autotask can."""

import threading
from dataclasses import asdict, dataclass

try:  # httpx is a project dependency; stdlib fallback keeps the simulator importable without it.
    from httpx import RemoteProtocolError as _DropBase
except ImportError:  # pragma: no cover
    _DropBase = ConnectionResetError


class SimulatedConnectionDrop(_DropBase):
    """Raised out of the WSGI call after a committed write.

    `httpx.WSGITransport` re-raises application exceptions unchanged, so this subclasses
    `httpx.RemoteProtocolError` (a `TransportError`): an in-process client sees exactly what it sees
    when a real server closes the socket without answering. The threaded server catches it and closes
    the connection without writing a response.
    """

    def __init__(self, message="Server disconnected without sending a response."):
        super().__init__(message)


MODES = (
    "commit_then_drop",  # perform the request, then drop the connection without a response
    "commit_then_500",  # perform the request, then answer 500 with an empty body
    "fail_500",  # do nothing, answer 500 with an empty body
    "delay",  # perform the request, then sleep `seconds` before answering
    "thread_threshold",  # reject like Autotask's thread limit (Itgenatr005)
    "hourly_threshold",  # reject like the hourly request threshold
)
PRE_MODES = {"fail_500", "thread_threshold", "hourly_threshold"}


@dataclass
class Fault:
    mode: str
    entity: str | None = None  # None = any entity; matches the request's entity (child notes: TicketNotes)
    method: str | None = None  # None = any method
    times: int | None = 1  # None = until cleared
    seconds: float | None = None  # for "delay"; None = the configured fault_delay_seconds

    def matches(self, entity, method):
        if self.entity not in (None, "*") and (entity or "").lower() != self.entity.lower():
            return False
        return self.method in (None, "*") or method.upper() == self.method.upper()

    def as_dict(self):
        return asdict(self)


class FaultRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, mode, entity=None, method=None, times=1, seconds=None):
        if mode not in MODES:
            raise ValueError(f"Unknown fault mode {mode!r}; expected one of {', '.join(MODES)}.")
        if times is not None and int(times) < 1:
            raise ValueError("times must be at least 1 (or None for 'until cleared').")
        fault = Fault(mode, entity, method, None if times is None else int(times), seconds)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, entity, method):
        """Consume and return the first fault matching this request, or None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(entity, method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self):
        with self._lock:
            self._faults.clear()

    def list(self):
        with self._lock:
            return [f.as_dict() for f in self._faults]
