"""A process that writes poll after poll the way a runner does, for the SIGKILL test of a
poll's one transaction (`tests/host/test_poll_transaction_crash.py`):
`python -m tests.poll_worker DB`. Poll n sets the device's `polls` and every zone's `last_w`
to n; it prints `polling` once the first poll is stored."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from gem_envoy.host.events import EventHub
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.sink import StoreSink
from gem_envoy.host.store import Store

ZONES = 12


async def poll_forever(db: Path) -> None:
    async with await Store.open(db, KeyRing.load_or_create(db)) as store:
        device = await store.add_device("gw", "fake")
        zones = [(await store.add_zone(device.id, f"z{n}", f"SN{n}")).id for n in range(ZONES)]
        sink = StoreSink(store, device.id, EventHub(), history={"last_w"})
        n = 0
        while True:
            n += 1
            async with sink.one_transaction():
                await sink.device_attributes({"polls": n})
                for zone_id in zones:
                    await sink.zone_attributes(zone_id, {"last_w": n})
            if n == 1:
                print("polling", flush=True)


if __name__ == "__main__":
    asyncio.run(poll_forever(Path(sys.argv[1])))
