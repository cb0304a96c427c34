"""One device's life in the host: build its driver, connect, poll on schedule, report health.

Each device runs in its own task, so a crash or a hung device never delays another. A failed
poll only changes `online` and `last_error`: the last good values stay as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from gem_envoy.host.contract import (
    DeviceConfig,
    DeviceError,
    Driver,
    Json,
    Sink,
    ZoneConfig,
)
from gem_envoy.host.watchers import Watchers

log = logging.getLogger(__name__)

# How long to wait before trying again when a device cannot even be configured or connected.
RETRY_S = 30.0


@runtime_checkable
class TransactionalSink(Protocol):
    """A sink that can hold a task's writes and store them in one transaction at the end of
    the block (`StoreSink`); a poll cycle runs inside one."""

    def one_transaction(self) -> AbstractAsyncContextManager[None]: ...


def describe(exc: BaseException) -> str:
    """A one-line cause for `last_error`: a DeviceError's own words; for anything else (a bug
    in the driver) its type too, so the log's traceback can be found."""
    text = str(exc).strip()
    if isinstance(exc, DeviceError):
        return text or "the device failed"
    return f"driver error: {type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_kind(exc: BaseException) -> str:
    """A short, bounded name for what failed, for counting (metrics): the class of the
    device's own error (or of the cause the driver chained to it), in snake case; a bug in
    the driver is `driver_bug`."""
    if not isinstance(exc, DeviceError):
        return "driver_bug"
    cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", type(cause).__name__).lower()


class DeviceRunner:
    """Owns one driver instance and its polling loop."""

    def __init__(
        self,
        config: DeviceConfig,
        driver_class: type[Driver],
        sink: Sink,
        *,
        start_spread: float = 0.0,
        watchers: Watchers | None = None,
    ) -> None:
        self.config = config
        self.start_spread = start_spread  # 0..1: how far into its first interval to start
        self._watchers = watchers
        self.watched = False  # whether anyone watches the device (told to each driver)
        self._driver_class = driver_class
        self._sink = sink
        self._transactional = sink if isinstance(sink, TransactionalSink) else None
        self._driver: Driver | None = None
        self._connected = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # connect/poll/command/reconfigure, one at a time
        self._health: tuple[bool, str] | None = None
        self._logged_error: str | None = None
        self.failures = 0  # failed polls in a row
        self._last_failure: Exception | None = None  # the last one's cause, for its retry
        # Since the process started, for monitoring: poll cycles tried, failures by kind.
        self.polls = 0
        self.failure_kinds: Counter[str] = Counter()
        self.scheduled_at: float | None = None
        self.last_lag_s: float = 0.0
        self.first_poll_done = asyncio.Event()  # its first cycle ended, well or not

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        unfollow = self._watchers.follow(self.config.id, self._watch) if self._watchers else None
        try:
            if self.start_spread > 0:
                await self._sleep(self.start_spread * self._first_interval_s())
            while True:
                delay_s = await self._cycle()
                self.first_poll_done.set()
                await self._sleep(delay_s)
        finally:
            if unfollow is not None:
                unfollow()
            await self._drop_driver()

    async def _cycle(self) -> float:
        """Connect if needed, poll once; returns the seconds until the next attempt.

        After a good poll the next is due an interval after this one started (a slow gateway
        does not stretch the schedule); after a failure, the retry delay counts from now, so
        that a gateway still busy with the failed request gets its pause. What the cycle
        reports (device values, zones, health) is stored in one transaction at its end, where
        the sink can (`TransactionalSink`): one writer job per poll, not one per zone; the
        time that commit waits counts as the cycle's, as when each write was awaited."""
        started = time.monotonic()
        if self.scheduled_at is not None:
            self.last_lag_s = max(0.0, started - self.scheduled_at)
        self.polls += 1
        async with self._lock:
            try:
                async with self._one_transaction():
                    interval_s = await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll's writes could not be stored
                return await self._failed(exc)
        if interval_s is None:
            return self._retry_delay_s()
        return max(0.0, interval_s - (time.monotonic() - started))

    async def _poll(self) -> float | None:
        """One poll and its health report: the polling interval, None if the poll failed."""
        try:
            driver = await self._connected_driver()
            await driver.poll()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure is this device's, never the host's
            await self._failed(exc)
            return None
        self.failures = 0
        await self._report(True, "", None, polled=True)
        return driver.poll_interval_s()

    async def _failed(self, exc: Exception) -> float:
        """Count and report a failed cycle; the seconds until the retry."""
        self.failures += 1
        self.failure_kinds[failure_kind(exc)] += 1
        self._last_failure = exc
        await self._report(False, describe(exc), exc)
        return self._retry_delay_s()

    def _retry_delay_s(self) -> float:
        exc = self._last_failure
        if self._driver is None or exc is None:
            return RETRY_S
        return self._driver.retry_delay_s(self.failures, exc)

    def _one_transaction(self) -> AbstractAsyncContextManager[None]:
        if self._transactional is not None:
            return self._transactional.one_transaction()
        return contextlib.nullcontext()

    async def _sleep(self, interval_s: float) -> None:
        self.scheduled_at = time.monotonic() + interval_s
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=interval_s)
            self.scheduled_at = time.monotonic()  # woken on purpose: poll now
        except TimeoutError:
            pass

    def _first_interval_s(self) -> float:
        try:
            driver = self._built_driver()
        except Exception:  # a bad configuration is reported by the first cycle
            return 0.0
        return driver.poll_interval_s()

    # -- driver lifecycle -----------------------------------------------------------------------

    def _built_driver(self) -> Driver:
        """The driver, made if needed and told at once whether the device is watched."""
        if self._driver is None:
            self._driver = self._driver_class(self.config, self._sink)
            self._tell_watched(self._driver)
        return self._driver

    def _watch(self, watched: bool) -> None:
        self.watched = watched
        if self._driver is not None:
            self._tell_watched(self._driver)

    def _tell_watched(self, driver: Driver) -> None:
        try:
            driver.set_watched(self.watched)
        except Exception:  # a bug in the driver: its fast path may not follow, polling does
            log.exception("device %s: the driver failed to take note of watchers", self.config.name)

    async def _connected_driver(self) -> Driver:
        driver = self._built_driver()
        if not self._connected:
            await driver.connect()
            self._connected = True
        return driver

    async def close(self) -> None:
        """For a runner that never ran its loop (the console): release its driver."""
        async with self._lock:
            await self._drop_driver()

    async def _drop_driver(self) -> None:
        driver, self._driver, self._connected = self._driver, None, False
        if driver is not None:
            try:
                await driver.disconnect()
            except Exception as exc:  # closing a dead connection may fail; nothing to keep
                log.debug("device %s: disconnect failed: %s", self.config.name, describe(exc))

    async def update(self, config: DeviceConfig) -> None:
        """New attributes or zones: applied in place when the driver can, else by restart.
        Either way the device is polled again at once."""
        async with self._lock:
            self.config = config
            driver = self._driver
            applied = False
            if driver is not None:
                try:
                    applied = driver.reconfigure(config)
                except Exception as exc:
                    await self._report(False, describe(exc), exc)
            if not applied:
                await self._drop_driver()
        self._wake.set()

    # -- commands -------------------------------------------------------------------------

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        self._driver_class.command_spec(action)  # an unknown action costs the device nothing
        async with self._lock:
            try:
                driver = await self._connected_driver()
            except Exception as exc:  # the caller gets the cause; the device shows it too
                await self._report(False, describe(exc), exc)
                raise
            return await driver.command(action, args, zone)

    # -- health -------------------------------------------------------------------------------

    async def _report(
        self, online: bool, error: str, exc: BaseException | None, *, polled: bool = False
    ) -> None:
        if exc is not None and error != self._logged_error:
            # Logged once per distinct cause, not once per poll: a device's own failure as one
            # line, a bug in its driver with the traceback that finds it.
            if isinstance(exc, DeviceError):
                log.warning("device %s: %s", self.config.name, error)
            else:
                log.error("device %s: %s", self.config.name, error, exc_info=exc)
            self._logged_error = error
        if online:
            self._logged_error = None
        values: dict[str, int | str | bool] = {}
        if self._health != (online, error):
            values |= {"online": online, "last_error": error}
            self._health = (online, error)
        if polled:
            values["last_poll_ms"] = int(time.time() * 1000)
        if values:
            try:
                await self._sink.device_attributes(values)
            except Exception as store_exc:
                log.error("device %s: cannot store health: %s", self.config.name, store_exc)
