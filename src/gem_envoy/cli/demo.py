"""`gem-envoy demo` (`make run`): a simulated gateway and a host polling it, no setup needed.

Everything stays on this machine: the gateway is the simulator on 127.0.0.1, the database and
its key live under `./var/demo/`. The device is set up the way a user would do it: a device
with `ip` and `token`, then one zone per inverter from `get_inverters`. Whatever the hour,
the plant's sun is up (`demo_clock`) and its charts have a past (`demo_plant`), which the
page's notice and the console say.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gem_envoy.cli.demo_password import demo_password
from gem_envoy.cli.parsing import parse_listen
from gem_envoy.cli.serve_options import add_serve_options, serve_options
from gem_envoy.host.device_service import DeviceService
from gem_envoy.host.store import NotFoundError
from gem_envoy.host.types import AttributeValue
from gem_envoy.host.users import ensure_admin

if TYPE_CHECKING:  # the simulator and the web stack are imported by the demo's run only
    from gem_envoy.host.service import Host, ServeOptions
    from gem_envoy.sim import SimServer

log = logging.getLogger(__name__)

DEMO_DEVICE = "envoy"
DRIVER = "enphase_envoy"
DEMO_INTERVAL_MS = 10_000
TOKEN_LIFETIME_S = 365 * 24 * 3600
CERTIFICATE_PIN = ("certificate_sha256", "certificate_expires_at", "certificate_pending_sha256")


async def point_device_at(devices: DeviceService, sim: SimServer) -> int:
    """Create the demo device, or re-point it at this run's simulator (new port, new token)."""
    values: dict[str, AttributeValue] = {
        "ip": sim.host,
        "port": sim.port,
        "token": sim.mint_token("installer", TOKEN_LIFETIME_S),
        "polling_interval": DEMO_INTERVAL_MS,
    }
    try:
        device = await devices.store.get_device(DEMO_DEVICE)
    except NotFoundError:
        label = "Demo IQ Gateway (simulated)"
        device = await devices.create(DEMO_DEVICE, DRIVER, label=label, attributes=values)
        return device.id
    # Each run's simulator has a certificate of its own: trusting it is the demo's to do,
    # as a person would accept a replaced gateway.
    forgotten = dict.fromkeys(CERTIFICATE_PIN)
    await devices.store.set_attributes("device", device.id, forgotten)
    await devices.update(device.id, attributes=values)
    return device.id


async def add_inverter_zones(host: Host, device_id: int) -> tuple[int, int]:
    """One zone per microinverter, from the driver's own get_inverters command: how many
    zones the device has, and how many of them were added now."""
    result = await host.supervisor.command(device_id, "get_inverters", {})
    serials = result.get("serials", []) if isinstance(result, dict) else []
    known = {z.address for z in await host.store.list_zones(device_id)}
    zones = [
        (f"Inverter {number}", serial)
        for number, serial in enumerate(serials, start=1)
        if serial not in known
    ]
    added = await host.devices.add_zones(device_id, zones)
    return len(known) + added, added


def cmd_demo(args: argparse.Namespace) -> int:
    asyncio.run(run_demo(args.db, args.listen, serve_options(args)))
    return 0


async def run_demo(db: str, listen: str, options: ServeOptions) -> None:
    listen_host, listen_port = parse_listen(listen)
    from gem_envoy.cli.demo_plant import device_history, plan_plant, zone_history
    from gem_envoy.drivers import DRIVERS
    from gem_envoy.host.notice import set_notice
    from gem_envoy.host.service import Host, serve_until_stopped
    from gem_envoy.sim import start_simulator

    charted = DRIVERS[DRIVER].metadata().history_names()
    setup = await Host.open(Path(db), DRIVERS, polling=False)
    try:
        password = await ensure_admin(
            setup.store, reset=True, password=demo_password(Path(db).parent)
        )
        plan = await plan_plant(setup.store, DEMO_DEVICE, time.time())
        sim = await start_simulator(plan.options)
        try:
            device_id = await point_device_at(setup.devices, sim)
            if plan.history is not None:
                await setup.store.add_history(device_history(plan.history, device_id, charted))
            await set_notice(setup.store, plan.notice)
        except BaseException:
            await sim.close()
            raise
    finally:
        await setup.close()
    try:

        async def announce(host: Host, port: int) -> None:
            zones, added = await add_inverter_zones(host, device_id)
            if plan.history is not None:
                listed = await host.store.list_zones(device_id)
                await host.store.add_history(zone_history(plan.history, listed))
            print(plan.notice)
            print(f"simulated gateway on {sim.url} (serial {sim.serial})")
            print(f"device {DEMO_DEVICE!r} (id {device_id}) polls it every "
                  f"{DEMO_INTERVAL_MS // 1000} s; {zones} zone(s), one per inverter "
                  f"({added} added now)")  # fmt: skip
            print(f"web page on http://{listen_host}:{port}/ - sign in as admin / {password}")
            print(f"REST API on http://{listen_host}:{port}/api/ (same users)")
            print("Ctrl-C to stop", flush=True)

        await serve_until_stopped(Path(db), DRIVERS, listen_host, listen_port, announce, options)
    finally:
        await sim.close()


def add_demo_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = verbs.add_parser("demo", help="a simulated gateway and a host polling it (make run)")
    demo.add_argument("--db", default="var/demo/gem-envoy.db", help="database (var/demo/)")
    demo.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT of the API")
    add_serve_options(demo)
    demo.set_defaults(handler=cmd_demo)
