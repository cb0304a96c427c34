"""gem_envoy.sim: a simulated Enphase IQ Gateway over real HTTPS, for tests and benchmarks.

An independent implementation of the gateway (it shares no code with the client): a synthetic
plant whose numbers move like a real one, or the replay of a capture folder, behind the
gateway's token and session authentication. See `start_simulator` and `SimOptions`; the
simulator's own routes (stats, tokens, plant overrides, faults) are described in `control`,
the faults it can inject in `faults`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .auth import TokenIssuer
    from .certs import make_server_context
    from .faults import Fault
    from .options import SimOptions
    from .plant import PlantConfig
    from .server import SimServer, start_simulator

# Each name is imported when first asked for: `gem-envoy --help` imports `sim.cli`, and with
# it this package, but needs neither the server nor its cryptography.
_HOME = {
    "Fault": "faults",
    "PlantConfig": "plant",
    "SimOptions": "options",
    "SimServer": "server",
    "TokenIssuer": "auth",
    "make_server_context": "certs",
    "start_simulator": "server",
}


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "Fault",
    "PlantConfig",
    "SimOptions",
    "SimServer",
    "TokenIssuer",
    "make_server_context",
    "start_simulator",
]
