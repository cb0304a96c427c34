"""Which live source to follow: the best the gateway and the token offer, less what failed.

- `stream` (`/stream/meter`): a sample a second, pushed; installer tokens only (owners get 401
  from D7.6.175 on), and only where CTs meter the site.
- `livedata` (`/ivp/livedata/status`): polled every `live_interval`; owner tokens read it too.
  Also only with CTs: without them its values come from the inverters' 5-minute reports,
  no fresher than the poll.
- `poll`: the ordinary poll, and nothing in between.

A source the gateway refuses (401, 403, 404) is set aside until the token or the firmware
changes, as the refusal will not change before. A source that fails otherwise (a stall, a
dropped connection, bursts) rests for a while, so the next one serves meanwhile, then is
tried again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

STREAM, LIVEDATA, POLL = "stream", "livedata", "poll"
# Whether the feed runs: someone watches (or `live_when` is always), nobody does, `live` false.
ACTIVE, IDLE, OFF = "active", "idle", "off"


@dataclass(frozen=True, slots=True)
class GatewayTraits:
    """What the poll learned that decides which sources can work."""

    metered: bool  # an active CT: the stream and livedata measure what the poll would
    installer: bool  # the token's role: the stream needs an installer's
    has_battery: bool  # whether livedata's storage and state of charge mean anything
    firmware: str  # a new firmware may offer what the old one refused


class LiveChoice:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._set_aside: dict[str, str] = {}  # source -> the refusal, in the product's words
        self._resting_until: dict[str, float] = {}  # source -> monotonic time

    def choose(self, traits: GatewayTraits | None) -> str:
        if traits is None or not traits.metered:
            return POLL
        if traits.installer and self.usable(STREAM):
            return STREAM
        return LIVEDATA if self.usable(LIVEDATA) else POLL

    def usable(self, source: str) -> bool:
        if source in self._set_aside:
            return False
        until = self._resting_until.get(source)
        return until is None or self._clock() >= until

    def set_aside(self, source: str, why: str) -> None:
        self._set_aside[source] = why

    def rest(self, source: str, seconds: float) -> None:
        self._resting_until[source] = self._clock() + seconds

    def forget(self) -> None:
        """A new token or firmware: what was refused may work now."""
        self._set_aside.clear()
        self._resting_until.clear()

    def next_wake_s(self) -> float | None:
        """Seconds until a resting source may be tried again; None when none rests."""
        now = self._clock()
        waits = [until - now for until in self._resting_until.values() if until > now]
        return min(waits) if waits else None
