"""Attribute changes, fanned out to whoever listens (the live page, tests).

Listeners get their own bounded queue; a listener that falls behind loses its oldest events
rather than slowing the drivers down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gem_envoy.host.contract import AttributeValue

QUEUE_SIZE = 256


@dataclass(frozen=True, slots=True)
class AttributeChange:
    target_type: str  # "device" or "zone"
    target_id: int
    values: Mapping[str, AttributeValue | None]  # None: the attribute was removed
    at: float


class EventHub:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[AttributeChange]] = set()

    def publish(self, change: AttributeChange) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a slow page must not stall polling
            queue.put_nowait(change)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[AttributeChange]]:
        queue: asyncio.Queue[AttributeChange] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
