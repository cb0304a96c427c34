"""What the parts of one gateway's poll share: when each endpoint group was last read, which
groups are set aside (the gateway lacks them, or the token may not read them), and the notes
of the current cycle.

The poller (poller.py) and its battery and zone parts (battery_reads.py, zone_reads.py) each
read their own endpoints through one `GatewayReads`, so a group set aside by one is never
asked again by another, and `forget` after a token change makes everything due at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import AuthRejected, BadResponse, NotFound, NotPermitted

T = TypeVar("T")

# After the first inverter list (or the first report where the CTs stand in), the second
# comes at a random point of the second half of its period, then every period: gateways
# started together (a host restart) would otherwise all read them in the same seconds.
FIRST_GAP = (0.5, 1.0)


def drawn_early_s(every_s: float, jitter: float) -> float:
    """How much earlier than a full period the second read comes, for `jitter` in [0, 1)."""
    low, high = FIRST_GAP
    return every_s * (1.0 - (low + (high - low) * jitter))


@dataclass(slots=True)
class Due:
    """When a slowly-changing group was last read (monotonic seconds), per group."""

    last: dict[str, float] = field(default_factory=dict)

    def due(self, group: str, every_s: float, now: float) -> bool:
        seen = self.last.get(group)
        return seen is None or now - seen >= every_s

    def mark(self, group: str, now: float, *, early_s: float = 0.0) -> None:
        """Read at `now`; due again `early_s` before its period is up (see FIRST_GAP)."""
        self.last[group] = now - early_s

    def forget(self, group: str) -> None:
        """Make `group` due at the next look."""
        self.last.pop(group, None)


class GatewayReads:
    """One gateway's client, with the paces, the set-aside groups and the cycle's notes."""

    def __init__(self, client: EnvoyClient) -> None:
        self.client = client
        self.due = Due()
        self.set_aside: dict[str, str] = {}  # group -> why (the gateway's answer)
        self.notes: list[str] = []

    def new_cycle(self) -> None:
        """A cycle starts: its notes are its own."""
        self.notes = []

    def forget(self) -> None:
        """After a token change: every group is due, and none is set aside any more."""
        self.set_aside.clear()
        self.due = Due()

    async def optional(self, group: str, read: Callable[[], Awaitable[T]]) -> T | None:
        """Read an endpoint the gateway may lack or the token may not reach."""
        if group in self.set_aside:
            return None
        try:
            return await read()
        except (NotFound, NotPermitted, AuthRejected) as exc:
            self.set_aside[group] = exc.message
            self.notes.append(exc.message)
            return None

    async def noted(self, group: str, read: Callable[[], Awaitable[T]]) -> T | None:
        """An optional read that no core attribute needs: an answer that cannot be read (an
        HTML page, a damaged body) is noted and gives None, rather than failing the cycle."""
        try:
            return await self.optional(group, read)
        except BadResponse as exc:
            self.notes.append(exc.message)
            return None
