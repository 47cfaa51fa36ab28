"""A faithful, stdlib-only simulator of the Autotask PSA REST API (see docs/simulator.md).

from integrations.autotask.simulator import AutotaskSimulator, SANDBOX, PRODUCTION
sim = AutotaskSimulator()                       # a WSGI app with two seeded tenants
httpx.Client(transport=httpx.WSGITransport(app=sim), base_url="https://webservices.autotask.net")
"""

from .app import AutotaskSimulator, RequestRecord, SimulatorConfig
from .faults import MODES as FAULT_MODES
from .faults import SimulatedConnectionDrop
from .tenants import PICKLISTS, PRODUCTION, ROLES, SANDBOX, TENANTS, Tenant

__all__ = [
    "FAULT_MODES",
    "PICKLISTS",
    "PRODUCTION",
    "ROLES",
    "SANDBOX",
    "TENANTS",
    "AutotaskSimulator",
    "RequestRecord",
    "SimulatedConnectionDrop",
    "SimulatorConfig",
    "Tenant",
]
