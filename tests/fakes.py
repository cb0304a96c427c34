"""The one fake driver of the host's tests, and a sink that records what a driver reports.

`FakeDriver` keeps every instance it makes in `FakeDriver.instances`, which `fresh()` empties:
call it at the start of each test (the host fixtures do) so that nothing one test made or
counted is seen by the next, whatever order they run in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import ClassVar

from gem_envoy.host.contract import (
    AttributeSpec,
    AttributeValue,
    CommandRefused,
    CommandSpec,
    DeviceConfig,
    DeviceError,
    Driver,
    DriverMetadata,
    Json,
    Reported,
    Sink,
    ZoneConfig,
)

DEFAULT_INTERVAL_S = 0.2


class FakeDriver(Driver):
    """Counts polls and reports the count as `polls`; echoes, reports and fails on command.

    The device attribute `mode` says how its polls go: "ok" (the default), "hang" (never
    return), "fail" (the device fails: DeviceError), "bug" (the driver has one: RuntimeError).
    `poll_interval_s` sets the interval.
    """

    name: ClassVar[str] = "fake"
    instances: ClassVar[list[FakeDriver]] = []

    def __init__(self, config: DeviceConfig, sink: Sink) -> None:
        super().__init__(config, sink)
        self.polls = 0
        self.poll_times: list[float] = []  # monotonic, one per poll begun
        self.polled = asyncio.Event()
        self.configs = [config]
        self.actions: list[str] = []  # the commands that reached this driver
        self.watched: list[bool] = []  # what the host told of watchers, in order
        FakeDriver.instances.append(self)

    def set_watched(self, watched: bool) -> None:
        self.watched.append(watched)

    @classmethod
    def fresh(cls) -> None:
        """Forget the instances of earlier tests."""
        FakeDriver.instances = []

    @classmethod
    def of_device(cls, device_id: object) -> list[FakeDriver]:
        """The instances made for one device, oldest first."""
        return [d for d in FakeDriver.instances if d.config.id == device_id]

    @classmethod
    def polls_of(cls, device_id: object) -> int:
        """Polls begun for one device, over all its instances."""
        return sum(len(d.poll_times) for d in cls.of_device(device_id))

    @classmethod
    def metadata(cls) -> DriverMetadata:
        interval = AttributeSpec(
            "poll_interval_s", "float", "seconds between polls", DEFAULT_INTERVAL_S
        )
        polls = AttributeSpec("polls", "int", "polls so far", history=True)
        return DriverMetadata("fake", required=(), optional=(interval,), runtime=(polls,), zone=())

    @classmethod
    def commands(cls) -> tuple[CommandSpec, ...]:
        return (
            CommandSpec("echo", ("text",), "answers with its arguments"),
            CommandSpec("report", ("values",), "writes values through the sink"),
            CommandSpec("fail", (), "fails like an unreachable gateway"),
            CommandSpec("leak", (), "answers with the device token, as a careless driver might"),
            CommandSpec("crash", (), "a bug in the driver: raises a plain RuntimeError"),
            CommandSpec("switch", ("on",), "changes the device", writes=True),
        )

    def poll_interval_s(self) -> float:
        value = self.config.attributes.get("poll_interval_s", DEFAULT_INTERVAL_S)
        valid = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return float(value) if valid else DEFAULT_INTERVAL_S

    async def connect(self) -> None:
        pass

    async def poll(self) -> None:
        self.poll_times.append(time.monotonic())
        mode = self.config.attributes.get("mode", "ok")
        if mode == "hang":
            await asyncio.Event().wait()
        if mode == "fail":
            raise DeviceError("the fake device is unreachable")
        if mode == "bug":
            raise RuntimeError("the fake driver has a bug")
        self.polls += 1
        await self.sink.device_attributes({"polls": self.polls})
        self.polled.set()

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        self.actions.append(action)
        if action == "echo":
            return {"device": self.config.name, "args": dict(args), "zone": zone and zone.id}
        if action == "report":
            values = args.get("values")
            assert isinstance(values, dict)
            await self.sink.device_attributes(values)
            return {"reported": sorted(values)}
        token = self.config.attributes.get("token")
        if action == "fail":
            raise DeviceError(f"401 from https://gw.local/auth?token={token}\nretrying later")
        if action == "leak":
            return {"token": token, "note": f"sent Bearer {token}"}
        if action == "crash":
            raise RuntimeError("driver bug: list index out of range")
        if action == "switch":
            return {"switched": args.get("on")}
        raise CommandRefused(f"unknown command {action!r}; this driver knows echo and report")

    async def disconnect(self) -> None:
        pass

    def reconfigure(self, config: DeviceConfig) -> bool:
        self.config = config
        self.configs.append(config)
        return True


class RecordingSink:
    """A `Sink` that keeps every report, in order, and the latest value of each attribute
    (a None reported removes the attribute, as the store does)."""

    def __init__(self) -> None:
        self.device_reports: list[dict[str, AttributeValue | None]] = []
        self.zone_reports: list[tuple[int, dict[str, AttributeValue | None]]] = []
        self.live_reports: list[dict[str, AttributeValue | None]] = []  # also in device_reports

    async def device_attributes(self, values: Reported) -> None:
        self.device_reports.append(dict(values))

    async def device_live(self, values: Reported, *, history_every_s: float) -> None:
        self.device_reports.append(dict(values))
        self.live_reports.append(dict(values))

    async def zone_attributes(self, zone_id: int, values: Reported) -> None:
        self.zone_reports.append((zone_id, dict(values)))

    @property
    def device(self) -> dict[str, AttributeValue]:
        """Each device attribute's latest value, as the store would hold them."""
        return _latest(self.device_reports)

    def zone(self, zone_id: int) -> dict[str, AttributeValue]:
        return _latest(
            [report for reported_id, report in self.zone_reports if reported_id == zone_id]
        )


def _latest(reports: list[dict[str, AttributeValue | None]]) -> dict[str, AttributeValue]:
    latest: dict[str, AttributeValue] = {}
    for report in reports:
        for name, value in report.items():
            if value is None:
                latest.pop(name, None)
            else:
                latest[name] = value
    return latest
