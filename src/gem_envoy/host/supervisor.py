"""Runs one DeviceRunner task per enabled device and routes commands to them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from gem_envoy.host.contract import (
    CommandRefused,
    CommandSpec,
    DeviceConfig,
    DriverRegistry,
    Json,
    ZoneConfig,
    declared_secure_names,
)
from gem_envoy.host.events import EventHub
from gem_envoy.host.long_lived import Freezer
from gem_envoy.host.redact import LOG_SCRUBBER, stored_secrets
from gem_envoy.host.runner import DeviceRunner
from gem_envoy.host.secrets import declare_secure
from gem_envoy.host.sink import StoreSink
from gem_envoy.host.store import Device, NotFoundError, Store
from gem_envoy.host.watchers import Watchers

log = logging.getLogger(__name__)

# A setting other processes bump after editing devices, so a running host picks edits up.
CONFIG_GENERATION = "config_generation"
CONFIG_WATCH_S = 5.0


async def bump_generation(store: Store) -> None:
    current = await store.get_setting(CONFIG_GENERATION, "0")
    await store.set_setting(CONFIG_GENERATION, str(int(current) + 1 if current.isdigit() else 1))


def counter_names(drivers: DriverRegistry) -> frozenset[str]:
    """The charted attributes that drivers declare lifetime counters (`total`): the store
    folds their energy per rollup bucket rather than only their mean."""
    return frozenset(
        spec.name
        for driver in drivers.values()
        for spec in (*driver.metadata().runtime, *driver.metadata().zone)
        if spec.history and spec.total
    )


class Supervisor:
    def __init__(
        self, store: Store, drivers: DriverRegistry, events: EventHub, *, polling: bool = True
    ) -> None:
        self.store = store
        self.drivers = drivers
        self.events = events
        # Who looks at which device (the page's event streams, bridges that ask): each
        # runner follows its device's count and tells its driver.
        self.watchers = Watchers()
        declare_secure(declared_secure_names(drivers))  # before any of their values is read
        store.declare_counters(counter_names(drivers))  # before the first rollup pass
        # Without polling (the console), drivers only connect to answer commands.
        self.polling = polling
        self._runners: dict[int, DeviceRunner] = {}
        self._sinks: dict[int, StoreSink] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._start_spread = 0.0
        self._freezer = Freezer()  # see long_lived: short pauses of the garbage collector

    async def start(self) -> None:
        """Reconcile each driver's command table, then start every enabled device."""
        for name, driver in self.drivers.items():
            specs = [(c.name, list(c.args), c.notes) for c in driver.commands()]
            await self.store.reconcile_commands(name, specs)
        await self.reload_all()

    async def watch_store(self, every_s: float = CONFIG_WATCH_S) -> None:
        """Reload every device when another process (the CLI) bumped the config generation."""
        seen = await self.store.get_setting(CONFIG_GENERATION, "0")
        while True:
            await asyncio.sleep(every_s)
            try:
                current = await self.store.get_setting(CONFIG_GENERATION, "0")
                if current != seen:
                    seen = current
                    await self.reload_all()
            except Exception as exc:  # a busy database is retried on the next tick
                log.warning("config watch: %s", exc)

    async def reload_all(self) -> None:
        known = {d.id for d in await self.store.list_devices()}
        targets = sorted(known | set(self._runners))
        for index, device_id in enumerate(targets):
            # Devices starting together are spread over their first interval rather than
            # all polling (and writing) at the same instant.
            self._start_spread = index / len(targets)
            await self.reload(device_id)
        self._start_spread = 0.0

    async def stop(self) -> None:
        await self._freezer.close()
        for device_id in list(self._runners):
            await self._stop(device_id)

    @property
    def runners(self) -> Mapping[int, DeviceRunner]:
        return self._runners

    async def device_config(self, device: Device) -> DeviceConfig:
        attributes = await self.store.get_attributes("device", device.id)
        zones = await self.store.list_zones(device.id)
        return DeviceConfig(
            id=device.id,
            name=device.name,
            attributes={name: a.value for name, a in attributes.items()},
            zones=tuple(ZoneConfig(z.id, z.name, z.address) for z in zones),
        )

    async def reload(self, device_id: int) -> None:
        """Bring the running state in line with the store after a device or zone changed."""
        try:
            device = await self.store.get_device(device_id)
        except NotFoundError:
            await self._stop(device_id)
            return
        if not device.enabled or device.driver not in self.drivers:
            if device.driver not in self.drivers:
                log.warning("device %s: no driver named %r", device.name, device.driver)
            await self._stop(device_id)
            return
        config = await self.device_config(device)
        runner = self._runners.get(device_id)
        if runner is None:
            self._start(device, config)
        await self._learn_secrets(device)
        if runner is not None:
            await runner.update(config)

    async def _learn_secrets(self, device: Device) -> None:
        """Mask the device's secrets (current and previous) in whatever it reports and in
        every log line, before its driver runs with them."""
        secrets = stored_secrets(await self.store.get_attributes("device", device.id))
        sink = self._sinks[device.id]
        sink.secrets = sink.secrets | secrets  # an old token echoed back stays masked too
        LOG_SCRUBBER.add(secrets)

    def _start(self, device: Device, config: DeviceConfig) -> None:
        driver_class = self.drivers[device.driver]
        charted = driver_class.metadata().history_names()
        sink = StoreSink(self.store, device.id, self.events, history=charted)
        runner = DeviceRunner(
            config, driver_class, sink, start_spread=self._start_spread, watchers=self.watchers
        )
        self._sinks[device.id] = sink
        self._runners[device.id] = runner
        if self.polling:
            self._tasks[device.id] = asyncio.create_task(runner.run(), name=f"device-{device.id}")
            self._freezer.started(runner.first_poll_done)

    async def _stop(self, device_id: int) -> None:
        task = self._tasks.pop(device_id, None)
        runner = self._runners.pop(device_id, None)
        self._sinks.pop(device_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif runner is not None:
            await runner.close()

    def command_spec(self, device: Device, action: str) -> CommandSpec:
        """The spec of `action` on this device's driver; CommandRefused if it has none."""
        driver_class = self.drivers.get(device.driver)
        if driver_class is None:
            raise CommandRefused(f"device {device.name} has no driver named {device.driver!r}")
        return driver_class.command_spec(action)

    async def command(
        self,
        device_ref: int | str,
        action: str,
        args: Mapping[str, Json],
        zone_id: int | None = None,
    ) -> Json:
        device = await self.store.get_device(device_ref)
        runner = self._runners.get(device.id)
        if runner is None:
            raise CommandRefused(f"device {device.name} is disabled or has no driver")
        zone = None
        if zone_id is not None:
            zone = next((z for z in runner.config.zones if z.id == zone_id), None)
            if zone is None:
                raise CommandRefused(f"zone {zone_id} does not belong to device {device.name}")
        return await runner.command(action, args, zone)
