"""The host's side of the driver `Sink`: driver reports become stored attributes and events."""

from __future__ import annotations

import time
from collections.abc import Collection

from gem_envoy.host.contract import AttributeValue, Reported
from gem_envoy.host.events import AttributeChange, EventHub
from gem_envoy.host.live_history import HistoryPoint, LiveHistory
from gem_envoy.host.redact import LOG_SCRUBBER, redact_text, secret_values
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import Store


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
        await self._store.set_attributes(
            target_type,
            target_id,
            clean,
            history=self._history if charted else (),
            points=points or (),
        )
        if target_type == "device":
            self._written.update(clean)
        if clean:
            self._events.publish(AttributeChange(target_type, target_id, clean, time.time()))

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
