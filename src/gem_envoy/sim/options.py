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
from .latency_profile import PROFILES
from .livedata_switch import DEFAULT_TIMEOUT_S, WHEN_DISABLED
from .plant import PlantConfig

STREAM_INTERVAL_S = 1.0

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
    storage_ct: bool = True
    """With a battery and CTs: a CT on the battery's circuit too, as both captured metered
    battery sites have (an IQ Combiner's third CT)."""
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
    latency_profile: str = "none"
    """``none``, or ``field``: each gateway answer after a service time drawn per endpoint
    from `latency_profile`, one request at a time, counted as busy time in the stats."""
    latency_seed: int = 0
    """Seeds the field profile's draws, so that runs repeat."""
    latency_scale: float = 1.0
    """Real seconds slept per second of drawn service time (the busy time counts the drawn
    time): below 1 a benchmark runs an hour of cycles in seconds, with the same busy time."""
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
    phases: int = 2
    """1 single-phase, 2 split-phase, 3 three-phase: how many phases (lines, channels) every
    per-phase view shows; on 3 the house load is unequal between phases (see `phases`)."""
    stream_interval_s: float = STREAM_INTERVAL_S
    """Real seconds between two ``/stream/meter`` events (a capture's too)."""
    livedata_timeout_s: float = DEFAULT_TIMEOUT_S
    """How long ``POST /ivp/livedata/stream`` ``{"enable": 1}`` keeps ``sc_stream`` enabled,
    in real seconds (see `livedata_switch`)."""
    livedata_when_disabled: str = "frozen"
    """What ``/ivp/livedata/status`` shows while ``sc_stream`` is disabled: ``frozen`` (the
    values of the moment it was disabled, or of start-up) or ``refreshing``."""
    clock_power: bool = False
    """The freshness probe: total production reads the simulated clock, 10 W x (epoch seconds
    mod 1000), in every view (production.json, api/v1, meters readings, livedata, stream;
    per phase exactly the total / phases), so that whoever shows a value can tell how old it
    is; consumption and the rest as usual (see `clock_power`)."""

    def __post_init__(self) -> None:
        if self.phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")
        if self.livedata_when_disabled not in WHEN_DISABLED:
            raise ValueError(f"livedata_when_disabled must be one of {', '.join(WHEN_DISABLED)}")
        if self.latency_profile not in PROFILES:
            raise ValueError(f"latency_profile must be one of {', '.join(PROFILES)}")
        if self.latency_scale < 0:
            raise ValueError("latency_scale must not be negative")
        if self.livedata_timeout_s <= 0 or self.stream_interval_s <= 0:
            raise ValueError("livedata_timeout_s and stream_interval_s must be positive")

    def plant_config(self) -> PlantConfig:
        return PlantConfig(
            serial=self.serial,
            inverters=self.inverters,
            cts=self.cts,
            battery=self.battery,
            battery_units=self.battery_units,
            storage_ct=self.storage_ct,
            utc_offset_s=self.resolved_utc_offset_s(),
            weak_inverter=self.weak_inverter,
            production_at_least_wh=self.production_at_least_wh,
            consumption_at_least_wh=self.consumption_at_least_wh,
            phases=self.phases,
        )

    def resolved_utc_offset_s(self) -> int:
        if self.utc_offset_s is not None:
            return self.utc_offset_s
        start = self.start_time if self.start_time is not None else time.time()
        offset = dt.datetime.fromtimestamp(start).astimezone().utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
