"""gem_envoy.sim: a simulated Enphase IQ Gateway over real HTTPS, for tests and benchmarks.

An independent implementation of the gateway (it shares no code with the client): a synthetic
plant whose numbers move like a real one, or the replay of a capture folder, behind the
gateway's token and session authentication. See `start_simulator` and `SimOptions`; the
simulator's own routes (stats, tokens, plant overrides, faults) are described in `control`,
the faults it can inject in `faults`.
"""

from .auth import TokenIssuer
from .certs import make_server_context
from .faults import Fault
from .options import SimOptions
from .plant import PlantConfig
from .server import SimServer, start_simulator

__all__ = [
    "Fault",
    "PlantConfig",
    "SimOptions",
    "SimServer",
    "TokenIssuer",
    "make_server_context",
    "start_simulator",
]
