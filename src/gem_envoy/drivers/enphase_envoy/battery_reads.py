"""The Encharge reads of a poll cycle, only where the ensemble inventory lists batteries.

Battery power (`/ivp/ensemble/power`) every cycle, or every `battery_power_every_s` while the
storage CT's reading stands in for it (battery_ct.py), and not at all while a live feed
supplies it; state of charge and stored energy (`/ivp/ensemble/secctrl`) and the storage
settings (`/admin/lib/tariff`) once a minute; the inventory at connect, and again whenever
secctrl cannot be read (state of charge then comes from the per-unit inventory).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from gem_envoy.drivers.enphase_envoy.battery_ct import BatteryCt, batteries_watts
from gem_envoy.drivers.enphase_envoy.derive import Readings, has_encharge
from gem_envoy.drivers.enphase_envoy.reads import GatewayReads
from gem_envoy.drivers.enphase_envoy.storage import StorageControl
from gem_envoy.envoy.errors import BadResponse
from gem_envoy.envoy.models import BatteryPower, EnsembleInventory, SecCtrl


class BatteryReads:
    """What one gateway's batteries were last read as, and when each is due again."""

    def __init__(
        self,
        reads: GatewayReads,
        storage: StorageControl,
        *,
        totals_every_s: float,
        power_every_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reads = reads
        # Told what the inventory and the tariff say when they are read, and the source of
        # the battery settings' attributes (see storage.py).
        self.storage = storage
        self._totals_every_s = totals_every_s
        self._power_every_s = power_every_s
        self._clock = clock
        self.inventory: EnsembleInventory | None = None
        self.secctrl: SecCtrl | None = None
        self._battery_ct = BatteryCt()
        self.ct_w: float | None = None  # this cycle's storage CT watts, where they stand in

    def forget(self) -> None:
        """After a token change: nothing read with the old token is derived from again."""
        self.inventory = self.secctrl = None
        self._battery_ct = BatteryCt()
        self.storage.forget()

    async def read_inventory(self) -> None:
        # None once set aside (a token that may not read it): the batteries it listed are no
        # longer known, and nothing is derived from the old list.
        reads = self._reads
        self.inventory = await reads.optional("ensemble_inventory", reads.client.ensemble_inventory)
        self.storage.saw_inventory(self.inventory, reads.set_aside.get("ensemble_inventory"))

    async def readings(
        self, readings: Readings, *, power_live: bool, storage_ct_w: float | None
    ) -> Readings:
        """`readings` with the batteries' figures added; `storage_ct_w` is the storage CT's
        reading of this cycle, None where it was not read."""
        self.ct_w = None
        if not has_encharge(self.inventory):
            return replace(readings, inventory=self.inventory)
        power = None if power_live else await self._power(storage_ct_w)
        secctrl = await self._secctrl_if_due()
        if secctrl is None:  # state of charge then comes from the per-unit inventory
            await self.read_inventory()
        await self._tariff_if_due()
        return replace(readings, inventory=self.inventory, battery_power=power, secctrl=secctrl)

    async def _power(self, ct_w: float | None) -> tuple[BatteryPower, ...] | None:
        """The batteries' own power, every cycle; every `power_every_s` while the storage
        CT's reading of this cycle stands in for it in between (its watts are then kept in
        `ct_w` for the cycle)."""
        now = self._clock()
        due = self._reads.due
        power_due = due.due("battery_power", self._power_every_s, now)
        if self._battery_ct.stands_in(ct_w) and not power_due:
            self.ct_w = ct_w
            return None
        power = await self._reads.optional("ensemble_power", self._reads.client.ensemble_power)
        if power is not None:
            # Due again a second early: at a polling interval of this period, every cycle.
            due.mark("battery_power", now, early_s=1.0)
            self._battery_ct.compare(batteries_watts(power), ct_w)
        return power

    async def _secctrl_if_due(self) -> SecCtrl | None:
        """State of charge and stored energy move by a fraction of a percent a minute: read
        them once a minute and keep the last reading in between."""
        now = self._clock()
        if self._reads.due.due("secctrl", self._totals_every_s, now):
            fresh = await self._reads.optional("secctrl", self._reads.client.secctrl)
            self.secctrl = fresh
            if fresh is not None:
                self._reads.due.mark("secctrl", now)
        return self.secctrl

    async def _tariff_if_due(self) -> None:
        """The storage settings, at the pace of the battery totals: they change only when
        someone writes them. A firmware that answers something else than a tariff (an HTML
        page) leaves them absent, and is asked again a minute later; it never fails the
        cycle."""
        now = self._clock()
        reads = self._reads
        if not reads.due.due("tariff", self._totals_every_s, now):
            return
        reads.due.mark("tariff", now)
        try:
            tariff = await reads.optional("tariff", reads.client.tariff)
        except BadResponse as exc:
            reads.notes.append(exc.message)
            self.storage.saw_tariff(None, exc.message)
            return
        self.storage.saw_tariff(tariff, reads.set_aside.get("tariff"))
