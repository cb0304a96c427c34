"""`gem-envoy demo` (`make run`): a simulated gateway and a host polling it, no setup needed.

Everything stays on this machine: the gateway is the simulator on 127.0.0.1, the database and
its key live under `./var/demo/`. The device is set up the way a user would do it: a device
with `ip` and `token`, then one zone per inverter from `get_inverters`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
from pathlib import Path

from gem_envoy.cli_host import ADMIN_PASSWORD_ENV, serve_until_stopped
from gem_envoy.host.service import Host
from gem_envoy.host.store import NotFoundError, Store
from gem_envoy.host.users import ADMIN
from gem_envoy.sim import SimOptions, SimServer, start_simulator

log = logging.getLogger(__name__)

DEMO_DEVICE = "envoy"
DEMO_INTERVAL_MS = 10_000
TOKEN_LIFETIME_S = 365 * 24 * 3600


async def admin_password(store: Store) -> str:
    """The demo's admin password: $GEM_ENVOY_ADMIN_PASSWORD, else a new random one."""
    password = os.environ.get(ADMIN_PASSWORD_ENV) or secrets.token_urlsafe(12)
    if any(name == "admin" for name, _ in await store.list_users()):
        await store.set_password("admin", password)
    else:
        await store.add_user("admin", password, ADMIN)
    return password


async def point_device_at(store: Store, sim: SimServer) -> int:
    """Create the demo device, or re-point it at this run's simulator (new port, new token)."""
    values: dict[str, int | str] = {
        "ip": sim.host,
        "port": sim.port,
        "token": sim.mint_token("installer", TOKEN_LIFETIME_S),
        "polling_interval": DEMO_INTERVAL_MS,
    }
    try:
        device = await store.get_device(DEMO_DEVICE)
    except NotFoundError:
        device = await store.add_device(
            DEMO_DEVICE, "enphase_envoy", label="Demo IQ Gateway (simulated)", attributes=values
        )
        return device.id
    await store.set_attributes("device", device.id, values)
    return device.id


async def add_inverter_zones(host: Host, device_id: int) -> int:
    """One zone per microinverter, from the driver's own get_inverters command."""
    result = await host.supervisor.command(device_id, "get_inverters", {})
    serials = result.get("serials", []) if isinstance(result, dict) else []
    known = {z.address for z in await host.store.list_zones(device_id)}
    added = 0
    for number, serial in enumerate(serials, start=1):
        if serial not in known:
            await host.store.add_zone(device_id, f"Inverter {number}", serial)
            added += 1
    await host.supervisor.reload(device_id)
    return added


def cmd_demo(args: argparse.Namespace) -> int:
    asyncio.run(run_demo(args.db, args.listen))
    return 0


async def run_demo(db: str, listen: str) -> None:
    sim = await start_simulator(SimOptions(inverters=12, cts=True, battery=True))
    try:
        setup = await Host.open(Path(db), {}, polling=False)
        try:
            password = await admin_password(setup.store)
            device_id = await point_device_at(setup.store, sim)
        finally:
            await setup.close()

        async def announce(host: Host, port: int) -> None:
            zones = await add_inverter_zones(host, device_id)
            listen_host = listen.rpartition(":")[0].strip("[]")
            print(f"simulated gateway on {sim.url} (serial {sim.serial})")
            print(f"device {DEMO_DEVICE!r} (id {device_id}) polls it every "
                  f"{DEMO_INTERVAL_MS // 1000} s; {zones} zone(s) added")  # fmt: skip
            print(f"web page on http://{listen_host}:{port}/ - sign in as admin / {password}")
            print(f"REST API on http://{listen_host}:{port}/api/ (same users)")
            print("Ctrl-C to stop", flush=True)

        await serve_until_stopped(db, listen, announce)
    finally:
        await sim.close()


def add_demo_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = verbs.add_parser("demo", help="a simulated gateway and a host polling it (make run)")
    demo.add_argument("--db", default="var/demo/gem-envoy.db", help="database (var/demo/)")
    demo.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT of the API")
    demo.set_defaults(handler=cmd_demo)
