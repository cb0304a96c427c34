"""Section 3: parse + attribute derivation alone, on the 40-inverter plant's payloads.

The payloads are read once from an in-process simulator (the `ct_battery` shape at the fixed
simulated time), which is then closed; the timed loop does no I/O. One cycle parses what a
poll cycle of that plant reads (`/production.json`, `/ivp/ensemble/power`, `/ivp/ensemble/
secctrl`) and derives the device attributes; the "full" cycle also parses the 40-inverter list
and derives the 40 zones (read every 5 minutes in steady state, so this is the worst cycle).
The rate is cycles per CPU second of this process (`time.process_time`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from bench.shapes import SHAPES, SIM_START
from gem_envoy.drivers.enphase_envoy.derive import (
    Readings,
    device_attributes,
    zones_attributes,
)
from gem_envoy.envoy import parse
from gem_envoy.sim import SimOptions, start_simulator

PATHS = (
    "/production.json",
    "/ivp/ensemble/power",
    "/ivp/ensemble/secctrl",
    "/ivp/ensemble/inventory",
    "/api/v1/production/inverters",
)


async def fetch_payloads() -> dict[str, bytes]:
    shape = next(s for s in SHAPES if s.name == "ct_battery")
    options = SimOptions(
        inverters=shape.inverters,
        cts=shape.cts,
        battery=shape.battery,
        start_time=datetime.fromisoformat(SIM_START).timestamp(),
        utc_offset_s=0,
    )
    sim = await start_simulator(options)
    try:
        token = sim.mint_token("installer", 3600)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(verify=False, trust_env=False, timeout=10.0) as client:
            payloads = {}
            for path in PATHS:
                reply = await client.get(sim.url + path, headers=headers)
                reply.raise_for_status()
                payloads[path] = reply.content
            return payloads
    finally:
        await sim.close()


def make_cycles(payloads: dict[str, bytes]) -> tuple[Callable[[], object], Callable[[], object]]:
    inventory = parse.parse_ensemble_inventory(payloads["/ivp/ensemble/inventory"])
    production, power, secctrl, inverters = (
        payloads["/production.json"],
        payloads["/ivp/ensemble/power"],
        payloads["/ivp/ensemble/secctrl"],
        payloads["/api/v1/production/inverters"],
    )

    def steady() -> object:
        readings = Readings(
            production=parse.parse_production(production),
            inventory=inventory,
            battery_power=parse.parse_ensemble_power(power),
            secctrl=parse.parse_secctrl(secctrl),
        )
        return device_attributes(readings)

    def full() -> object:
        steady()
        return zones_attributes(parse.parse_inverters(inverters), None)

    return steady, full


def rate(cycle: Callable[[], object], cycles: int) -> float:
    for _ in range(min(cycles, 20)):  # warm-up
        cycle()
    start = time.process_time()
    for _ in range(cycles):
        cycle()
    return cycles / max(time.process_time() - start, 1e-9)


def run(cycles: int, repeats: int) -> dict[str, float]:
    payloads = asyncio.run(fetch_payloads())
    steady, full = make_cycles(payloads)
    full_rates = sorted(rate(full, cycles) for _ in range(repeats))
    steady_rates = sorted(rate(steady, cycles) for _ in range(repeats))
    return {
        "derive_cycles_per_second": full_rates[len(full_rates) // 2],
        "derive_cycles_per_second_without_inverter_list": steady_rates[len(steady_rates) // 2],
        "cycles": cycles,
        "repeats": repeats,
        "payload_bytes": {path: len(body) for path, body in payloads.items()},
    }
