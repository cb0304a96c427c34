"""Child process: gem-envoy's poll cycle, `GatewayPoller` as the enphase_envoy driver uses it.

One zone per inverter (the zone addresses the driver would pass), the default schedule
(inverter list every 5 minutes, `/info` and the inventory hourly). The poller's clock is a
virtual one that moves on by the polling interval at each cycle, so cycles run back to back
while the schedule behaves exactly as at that interval.
"""

from __future__ import annotations

from typing import Any

from bench.side import run, side_arguments
from gem_envoy.drivers.enphase_envoy.poller import CycleResult, GatewayPoller
from gem_envoy.envoy.client import EnvoyClient


class VirtualClock:
    def __init__(self, step_s: float) -> None:
        self.now = 1000.0
        self.step_s = step_s

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.step_s


class OursSession:
    def __init__(self, host: str, port: int, token: str, zones: list[str], step_s: float) -> None:
        self.clock = VirtualClock(step_s)
        self.client = EnvoyClient.connect_to(host, token, port=port, timeout_s=10.0)
        self.poller = GatewayPoller(self.client, zones=zones, clock=self.clock)
        self.last: CycleResult | None = None
        self.zone_reports = 0

    async def connect(self) -> None:
        await self.poller.connect()

    async def cycle(self) -> None:
        self.last = await self.poller.cycle()
        if self.last.zones is not None:
            self.zone_reports += 1
        self.clock.tick()

    async def close(self) -> None:
        await self.client.close()

    def sample(self) -> dict[str, Any]:
        device = self.last.device if self.last else {}
        return {
            "production_now_w": device.get("production_now_w"),
            "consumption_now_w": device.get("consumption_now_w"),
            "battery_soc_percent": device.get("battery_soc_percent"),
            "attributes": len(device),
            "zones_lists_read": self.zone_reports,
        }


def main() -> None:
    args = side_arguments().parse_args()
    zones = args.zones_file.read_text().split() if args.zones_file else []
    token = args.token_file.read_text()
    run(lambda: OursSession(args.host, args.port, token, zones, args.interval_s), args)


if __name__ == "__main__":
    main()
