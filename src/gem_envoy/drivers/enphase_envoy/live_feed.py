"""The live feed of one gateway: its power flow between polls, reported as it comes.

One task follows the source `LiveChoice` picks: it holds the meter stream open (its own
connection; the stream's client watches for silence), or reads livedata every
`live_interval` on the poll's connection (so never two requests at once), switching the
gateway's live status back on when it times out (every ~15 minutes).

A stream that breaks rests for a backoff (1, 2, 4 ... 30 s) before it is opened again, and
livedata serves meanwhile, so the flow goes on within a second of the break being seen. A
stream that opens but sends nothing (old firmware's 20-second bursts) rests 5 minutes.
While the feed supplies a value, the poll does not read it (see `supplies`); when the feed
has nothing, the poll takes over at its next cycle.

The feed runs only while wanted (`want`: someone watches the device, or `live_when` is
always). Unwanted, it closes the stream or stops reading livedata within a second, reports
`live_state` idle and `live_source` poll, and supplies nothing, so the next poll reads
everything again; wanted again, it opens its source at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Protocol

from gem_envoy.drivers.enphase_envoy.derive import Attributes
from gem_envoy.drivers.enphase_envoy.live_choice import (
    ACTIVE,
    IDLE,
    LIVEDATA,
    OFF,
    POLL,
    STREAM,
    GatewayTraits,
    LiveChoice,
)
from gem_envoy.drivers.enphase_envoy.live_values import live_attributes
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import (
    AuthRejected,
    EnvoyError,
    NotFound,
    NotPermitted,
    StreamStalled,
)
from gem_envoy.envoy.models import LivePower
from gem_envoy.host.contract import Sink

log = logging.getLogger(__name__)

# What no retry can fix until the token or the firmware changes.
REFUSALS = (AuthRejected, NotPermitted, NotFound)
STREAM_IDLE_S = 5.0  # the gateway samples every second: five silent seconds is a hang
# Two missed events: the poll reads the power again (while the watchdog waits to be sure).
STREAM_FRESH_S = 2.0
# A stream that opens but sends nothing (old firmware's 20 s bursts, a hang on connect)
# rests this long while livedata or the poll serves.
STREAM_REST_S = 300.0
LIVEDATA_REST_S = 60.0
FAILURES_BEFORE_REST = 3
MAX_BACKOFF_S = 30.0


class LiveReporter(Protocol):
    async def live_values(self, values: Attributes) -> None: ...

    async def live_status(self, source: str, state: str) -> None: ...


class SinkReporter:
    """Reports to the host: samples as live values (history: one mean per poll interval),
    once `check` has dropped what cannot be (the poll's own plausibility guard); the source
    and whether the feed runs as the `live_source` and `live_state` attributes."""

    def __init__(
        self,
        sink: Sink,
        history_every_s: Callable[[], float],
        check: Callable[[Attributes], Attributes],
    ) -> None:
        self._sink = sink
        self._history_every_s = history_every_s
        self._check = check

    async def live_values(self, values: Attributes) -> None:
        kept = self._check(values)
        await self._sink.device_live(kept, history_every_s=self._history_every_s())

    async def live_status(self, source: str, state: str) -> None:
        await self._sink.device_attributes({"live_source": source, "live_state": state})


def _backoff_s(failures: int) -> float:
    return min(MAX_BACKOFF_S, 2.0 ** max(0, failures - 1)) * random.uniform(0.8, 1.0)


class LiveFeed:
    def __init__(
        self,
        client: EnvoyClient,
        reporter: LiveReporter,
        *,
        name: str,
        interval_s: float,
        wanted: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._reporter = reporter
        self._name = name  # the device's, for the log
        self.interval_s = interval_s  # livedata's pace
        self._clock = clock
        self._choice = LiveChoice(clock)
        self._traits: GatewayTraits | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.source: str | None = None  # as last reported
        self.state: str | None = None  # ACTIVE, IDLE or OFF, as last reported
        self._logged_source: str | None = None  # the active source last logged
        self._wanted = asyncio.Event()  # someone watches, or live_when is always
        if wanted:
            self._wanted.set()
        self._supplied: frozenset[str] = frozenset()
        self._supplied_at = float("-inf")
        self._failures = {STREAM: 0, LIVEDATA: 0}  # in a row, per source
        self._may_enable = True  # whether the gateway lets us switch its live status on
        self._warned: dict[str, str] = {}  # source -> the failure last logged as a warning

    # -- what the driver sees ------------------------------------------------------------

    def observe(self, traits: GatewayTraits) -> None:
        """What the last poll learned; a change makes the feed choose its source again."""
        if traits == self._traits:
            return
        if self._traits is not None and traits.firmware != self._traits.firmware:
            self._choice.forget()
        self._traits = traits
        self._changed.set()

    def forget(self) -> None:
        """A new token (or firmware): sources refused before are tried again, and an open
        stream is reopened with the new token."""
        self._choice.forget()
        self._may_enable = True
        self._changed.set()

    def supplies(self) -> frozenset[str]:
        """The attributes the feed keeps current, which the poll then leaves alone: those
        of its last sample, while that sample is fresh."""
        fresh_s = STREAM_FRESH_S if self.source == STREAM else 2 * self.interval_s
        if self._clock() - self._supplied_at > fresh_s:
            return frozenset()
        return self._supplied

    def want(self, wanted: bool) -> None:
        """Run the feed (someone watches the device, or it should always run), or rest it:
        the stream is closed, livedata no longer read, within a second."""
        if wanted == self._wanted.is_set():
            return
        if wanted:
            self._wanted.set()
        else:
            self._wanted.clear()
        self._changed.set()  # the source being followed stops at its next step

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"live-{self._name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._supplied_at = float("-inf")

    async def switch_off(self) -> None:
        """The `live` setting is off: no feed, and the poll is the source."""
        await self.stop()
        await self._status(POLL, OFF)

    # -- the task ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                if self._wanted.is_set():
                    await self._follow_chosen()
                else:
                    await self._idle()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A defect, or the host's store failing, must not end live power for good:
                # the poll serves meanwhile, and the feed starts again.
                log.exception(
                    "device %s: the live feed failed; starting it again in %.0f s",
                    self._name,
                    MAX_BACKOFF_S,
                )
                self._supplied_at = float("-inf")
                await self._wait(MAX_BACKOFF_S)

    async def _follow_chosen(self) -> None:
        """Follow the source of choice until it fails or the choice may have changed."""
        self._changed.clear()
        source = self._choice.choose(self._traits)
        await self._announce(source)
        if source == STREAM:
            await self._follow_stream()
        elif source == LIVEDATA:
            await self._follow_livedata()
        else:
            await self._wait(self._choice.next_wake_s())

    async def _idle(self) -> None:
        """Nobody watches: supply nothing (the poll reads it all again) until someone does."""
        self._supplied_at = float("-inf")
        await self._status(POLL, IDLE)
        await self._wanted.wait()

    async def _announce(self, source: str) -> None:
        # Logged when the source changes, not each time someone opens the page.
        if source != self._logged_source:
            log.info("device %s: live power from %s", self._name, _WORDS[source])
            self._logged_source = source
        await self._status(source, ACTIVE)

    async def _status(self, source: str, state: str) -> None:
        if (source, state) != (self.source, self.state):
            if state != self.state:
                log.debug("device %s: live %s, from %s", self._name, state, _WORDS[source])
            self.source, self.state = source, state
            await self._reporter.live_status(source, state)

    async def _take(self, power: LivePower) -> None:
        traits = self._traits
        values = live_attributes(power, has_battery=traits is not None and traits.has_battery)
        self._supplied, self._supplied_at = frozenset(values), self._clock()
        self._warned.clear()  # working again: a new failure is worth a warning
        await self._reporter.live_values(values)

    async def _wait(self, seconds: float | None) -> None:
        """Until the traits or token change, or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def _rest(self, source: str, failed: EnvoyError, rest_s: float) -> None:
        # Once per cause: through an outage the same failure recurs every backoff.
        level = logging.INFO if self._warned.get(source) == failed.message else logging.WARNING
        self._warned[source] = failed.message
        log.log(
            level,
            "device %s: %s: %s; trying it again in %.0f s",
            self._name,
            _WORDS[source],
            failed.message,
            rest_s,
        )
        self._choice.rest(source, rest_s)

    def _refused(self, source: str, refused: EnvoyError) -> None:
        log.warning("device %s: %s: %s", self._name, _WORDS[source], refused.message)
        self._choice.set_aside(source, refused.message)

    # -- the meter stream ----------------------------------------------------------------

    async def _follow_stream(self) -> None:
        delivered = False
        try:
            async with self._client.meter_stream(idle_timeout_s=STREAM_IDLE_S) as stream:
                async for power in stream:
                    delivered = True
                    self._failures[STREAM] = 0
                    await self._take(power)
                    if self._changed.is_set():
                        return  # the token or what the gateway offers changed: choose again
            raise EnvoyError("the gateway ended its meter stream")
        except REFUSALS as refused:
            self._refused(STREAM, refused)
        except EnvoyError as failed:
            self._failures[STREAM] += 1
            silent = not delivered and isinstance(failed, StreamStalled)
            backoff_s = _backoff_s(self._failures[STREAM])
            self._rest(STREAM, failed, STREAM_REST_S if silent else backoff_s)

    # -- livedata ------------------------------------------------------------------------

    async def _follow_livedata(self) -> None:
        last_update: int | None = None
        while not self._changed.is_set() and self._choice.choose(self._traits) == LIVEDATA:
            started = self._clock()
            try:
                status = await self._client.livedata_status()
                if not status.stream_enabled and await self._switch_live_status_on():
                    status = await self._client.livedata_status()  # current values at once
            except REFUSALS as refused:
                self._refused(LIVEDATA, refused)
                return
            except EnvoyError as failed:
                self._failures[LIVEDATA] += 1
                if self._failures[LIVEDATA] >= FAILURES_BEFORE_REST:
                    self._failures[LIVEDATA] = 0
                    self._rest(LIVEDATA, failed, LIVEDATA_REST_S)
                    return
                await self._wait(_backoff_s(self._failures[LIVEDATA]))
                continue
            self._failures[LIVEDATA] = 0
            # While its live status is off, older firmware keeps showing the values of the
            # moment it went off: only a reading that moved on is current.
            moved = last_update is not None and status.last_update != last_update
            if status.stream_enabled or moved:
                await self._take(status.power)
            last_update = status.last_update
            await self._wait(max(0.0, started + self.interval_s - self._clock()))

    async def _switch_live_status_on(self) -> bool:
        """Ask the gateway to refresh its live status again; False when it may not be
        asked (it refused once: newer firmware refreshes the values all the same)."""
        if not self._may_enable:
            return False
        try:
            await self._client.enable_livedata()
        except REFUSALS as refused:
            log.info("device %s: cannot switch livedata on: %s", self._name, refused.message)
            self._may_enable = False
            return False
        return True


_WORDS = {
    STREAM: "the meter stream",
    LIVEDATA: "livedata",
    POLL: "the poll alone",
}
