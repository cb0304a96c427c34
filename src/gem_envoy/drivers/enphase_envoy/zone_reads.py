"""The zones of a poll cycle: the inverter list (`/api/v1/production/inverters`), read no
more often than the gateway refreshes it, and only where zones are wanted.

New zone addresses are reported at the next cycle from the last list, without asking the
gateway again for the list it would send unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from gem_envoy.drivers.enphase_envoy.derive import (
    Attributes,
    microinverters,
    unknown_serials,
    zones_attributes,
)
from gem_envoy.drivers.enphase_envoy.reads import GatewayReads, drawn_early_s
from gem_envoy.envoy.models import Inverter


class ZoneReads:
    """Which inverters are zones, and the last inverter list."""

    def __init__(
        self,
        reads: GatewayReads,
        *,
        every_s: float,
        zones: list[str] | None = None,
        all_zones: bool = False,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._reads = reads
        self._every_s = every_s
        self.addresses = zones
        self.all_zones = all_zones
        self._jitter = jitter  # in [0, 1): where in FIRST_GAP the second list falls
        self.inverters: tuple[Inverter, ...] | None = None
        self._changed = False

    @property
    def wanted(self) -> bool:
        return self.all_zones or bool(self.addresses)

    def due(self, now: float) -> bool:
        """Whether the list would be read this cycle (wanted, readable, its period up)."""
        return (
            self.wanted
            and "inverters" not in self._reads.set_aside
            and self._reads.due.due("inverters", self._every_s, now)
        )

    def set_addresses(self, addresses: list[str]) -> None:
        """New zone addresses: the next cycle reports them, from the last inverter list
        when there is one (the gateway would only send the same list again)."""
        if addresses != self.addresses:
            self.addresses = addresses
            self._changed = True

    def unknown_addresses(self) -> list[str]:
        """The listed zone addresses the last inverter list does not have; none without a
        list (not read yet, or set aside)."""
        if self.inverters is None or self.all_zones or not self.addresses:
            return []
        return unknown_serials(self.inverters, self.addresses)

    def serials(self) -> Attributes:
        # What a zone added later is checked against (`zone_address_warning`).
        if self.inverters is None:
            return {}
        return {"inverter_serials": ",".join(i.serial for i in microinverters(self.inverters))}

    async def if_due(self, now: float, *, wait: bool) -> dict[str, Attributes] | None:
        """The zones' attributes: None when the list was not due (or waits a cycle), empty
        when it cannot be read (set aside)."""
        if not self.wanted:
            return None
        if wait or not self._reads.due.due("inverters", self._every_s, now):
            if not self._changed or self.inverters is None:
                return None
            self._changed = False
            return self._zones_of(self.inverters)
        inverters = await self._reads.optional("inverters", self._reads.client.inverters)
        if inverters is None:  # set aside: no zone has current values any more
            self.inverters = None
            return {}
        self._mark(now)
        self.inverters = inverters
        self._changed = False
        return self._zones_of(inverters)

    def _mark(self, now: float) -> None:
        early_s = 0.0
        if "inverters" not in self._reads.due.last:  # the first list: the next gap is drawn
            early_s = drawn_early_s(self._every_s, self._jitter())
        self._reads.due.mark("inverters", now, early_s=early_s)

    def _zones_of(self, inverters: tuple[Inverter, ...]) -> dict[str, Attributes]:
        return zones_attributes(inverters, None if self.all_zones else self.addresses)
