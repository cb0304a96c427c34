"""The host's side of the driver `Sink`: driver reports become stored attributes and events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field

from gem_envoy.host.contract import AttributeValue, Reported
from gem_envoy.host.events import AttributeChange, EventHub
from gem_envoy.host.live_history import HistoryPoint, LiveHistory
from gem_envoy.host.redact import LOG_SCRUBBER, redact_text, secret_values
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import AttributeWrite, NotFoundError, Store, StoreError

log = logging.getLogger(__name__)


class StoreSink:
    """Writes one device's (and its zones') reports to the store, then tells listeners.
    Only the attributes in `history` (those the driver declares as charted) get history.

    Text from a device is never trusted to be free of the device's own secrets (a hostile
    device at the gateway's address may echo the token it was sent): every secret in
    `secrets` is masked in text values before they are stored or published. A secret the
    driver reports itself (a token it renewed) joins `secrets` and the log's masking at once.

    Live samples (`device_live`) are stored and published only when they differ from what
    was last written, and charted as one mean per polling interval (see `live_history`)."""

    def __init__(
        self, store: Store, device_id: int, events: EventHub, *, history: Collection[str] = ()
    ) -> None:
        self._store = store
        self._device_id = device_id
        self._events = events
        self._history = frozenset(history)
        self.secrets: frozenset[str] = frozenset()  # set by the supervisor from the config
        self._live = LiveHistory()
        self._written: dict[str, AttributeValue | None] = {}  # the device's, as last written
        self._batch: _Batch | None = None  # while a poll's writes are held for one commit

    async def device_attributes(self, values: Reported) -> None:
        points = self._live.close(values)
        await self._write("device", self._device_id, values, points)

    async def device_live(self, values: Reported, *, history_every_s: float) -> None:
        now = time.time()
        sampled = {
            name: float(value)
            for name, value in values.items()
            if name in self._history
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        }
        points = self._live.add(sampled, now, history_every_s)
        changed = {n: v for n, v in values.items() if self._written.get(n, _UNSET) != v}
        if changed or points:
            await self._write("device", self._device_id, changed, points, charted=False)

    async def zone_attributes(self, zone_id: int, values: Reported) -> None:
        await self._write("zone", zone_id, values)

    @contextlib.asynccontextmanager
    async def one_transaction(self) -> AsyncIterator[None]:
        """Until the block ends, the writes of the task that opened it (a poll: device values,
        zones, health) are checked as they come and stored together in one transaction at
        the end, whether the block ends well or not; listeners hear of them after that
        commit. Writes of other tasks (a live feed, a command) go through as before. A
        secret (a renewed token) is never held back: it is stored at once, after what the
        block collected until then. A write to a zone or device deleted meanwhile is
        skipped, the others stored; then NotFoundError, as a write on its own would raise."""
        if self._batch is not None:  # nested: the outer block stores everything
            yield
            return
        self._batch = _Batch(asyncio.current_task())
        try:
            yield
        except asyncio.CancelledError:
            self._commit_later(self._take_batch())
            raise
        except BaseException:
            await self._commit(self._take_batch())
            raise
        await self._commit(self._take_batch())

    async def _write(
        self,
        target_type: str,
        target_id: int,
        values: Reported,
        points: list[HistoryPoint] | None = None,
        *,
        charted: bool = True,
    ) -> None:
        """Store `values` (with history for the charted names unless `charted` is false)
        and the history `points`, in one transaction; then tell listeners."""
        if not values and not points:
            return
        self._learn(values)
        clean = self._masked(values)
        history = self._history if charted else ()
        write = self._store.attribute_write(target_type, target_id, clean, history, points or ())
        batch = self._batch
        if batch is not None and batch.task is asyncio.current_task():
            if not any(is_secure(name) for name in clean):
                batch.writes.append(write)
                return
            await self._commit(self._take_batch(keep_open=True))
        await self._commit([write])

    def _take_batch(self, *, keep_open: bool = False) -> list[AttributeWrite]:
        batch = self._batch
        if batch is None:
            return []
        writes, batch.writes = batch.writes, []
        if not keep_open:
            self._batch = None
        return writes

    async def _commit(self, writes: list[AttributeWrite]) -> None:
        """Store `writes` in one transaction. Once queued they are stored even if the
        caller is cancelled meanwhile: what a driver reported is never dropped half-way."""
        if not writes:
            return
        future = self._store.write_attributes(writes)
        try:
            missing = await asyncio.shield(future)
        except asyncio.CancelledError:
            self._tell_when_stored(writes, future)
            raise
        self._stored(writes, missing)
        if missing:
            raise next(iter(missing.values()))

    def _commit_later(self, writes: list[AttributeWrite]) -> None:
        """For a cancelled task: queue the writes (a place in the writer's queue is all it
        takes for them to be stored) and tell listeners once they are committed."""
        if not writes:
            return
        try:
            future = self._store.write_attributes(writes)
        except StoreError as exc:  # closed already: the cancellation must still go through
            log.error("device %s: %d writes not stored: %s", self._device_id, len(writes), exc)
            return
        self._tell_when_stored(writes, future)

    def _tell_when_stored(
        self, writes: list[AttributeWrite], future: asyncio.Future[dict[int, NotFoundError]]
    ) -> None:
        def told(done: asyncio.Future[dict[int, NotFoundError]]) -> None:
            if not done.cancelled() and done.exception() is None:
                self._stored(writes, done.result())

        future.add_done_callback(told)

    def _stored(self, writes: list[AttributeWrite], missing: dict[int, NotFoundError]) -> None:
        """After the commit: remember the device's values, and tell listeners, per write
        stored (those of a target deleted meanwhile were skipped)."""
        now = time.time()
        for index, write in enumerate(writes):
            if index in missing:
                continue
            target_type, target_id = write.target
            if target_type == "device":
                self._written.update(write.values)
            if write.values:
                self._events.publish(AttributeChange(target_type, target_id, write.values, now))

    def _learn(self, values: Reported) -> None:
        found = secret_values({n: v for n, v in values.items() if v is not None})
        if found - self.secrets:
            self.secrets = self.secrets | found
            LOG_SCRUBBER.add(found)

    def _masked(self, values: Reported) -> dict[str, AttributeValue | None]:
        if not self.secrets:
            return dict(values)
        return {
            name: redact_text(value, self.secrets)
            if isinstance(value, str) and not is_secure(name)  # a secure value is the secret
            else value
            for name, value in values.items()
        }


_UNSET = object()


@dataclass(slots=True)
class _Batch:
    """The writes held back for `StoreSink.one_transaction`, and the task they belong to."""

    task: asyncio.Task[object] | None
    writes: list[AttributeWrite] = field(default_factory=list)
