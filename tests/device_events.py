"""What a host published of one device attribute over a while, from its event hub."""

from __future__ import annotations

import asyncio
import time

from gem_envoy.host.events import EventHub


async def published(
    events: EventHub, device_id: int, name: str, seconds: float
) -> list[tuple[float, float]]:
    """(wall time, value) of each numeric `name` of device `device_id` published during
    `seconds`, in order."""
    seen: list[tuple[float, float]] = []
    async with events.subscribe() as queue:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                change = await asyncio.wait_for(queue.get(), left)
            except TimeoutError:
                break
            value = change.values.get(name)
            mine = change.target_type == "device" and change.target_id == device_id
            if mine and isinstance(value, int | float) and not isinstance(value, bool):
                seen.append((time.time(), float(value)))
    return seen
