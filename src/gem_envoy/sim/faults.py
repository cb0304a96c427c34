"""Faults the simulator injects: the model, and the switch that holds the active fault.

One fault at a time: setting one replaces the one before. Its JSON form (``POST /__sim/fault``;
the ``--fault*`` options of the command line build the same thing)::

    {"kind": "500", "path": "/production.json", "fraction": 0.5, "duration_s": 30, "seed": 7}

- ``kind``: one of `KINDS` (what each does: `fault_layer` for the per-request kinds, `server`
  for ``tls``, ``refused`` and ``reboot``, `tariff` for ``cloud-revert``, `event_stream` for
  the ``stream-*`` kinds).
- ``path``: only requests for this exact path (the query is ignored); null = every gateway path.
- ``fraction``: the share of requests (of connections, for ``tls``) hit, each drawn on its own
  from a random generator seeded with ``seed`` (default 0, so runs repeat).
- ``duration_s``: the fault clears itself this long after being set; null = until cleared.
- The kind's own parameter, where it has one: ``seconds`` for ``reboot`` (default 10), ``hours``
  for ``skew`` (default 3, may be negative), ``bytes_per_s`` for ``slow`` (default 4),
  ``seconds`` for ``cloud-revert`` (default 10: how long after a storage settings write the
  cloud undoes it; ``fraction`` is then the share of writes undone).

The ``stream-*`` kinds act on ``/stream/meter`` streams, those open when the fault is set and
those opened while it lasts; ``fraction`` is then the share of streams hit (drawn once per
stream), and when the fault clears the streams it hit go on as usual:

- ``stream-stall``: no more events, the connection held open, until the fault clears.
- ``stream-disconnect``: after three events, half of the fourth, then the connection dropped.
- ``stream-garbage``: before every third good event a bad one, in turn JSON cut short
  (``data: {"production": tru``), a ``data:`` line of bytes that are no JSON, and a line of
  such bytes that is no event at all.
- ``stream-split``: each event in several writes a few milliseconds apart (separate TCP
  segments), now and then two events in one write, line endings ``\n``, ``\r\n`` or ``\r``.
- ``stream-burst``: events held back and sent 16 KiB at a time, as D7.0.88 firmware did (about
  20 events every 20 s at one event a second).

Faults never apply to ``/__sim/*``, so the control routes keep working, except ``tls``,
``refused`` and ``reboot``: these act on the listening port and the handshake, so while they last
nothing at all can be reached, control included. That is why they must end by themselves:
``tls`` and ``refused`` need ``duration_s``, ``reboot`` lasts ``seconds``. They take no ``path``
(nothing is known of a request before the handshake), and ``refused`` and ``reboot`` no
``fraction`` either (a port is open or not).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from .stats import SimStats

STATUS_KINDS = ("401", "403", "404", "500", "502")
REQUEST_KINDS = (*STATUS_KINDS, "timeout", "slow", "reset", "truncated", "html", "huge", "skew")
"""Kinds that act on one request at a time (`fault_layer`)."""
STREAM_KINDS = (
    "stream-stall",
    "stream-disconnect",
    "stream-garbage",
    "stream-split",
    "stream-burst",
)
"""Kinds that act on ``/stream/meter`` streams, event by event (`event_stream`)."""
OUTAGE_KINDS = ("refused", "reboot")
"""Kinds that close the listening port for a while."""
CLOUD_REVERT = "cloud-revert"
"""The cloud undoes each storage settings write ``seconds`` later (see `tariff`)."""
KINDS = (*REQUEST_KINDS, "tls", *OUTAGE_KINDS, CLOUD_REVERT, *STREAM_KINDS)
PARAMETERS = {"reboot": "seconds", "skew": "hours", "slow": "bytes_per_s", CLOUD_REVERT: "seconds"}
"""The kinds that take a parameter of their own, and its name."""
CONTROL_PREFIX = "/__sim/"

Json = dict[str, Any]


class FaultError(ValueError):
    """A fault that cannot be set, with the reason."""


@dataclass(frozen=True)
class Fault:
    kind: str
    path: str | None = None
    fraction: float = 1.0
    duration_s: float | None = None
    seed: int = 0
    seconds: float = 10.0
    hours: float = 3.0
    bytes_per_s: float = 4.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultError(f"kind must be one of {', '.join(KINDS)}")
        if self.path is not None and not self.path.startswith("/"):
            raise FaultError("path must start with /")
        if self.path is not None and self.path.startswith(CONTROL_PREFIX):
            raise FaultError(f"faults never apply to {CONTROL_PREFIX}*")
        if not 0.0 <= self.fraction <= 1.0:
            raise FaultError("fraction must be between 0 and 1")
        if self.duration_s is not None and self.duration_s <= 0:
            raise FaultError("duration_s must be positive")
        for name in ("seconds", "bytes_per_s"):
            if getattr(self, name) <= 0:
                raise FaultError(f"{name} must be positive")
        self._check_port_kinds()

    def _check_port_kinds(self) -> None:
        """The rules for the kinds that make the control routes unreachable while they last."""
        if self.kind not in ("tls", *OUTAGE_KINDS):
            return
        if self.path is not None:
            raise FaultError(f"{self.kind} acts on the port: it takes no path")
        if self.kind in OUTAGE_KINDS and self.fraction != 1.0:
            raise FaultError(f"{self.kind} acts on the port: it takes no fraction")
        if self.kind == "reboot" and self.duration_s is not None:
            raise FaultError("reboot lasts `seconds`: it takes no duration_s")
        if self.kind != "reboot" and self.duration_s is None:
            raise FaultError(f"{self.kind} makes /__sim/ unreachable: it needs a duration_s")

    @property
    def lasts_s(self) -> float | None:
        """How long the fault stays set (None = until cleared)."""
        return self.seconds if self.kind == "reboot" else self.duration_s

    @classmethod
    def from_json(cls, body: Json) -> Fault:
        """A fault from its JSON form; `FaultError` says what is wrong with it."""
        kind = body.get("kind")
        if not isinstance(kind, str):
            raise FaultError(f"kind must be one of {', '.join(KINDS)}")
        allowed = {"kind", "path", "fraction", "duration_s", "seed", PARAMETERS.get(kind)}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise FaultError(f"not a parameter of {kind}: {', '.join(unknown)}")
        values = {key: value for key, value in body.items() if value is not None}
        _check_types(values)
        return cls(**values)

    def as_json(self) -> Json:
        value: Json = {
            "kind": self.kind,
            "path": self.path,
            "fraction": self.fraction,
            "duration_s": self.duration_s,
            "seed": self.seed,
        }
        parameter = PARAMETERS.get(self.kind)
        if parameter is not None:
            value[parameter] = getattr(self, parameter)
        return value


def _check_types(values: Json) -> None:
    if "path" in values and not isinstance(values["path"], str):
        raise FaultError("path must be a string or null")
    if "seed" in values and (not isinstance(values["seed"], int) or _is_bool(values["seed"])):
        raise FaultError("seed must be an integer")
    for key in ("fraction", "duration_s", *PARAMETERS.values()):
        value = values.get(key, 0)
        if not isinstance(value, int | float) or _is_bool(value) or not math.isfinite(value):
            raise FaultError(f"{key} must be a number")


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


class FaultSwitch:
    """Holds the active fault and decides, request by request, whom it hits."""

    def __init__(self, stats: SimStats, clock: Callable[[], float] = time.monotonic) -> None:
        self.stats = stats
        self._clock = clock
        self._fault: Fault | None = None
        self._until: float | None = None
        self._rng = random.Random(0)

    @property
    def active(self) -> Fault | None:
        """The active fault, or None (a fault past its time is cleared here, lazily)."""
        if self._until is not None and self._clock() >= self._until:
            self.clear()
        return self._fault

    def set(self, fault: Fault | None) -> None:
        """Make ``fault`` the active one (None clears), its time counted from now."""
        self._fault = fault
        lasts = None if fault is None else fault.lasts_s
        self._until = None if lasts is None else self._clock() + lasts
        self._rng = random.Random(0 if fault is None else fault.seed)

    def clear(self) -> None:
        self.set(None)

    def pick(self, path: str | None, kinds: Collection[str]) -> Fault | None:
        """The active fault if it is of one of ``kinds`` and hits this request (``path``), or
        this connection (``path`` None); every hit counts in ``faults_applied``."""
        fault = self.active
        if fault is None or fault.kind not in kinds:
            return None
        if fault.path is not None and fault.path != path:
            return None
        if fault.fraction < 1.0 and self._rng.random() >= fault.fraction:
            return None
        self.stats.faults_applied += 1
        return fault

    def as_json(self) -> Json | None:
        """What ``GET /__sim/fault`` shows: the fault and its remaining time, or null."""
        fault = self.active
        if fault is None:
            return None
        remaining = None if self._until is None else round(self._until - self._clock(), 3)
        return {**fault.as_json(), "remaining_s": remaining}
