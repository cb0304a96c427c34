"""The simulator's options, for the Python API and the command line alike."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from .auth import SESSION_TTL_S, TokenIssuer
from .cloud import CloudOptions
from .faults import Fault
from .plant import PlantConfig

DEFAULT_SERIAL = "122300000001"
DEFAULT_FIRMWARE = "D8.2.4382"


@dataclass
class SimOptions:
    host: str = "127.0.0.1"
    port: int = 0
    """0 = any free port (see `SimServer.port`)."""
    capture: Path | None = None
    """Replay this capture folder instead of simulating a plant."""
    inverters: int = 12
    cts: bool = True
    battery: bool = False
    battery_units: int = 2
    serial: str = DEFAULT_SERIAL
    firmware: str = DEFAULT_FIRMWARE
    utc_offset_s: int | None = None
    """Offset of the plant's local time from UTC; None = this machine's local time."""
    speed: float = 1.0
    """Simulated seconds per real second (0 freezes the plant)."""
    start_time: float | None = None
    """Simulated epoch time at start; None = now."""
    latency_ms: float = 0.0
    """Delay before every gateway answer (not ``/__sim/*``)."""
    weak_inverter: int | None = None
    """Index of an inverter that under-produces (to 60 %)."""
    session_ttl_s: float = SESSION_TTL_S
    idle_timeout_s: float = 75.0
    """A keep-alive connection idle this long is closed."""
    issuer: TokenIssuer | None = None
    """Share one token service among instances; None = a key pair of this instance's own."""
    ssl_context: ssl.SSLContext | None = None
    """Share one certificate among instances; None = a certificate of this instance's own."""
    fault: Fault | None = None
    """A fault set as soon as the simulator listens (see `faults`)."""
    cloud: CloudOptions | None = None
    """Also serve Enphase's cloud (token minting) on a port of its own (see `cloud`)."""
    production_at_least_wh: float = 0.0
    consumption_at_least_wh: float = 0.0
    """Lifetime counters start no lower: to go on from an earlier run (see `PlantConfig`)."""

    def plant_config(self) -> PlantConfig:
        return PlantConfig(
            serial=self.serial,
            inverters=self.inverters,
            cts=self.cts,
            battery=self.battery,
            battery_units=self.battery_units,
            utc_offset_s=self.resolved_utc_offset_s(),
            weak_inverter=self.weak_inverter,
            production_at_least_wh=self.production_at_least_wh,
            consumption_at_least_wh=self.consumption_at_least_wh,
        )

    def resolved_utc_offset_s(self) -> int:
        if self.utc_offset_s is not None:
            return self.utc_offset_s
        start = self.start_time if self.start_time is not None else time.time()
        offset = dt.datetime.fromtimestamp(start).astimezone().utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
