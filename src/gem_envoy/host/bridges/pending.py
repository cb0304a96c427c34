"""Changes the MQTT bridge has read from the hub and not yet published, merged per target.

The hub's queue is read as fast as changes come (a dictionary update each), so it does not
overflow while the broker is slow; the bridge then publishes everything pending at once.
A name changed twice meanwhile is published once, with its latest value: its topic is
retained, so the broker ends where it would have, and never goes back to an older value.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gem_envoy.host.events import AttributeChange
from gem_envoy.host.types import AttributeValue

Target = tuple[str, int]  # ("device" or "zone", its id)
# A device's health names, written after each poll: its state document is due then.
HEALTH = ("last_poll_ms", "online")


@dataclass
class Batch:
    """What was pending when the bridge took it: values by target, in the order first
    changed, and the devices whose state document is due."""

    values: dict[Target, dict[str, AttributeValue | None]] = field(default_factory=dict)
    states: dict[int, None] = field(default_factory=dict)  # ids, in order, each once


class PendingChanges:
    def __init__(self) -> None:
        self._batch = Batch()
        self._ready = asyncio.Event()
        self.last_read_at = 0.0  # when the last change read was told (epoch s)
        # When the last change read before the hub may have dropped some was told: the
        # store holds those dropped, changed after it. None while nothing was dropped.
        self.dropped_after: float | None = None

    def add(self, change: AttributeChange) -> None:
        target = (change.target_type, change.target_id)
        self._batch.values.setdefault(target, {}).update(change.values)
        health_changed = any(name in change.values for name in HEALTH)
        if change.target_type == "device" and health_changed:
            self._batch.states[change.target_id] = None
        self.last_read_at = change.at
        self._ready.set()

    async def read(self, queue: asyncio.Queue[AttributeChange]) -> None:
        """Move the hub's changes here as they come, until cancelled."""
        while True:
            change = await queue.get()
            # Full before this one was taken: its oldest goes on the next change, so some
            # may be gone (the hub drops without a word).
            if queue.qsize() + 1 >= queue.maxsize and self.dropped_after is None:
                self.dropped_after = self.last_read_at
            self.add(change)

    async def take(self) -> Batch:
        """Wait for something pending, and take it all."""
        await self._ready.wait()
        self._ready.clear()
        batch, self._batch = self._batch, Batch()
        return batch
