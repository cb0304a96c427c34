"""Child process: many simulated gateways in one process, each on its own port.

They share one token issuer and one TLS certificate (cheap to start by the thousand) but each
has its own serial, plant, sessions and counters. Writes the gateways (port, serial, installer
token, inverter serials) to a file only its owner can read, says "ready", then answers "stats"
until told "quit" (or stdin closes).

    python -m bench.fleet_sims --count 1000 --first 0 --out gateways.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.loopprobe import LoopProbe
from bench.protocol import emit, wait_command
from bench.shapes import FLEET_SHAPE, SIM_START
from bench.stats import percentile
from gem_envoy.sim import SimOptions, SimServer, TokenIssuer, make_server_context, start_simulator

TOKEN_LIFETIME_S = 24 * 3600
IDLE_TIMEOUT_S = 900.0  # longer than any run: a gap in polling must not cost a new handshake
SERIAL_BASE = 122_400_000_000


def _start_epoch() -> float:
    from datetime import datetime

    return datetime.fromisoformat(SIM_START).timestamp()


async def start_all(count: int, first: int) -> list[SimServer]:
    issuer = TokenIssuer()
    context = make_server_context()
    start = _start_epoch()
    servers = []
    for index in range(first, first + count):
        options = SimOptions(
            inverters=FLEET_SHAPE.inverters,
            cts=FLEET_SHAPE.cts,
            battery=FLEET_SHAPE.battery,
            serial=str(SERIAL_BASE + index),
            start_time=start,
            utc_offset_s=0,
            idle_timeout_s=IDLE_TIMEOUT_S,
            issuer=issuer,
            ssl_context=context,
        )
        servers.append(await start_simulator(options))
    return servers


def describe(servers: list[SimServer], role: str = "installer") -> list[dict[str, Any]]:
    gateways = []
    for server in servers:
        plant = server.plant
        assert plant is not None
        gateways.append(
            {
                "port": server.port,
                "serial": server.serial,
                "token": server.mint_token(role, TOKEN_LIFETIME_S),
                "inverters": [inv.serial for inv in plant.inverters],
            }
        )
    return gateways


def aggregate(servers: list[SimServer], probe: LoopProbe) -> dict[str, Any]:
    paths: Counter[str] = Counter()
    handshakes = [s.stats.tls_handshakes for s in servers]
    check_jwt = [s.stats.check_jwt for s in servers]
    for server in servers:
        paths.update(server.stats.requests)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "gateways": len(servers),
        "requests_total": sum(paths.values()),
        "requests": dict(paths),
        "bytes_sent": sum(s.stats.bytes_sent for s in servers),
        "tls_handshakes": sum(handshakes),
        "check_jwt": sum(check_jwt),
        "max_tls_handshakes_per_gateway": max(handshakes, default=0),
        "max_check_jwt_per_gateway": max(check_jwt, default=0),
        "gateways_never_polled": sum(1 for s in servers if not s.stats.requests),
        "max_streams_open_per_gateway": max((s.stats.max_streams_open for s in servers), default=0),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "loop_late_p99_ms": percentile(probe.late_ms(0.0, time.monotonic() + 1), 99),
    }


async def main(args: argparse.Namespace) -> None:
    began = time.monotonic()
    servers = await start_all(args.count, args.first)
    probe = LoopProbe()
    probing = asyncio.create_task(probe.run())
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(describe(servers, args.role), file)
        emit("ready", gateways=len(servers), start_s=time.monotonic() - began)
        while True:
            command = await wait_command(timeout_s=args.max_life_s)
            if command == "stats":
                emit("stats", **aggregate(servers, probe))
                probe.samples.clear()
            else:  # "quit", or stdin closed
                break
    finally:
        probing.cancel()
        await asyncio.gather(*(server.close() for server in servers), return_exceptions=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--role", default="installer", help="the tokens' role (or owner)")
    parser.add_argument("--max-life-s", type=float, default=900.0, help="exit if not told")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
