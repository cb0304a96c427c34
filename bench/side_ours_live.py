"""Child process: gem-envoy's poll cycle while the meter stream supplies the power.

As `side_ours`, but at connect the session opens `/stream/meter` (an installer token), waits
for its first sample, and from then on tells the poller which attributes the stream keeps
current (`GatewayPoller.live`), as the driver does. The stream stays open through the run;
its events are left unread (the gateway's cost of pushing them is not busy time: see
`gem_envoy.sim.gateway`). A gateway without CTs answers the stream with a 404: the session
then polls as `side_ours` does, and the run says so (`live` false in its sample).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from bench.side import run, side_arguments
from bench.side_ours import OursSession
from gem_envoy.drivers.enphase_envoy.live_values import live_attributes
from gem_envoy.envoy.errors import EnvoyError

FIRST_SAMPLE_TIMEOUT_S = 10.0


class OursLiveSession(OursSession):
    def __init__(self, host: str, port: int, token: str, zones: list[str], step_s: float) -> None:
        super().__init__(host, port, token, zones, step_s)
        self._stack = AsyncExitStack()

    async def connect(self) -> None:
        await super().connect()
        try:
            stream = await self._stack.enter_async_context(self.client.meter_stream())
            power = await asyncio.wait_for(anext(aiter(stream)), FIRST_SAMPLE_TIMEOUT_S)
        except EnvoyError:
            return  # no stream on this gateway: the poll alone, as the driver would
        supplied = live_attributes(power, has_battery=self.poller.has_battery)
        self.poller.live = frozenset(supplied)

    async def close(self) -> None:
        await self._stack.aclose()
        await super().close()

    def sample(self) -> dict[str, Any]:
        return super().sample() | {"live": sorted(self.poller.live)}


def main() -> None:
    args = side_arguments().parse_args()
    zones = args.zones_file.read_text().split() if args.zones_file else []
    token = args.token_file.read_text()
    run(lambda: OursLiveSession(args.host, args.port, token, zones, args.interval_s), args)


if __name__ == "__main__":
    main()
