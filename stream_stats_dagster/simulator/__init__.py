"""A faithful stand-in for the Cloudflare APIs the project reads: GraphQL Analytics
(`streamMinutesViewedAdaptiveGroups`) and the Stream REST video endpoints, over a synthetic,
seeded creator platform, with Cloudflare's limits, errors and injectable faults.

    sim = Simulator(SimulatorConfig(...))
    client = httpx.Client(transport=sim.transport(), base_url="http://sim/client/v4")
    server = sim.serve(port=0)  # or over HTTP: server.base_url
"""

from __future__ import annotations

import threading

from .app import Simulator, Stats
from .budget import Clock, ManualClock
from .config import SimulatorConfig, small_config
from .faults import Fault, FaultKind
from .graphql_api import stream_schema
from .platform import Platform, Video
from .server import SimulatorServer, run_server

__all__ = [
    "Clock",
    "Fault",
    "FaultKind",
    "ManualClock",
    "Platform",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "Stats",
    "Video",
    "default_simulator",
    "run_server",
    "small_config",
    "stream_schema",
]

_default: Simulator | None = None
_default_lock = threading.Lock()


def default_simulator() -> Simulator:
    """The process-wide simulator at default scale (built on first use, then shared)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Simulator(SimulatorConfig())
        return _default
