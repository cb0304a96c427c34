"""Who wants a device's values live: the host's count of watchers, per device.

A device with a costly fast path (a gateway's live power stream) runs it only while someone
looks: an open `/api/events` subscription (the page), or a bridge that opts in. Each watcher
holds a `watching()` block, for every device or for some. When a device's last watcher
leaves, it stays watched for a grace period, so that a page being reloaded, or a browser
reconnecting its event stream, does not close and reopen the gateway's stream.

Runners `follow` their device and hear each change of its state; nothing here knows what a
driver does with it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

GRACE_S = 60.0

Listener = Callable[[bool], None]


class Watchers:
    def __init__(self, grace_s: float = GRACE_S, clock: Callable[[], float] = time.monotonic):
        self.grace_s = grace_s
        self._clock = clock
        self._everyone = 0  # watchers of every device
        self._each: Counter[int] = Counter()  # watchers of one device
        # Until when (monotonic) a watcher that left still counts: for every device, and
        # per device.
        self._everyone_until = float("-inf")
        self._each_until: dict[int, float] = {}
        self._listeners: dict[int, list[Listener]] = {}
        self._state: dict[int, bool] = {}  # as last told to the device's listeners
        self._timer: asyncio.TimerHandle | None = None

    @contextmanager
    def watching(self, device_ids: Collection[int] | None = None) -> Iterator[None]:
        """While the block runs, `device_ids` (every device when None) have one watcher
        more; when it ends, they keep it for the grace period."""
        ids = tuple(device_ids) if device_ids is not None else None
        if ids is None:
            self._everyone += 1
        else:
            self._each.update(ids)
        self._settle()
        try:
            yield
        finally:
            until = self._clock() + self.grace_s
            if ids is None:
                self._everyone -= 1
                self._everyone_until = max(self._everyone_until, until)
            else:
                self._each.subtract(ids)
                for device_id in ids:
                    self._each_until[device_id] = until
            self._settle()

    def watched(self, device_id: int) -> bool:
        """Whether the device has a watcher now, or had one within the grace period."""
        now = self._clock()
        return (
            self._everyone > 0
            or self._each[device_id] > 0
            or now < self._everyone_until
            or now < self._each_until.get(device_id, float("-inf"))
        )

    def follow(self, device_id: int, listener: Listener) -> Callable[[], None]:
        """Call `listener(watched)` now and whenever the device's state changes; returns
        what stops it."""
        self._listeners.setdefault(device_id, []).append(listener)
        state = self._state.setdefault(device_id, self.watched(device_id))
        listener(state)

        def unfollow() -> None:
            listeners = self._listeners.get(device_id, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners:
                self._listeners.pop(device_id, None)
                self._state.pop(device_id, None)

        return unfollow

    def _settle(self) -> None:
        """Tell the listeners of each device whose state changed, and wake up when the
        next grace period ends."""
        for device_id, listeners in list(self._listeners.items()):
            state = self.watched(device_id)
            if self._state.get(device_id) != state:
                self._state[device_id] = state
                for listener in list(listeners):
                    listener(state)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._clock()
        ends = [t for t in (self._everyone_until, *self._each_until.values()) if t > now]
        self._each_until = {d: t for d, t in self._each_until.items() if t > now}
        if ends:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(min(ends) - now + 0.01, self._settle)
