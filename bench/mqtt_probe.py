"""Child process: one MQTT client subscribed to everything the hosts publish (scaling section).

    python -m bench.mqtt_probe --url mqtt://127.0.0.1:PORT

It says "ready" once subscribed, then records each message's arrival (wall clock, shared with
the hosts on this machine). Told `report SINCE UNTIL` (wall-clock seconds), it answers with the
messages per second in that window and the end-to-end delay of each device's state document:
its arrival less the `last_poll_ms` inside it, which the host stamps when the poll ends. So the
delay covers the host's store, event hub and bridge, the broker and this client; the poll itself
(gateway to host) is the fleet's poll time, reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from bench.protocol import emit, wait_command
from bench.stats import percentile
from gem_envoy.host.bridges.mqtt_options import parse_broker_url


@dataclass
class Arrivals:
    times: list[float] = field(default_factory=list)
    state_delays: list[tuple[float, float]] = field(default_factory=list)  # (arrival, delay s)

    def add(self, topic: str, payload: bytes, arrived: float) -> None:
        self.times.append(arrived)
        if not topic.endswith("/state") or not payload:
            return
        try:
            document = json.loads(payload)
        except ValueError:
            return
        # An attribute may be named `state` too: only the device's document has the stamp.
        stamp = document.get("last_poll_ms") if isinstance(document, dict) else None
        if isinstance(stamp, int | float):
            self.state_delays.append((arrived, arrived - stamp / 1000))

    def report(self, since: float, until: float) -> dict[str, Any]:
        inside = [t for t in self.times if since <= t < until]
        per_second: dict[int, int] = {}
        for t in inside:
            per_second[int(t)] = per_second.get(int(t), 0) + 1
        delays_ms = [d * 1000 for t, d in self.state_delays if since <= t < until]
        span = max(until - since, 1e-9)
        return {
            "window_s": span,
            "messages": len(inside),
            "messages_per_s": len(inside) / span,
            "max_messages_in_one_s": max(per_second.values(), default=0),
            "state_documents": len(delays_ms),
            "p50_delay_ms": percentile(delays_ms, 50),
            "p99_delay_ms": percentile(delays_ms, 99),
            "max_delay_ms": max(delays_ms, default=0.0),
        }


async def receive(client: aiomqtt.Client, arrivals: Arrivals) -> None:
    async for message in client.messages:
        payload = message.payload if isinstance(message.payload, bytes) else b""
        arrivals.add(message.topic.value, payload, time.time())


def _report_failure(task: asyncio.Task[None]) -> None:
    """A probe that stopped receiving would report a silent broker: say why instead."""
    if not task.cancelled() and task.exception() is not None:
        emit("error", message=f"receiving stopped: {task.exception()!r}")


async def main(args: argparse.Namespace) -> None:
    broker = parse_broker_url(args.url)
    arrivals = Arrivals()
    async with aiomqtt.Client(broker.host, broker.port, identifier="bench-probe") as client:
        await client.subscribe("#", qos=0)
        receiving = asyncio.create_task(receive(client, arrivals))
        emit("ready")
        receiving.add_done_callback(_report_failure)
        try:
            while True:
                command = (await wait_command(timeout_s=args.max_life_s)).split()
                if command[:1] != ["report"] or len(command) != 3:
                    break  # "quit", or stdin closed
                emit("report", **arrivals.report(float(command[1]), float(command[2])))
        finally:
            receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--max-life-s", type=float, default=1800.0, help="exit if not told")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
