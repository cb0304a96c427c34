"""Child process: one real host (store, supervisor, enphase_envoy driver) with one device per
side of ours, each on its own simulated gateway, at the side's `polling_interval`.

    open host -> add devices -> watch the watched sides' devices (as an open page would)
    -> subscribe to the EventHub -> supervisor.start()
    -> "ready" (every device shows production_now_w from its expected source)
    -> wait for "stop {w0, w1}" -> close the host -> count history rows -> "result"

What is recorded is what the host's `/api/events` would send: each `AttributeChange` of a
device, taken from the host's own `EventHub` (this process; the REST API is not started, as
in the fleet section), with the wall time it was received. `/api/events` relays the same
changes from the same hub, so only its HTTP hop is missing from the ages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.protocol import emit, wait_command
from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.host.events import AttributeChange
from gem_envoy.host.service import Host

READY_TIMEOUT_S = 60.0


class Recorder:
    """Every device's `production_now_w` and `live_source` changes, with arrival times."""

    def __init__(self, sides: dict[int, str]) -> None:
        self.sides = sides
        self.production: dict[str, list[tuple[float, float]]] = {s: [] for s in sides.values()}
        self.sources: dict[str, list[tuple[float, str]]] = {s: [] for s in sides.values()}

    def take(self, change: AttributeChange, now: float) -> None:
        side = self.sides.get(change.target_id)
        if change.target_type != "device" or side is None:
            return
        watts = change.values.get("production_now_w")
        if isinstance(watts, int | float) and not isinstance(watts, bool):
            self.production[side].append((now, float(watts)))
        source = change.values.get("live_source")
        if isinstance(source, str):
            self.sources[side].append((now, source))

    def shows(self, side: str, source: str) -> bool:
        seen = self.sources[side]
        return bool(self.production[side]) and bool(seen) and seen[-1][1] == source


async def listen(host: Host, recorder: Recorder, subscribed: asyncio.Event) -> None:
    async with host.events.subscribe() as queue:
        subscribed.set()
        while True:
            change = await queue.get()
            recorder.take(change, time.time())


async def add_devices(
    host: Host, gateways: dict[str, Any], setup: dict[str, dict[str, Any]]
) -> dict[int, str]:
    sides = {}
    for side, gateway in gateways.items():
        device = await host.store.add_device(
            f"envoy-{side}",
            "enphase_envoy",
            attributes={
                "ip": "127.0.0.1",
                "port": gateway["port"],
                "token": gateway["token"],
                "polling_interval": int(setup[side]["interval_ms"]),
                "live": bool(setup[side]["live"]),
            },
        )
        sides[device.id] = side
    return sides


def history_rows(db: Path, sides: dict[int, str], w0: float, w1: float) -> dict[str, Any]:
    """Device history rows written with a timestamp in [w0, w1), per side, and by name."""
    out: dict[str, Any] = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        for device_id, side in sides.items():
            rows = conn.execute(
                "SELECT name, COUNT(*) FROM attribute_history WHERE target_type = 'device'"
                " AND target_id = ? AND ts >= ? AND ts < ? GROUP BY name",
                (device_id, w0, w1),
            ).fetchall()
            by_name = {str(name): int(n) for name, n in rows}
            out[side] = {"rows": sum(by_name.values()), "by_name": by_name}
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    gateways: dict[str, Any] = json.loads(args.gateways.read_text())
    setup: dict[str, dict[str, Any]] = json.loads(args.expect)
    expected = {side: str(how["source"]) for side, how in setup.items()}
    gateways = {side: gateways[side] for side in expected}
    with tempfile.TemporaryDirectory(prefix="gem-bench-live-host-") as tmp:
        db = Path(tmp) / "gem-envoy.db"
        host = await Host.open(db, {EnphaseEnvoyDriver.name: EnphaseEnvoyDriver})
        sides = await add_devices(host, gateways, setup)
        watched = [d for d, side in sides.items() if setup[side]["watched"]]
        recorder = Recorder(sides)
        subscribed = asyncio.Event()
        listening = asyncio.create_task(listen(host, recorder, subscribed))
        try:
            # Watched for the whole run, as by a page left open; the others by nobody.
            with host.supervisor.watchers.watching(watched):
                await subscribed.wait()
                began = time.monotonic()
                await host.supervisor.start()
                while time.monotonic() - began < READY_TIMEOUT_S and not all(  # noqa: ASYNC110
                    recorder.shows(side, source) for side, source in expected.items()
                ):
                    await asyncio.sleep(0.1)
                emit(
                    "ready",
                    after_s=time.monotonic() - began,
                    sources={s: (v[-1][1] if v else None) for s, v in recorder.sources.items()},
                )
                window = json.loads(await wait_command(timeout_s=args.max_life_s) or "{}")
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
            await host.close()
        rows = history_rows(db, sides, float(window["w0"]), float(window["w1"]))
    return {
        "production": recorder.production,
        "sources": recorder.sources,
        "history": rows,
        "interval_ms": {side: how["interval_ms"] for side, how in setup.items()},
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateways", type=Path, required=True)
    parser.add_argument(
        "--expect",
        required=True,
        help='{"side": {"source": "stream|livedata|poll", "live", "watched", "interval_ms"}}',
    )
    parser.add_argument("--max-life-s", type=float, default=900.0)
    return parser.parse_args()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)  # a reconnect or a fallback shows in stderr
    args = parse_args()
    try:
        result = asyncio.run(run(args))
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    emit("result", **result)


if __name__ == "__main__":
    main()
