"""Child process: one simulated gateway per side of the live section, each on its own port.

Every gateway has CTs, 12 microinverters, no battery, the default split phase, and the
freshness probe on (`clock_power`: total production = 10 W x (simulated epoch seconds mod
1000)). Their clocks start at this machine's wall time and run at real pace, so a value's
sample time is read from the value itself against `time.time()` in any process here.
Every gateway answers under the field latency profile (one request at a time, each after a
service time drawn per endpoint, counted as busy time), at `--latency-scale` of real pace.

Writes the gateways (side, port, token of the side's role) to a file only its owner can read,
says "ready", then answers "reset" (every gateway's counters zeroed, with the wall time of
the reset) and "stats" (every gateway's counters, by side) until "quit" or stdin closes.

    python -m bench.live_sims --sides stream:installer,livedata:owner --out gateways.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.protocol import emit, wait_command
from bench.shapes import FLEET_SHAPE
from gem_envoy.sim import SimOptions, SimServer, TokenIssuer, make_server_context, start_simulator

# Long enough that no device warns of an expiring token (a day or less) during a run.
TOKEN_LIFETIME_S = 90 * 24 * 3600
IDLE_TIMEOUT_S = 900.0  # longer than any run: polling gaps must not cost new handshakes
SERIAL_BASE = 122_500_000_000


async def start_all(
    sides: list[tuple[str, str]], latency_scale: float, latency_seed: int
) -> dict[str, SimServer]:
    issuer = TokenIssuer()
    context = make_server_context()
    servers = {}
    for index, (side, _role) in enumerate(sides):
        options = SimOptions(
            inverters=FLEET_SHAPE.inverters,
            cts=True,
            battery=False,
            serial=str(SERIAL_BASE + index),
            utc_offset_s=0,
            idle_timeout_s=IDLE_TIMEOUT_S,
            issuer=issuer,
            ssl_context=context,
            clock_power=True,  # start_time None: the simulated clock is this machine's
            latency_profile="field",
            latency_scale=latency_scale,
            latency_seed=latency_seed * 100 + index,
        )
        servers[side] = await start_simulator(options)
    return servers


def describe(servers: dict[str, SimServer], roles: dict[str, str]) -> dict[str, Any]:
    return {
        side: {
            "port": server.port,
            "serial": server.serial,
            "role": roles[side],
            "token": server.mint_token(roles[side], TOKEN_LIFETIME_S),
        }
        for side, server in servers.items()
    }


def parse_sides(text: str) -> list[tuple[str, str]]:
    pairs = [item.split(":", 1) for item in text.split(",") if item]
    return [(side, role) for side, role in pairs]


async def main(args: argparse.Namespace) -> None:
    sides = parse_sides(args.sides)
    servers = await start_all(sides, args.latency_scale, args.latency_seed)
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(describe(servers, dict(sides)), file)
        emit("ready", gateways=len(servers))
        while True:
            command = await wait_command(timeout_s=args.max_life_s)
            if command == "reset":
                for server in servers.values():
                    server.stats.reset()
                emit("reset", at=time.time())
            elif command == "stats":
                at = time.time()
                emit("stats", at=at, sides={s: v.stats.as_json() for s, v in servers.items()})
            else:  # "quit", or stdin closed
                break
    finally:
        await asyncio.gather(*(server.close() for server in servers.values()))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sides", required=True, help="side:role,... (role owner|installer)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-life-s", type=float, default=900.0, help="exit if not told")
    parser.add_argument("--latency-scale", type=float, default=1.0, help="field profile pace")
    parser.add_argument("--latency-seed", type=int, default=0, help="the draws' seed")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
