"""Waiting for something that happens in the background (a poll, a reload, a recovery)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Condition = Callable[[], object | Awaitable[object]]

INTERVAL_S = 0.05


async def eventually(condition: Condition, timeout_s: float = 15.0, what: str = "") -> None:
    """Return once `condition()` (sync or async) is truthy; AssertionError after `timeout_s`.

    The condition is asked once more after the deadline, so a slow machine that wakes up
    late still sees the last state rather than failing on a stale one.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        late = time.monotonic() > deadline
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if late:
            raise AssertionError(f"not within {timeout_s:g} s: {what or _name(condition)}")
        await asyncio.sleep(INTERVAL_S)


def _name(condition: Condition) -> str:
    return getattr(condition, "__qualname__", repr(condition))
