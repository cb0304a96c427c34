"""The host verbs of `gem-envoy`: run, device, zone, user, console.

They all work on one database (`--db`). Edits made here reach a running service within a
few seconds: the service watches a generation counter that these verbs bump.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.console import Gem, run_console
from gem_envoy.host.contract import AttributeValue
from gem_envoy.host.secrets import is_secure, mask
from gem_envoy.host.service import Host, bound_port, serving
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import bump_generation
from gem_envoy.host.users import ADMIN, ROLES

DEFAULT_DB = "var/gem-envoy.db"
DEFAULT_LISTEN = "127.0.0.1:8080"
ADMIN_PASSWORD_ENV = "GEM_ENVOY_ADMIN_PASSWORD"
PASSWORD_ENV = "GEM_ENVOY_PASSWORD"


class CliError(Exception):
    """A request the host verbs cannot act on; the message says why."""


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise CliError(f"--listen must be HOST:PORT, e.g. 127.0.0.1:8080, not {text!r}")
    return host.strip("[]"), int(port)


def typed_value(driver: str, name: str, text: str) -> AttributeValue:
    """A NAME=VALUE from the command line, typed by the driver's attribute table."""
    if text.startswith("@"):  # token=@FILE keeps secrets out of argv and shell history
        try:
            return Path(text[1:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"cannot read {name} from {text[1:]}: {exc.strerror}") from None
    driver_class = DRIVERS.get(driver)
    specs = {}
    if driver_class is not None:
        meta = driver_class.metadata()
        specs = {s.name: s.type for s in (*meta.required, *meta.optional)}
    kind = specs.get(name, "str")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise CliError(f"{name} must be a whole number, not {text!r}") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise CliError(f"{name} must be a number, not {text!r}") from None
    return text


def parse_pairs(driver: str, pairs: Sequence[str]) -> dict[str, AttributeValue]:
    values: dict[str, AttributeValue] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise CliError(f"attributes are NAME=VALUE (or NAME=@FILE), not {pair!r}")
        values[name] = typed_value(driver, name, text)
    return values


def check_values(driver: str, values: Mapping[str, AttributeValue]) -> None:
    """The driver's own checks, so that nothing unusable is stored."""
    driver_class = DRIVERS.get(driver)
    if driver_class is not None:
        try:
            driver_class.check_attributes(values)
        except ValueError as exc:
            raise CliError(str(exc)) from None


def shown(values: Mapping[str, object]) -> dict[str, object]:
    return {k: mask(str(v)) if is_secure(k) else v for k, v in values.items()}


async def with_store(db: str, work: Callable[[Store], Awaitable[object]]) -> object:
    host = await Host.open(Path(db), DRIVERS, polling=False)
    try:
        return await work(host.store)
    finally:
        await host.close()


async def ensure_admin(store: Store) -> str | None:
    """Create the elevated user `admin` on first start; returns its password if it was made."""
    if await store.list_users():
        return None
    password = os.environ.get(ADMIN_PASSWORD_ENV) or secrets.token_urlsafe(12)
    await store.add_user("admin", password, ADMIN)
    return password


# -- run --------------------------------------------------------------------------------------


async def serve_until_stopped(
    db: str, listen: str, announce: Callable[[Host, int], Awaitable[None]]
) -> None:
    listen_host, listen_port = parse_listen(listen)
    host = await Host.open(Path(db), DRIVERS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with serving(host, listen_host, listen_port) as server:
            await announce(host, bound_port(server))
            await stop.wait()
    finally:
        await host.close()


def cmd_run(args: argparse.Namespace) -> int:
    async def announce(host: Host, port: int) -> None:
        password = await ensure_admin(host.store)
        listen_host = parse_listen(args.listen)[0]
        print(f"gem-envoy host on http://{listen_host}:{port}/  (database {args.db})", flush=True)
        if password:
            print(f"created user admin with password {password}", flush=True)

    asyncio.run(serve_until_stopped(args.db, args.listen, announce))
    return 0


# -- device / zone / user -------------------------------------------------------------------


async def _device_add(args: argparse.Namespace, store: Store) -> object:
    if args.driver not in DRIVERS:
        raise CliError(f"unknown driver {args.driver!r}; known: {', '.join(DRIVERS)}")
    values = parse_pairs(args.driver, args.attributes)
    check_values(args.driver, values)
    device = await store.add_device(
        args.name, args.driver, label=args.label or "", elevated=args.elevated, attributes=values
    )
    await bump_generation(store)
    return {"id": device.id, "name": device.name}


async def _device_list(args: argparse.Namespace, store: Store) -> object:
    rows = []
    for device in await store.list_devices():
        attrs = await store.get_attributes("device", device.id)
        row: dict[str, object] = {
            "id": device.id, "name": device.name, "label": device.label,
            "driver": device.driver, "enabled": device.enabled, "elevated": device.elevated,
        }  # fmt: skip
        row["attributes"] = shown({n: a.value for n, a in attrs.items()})
        rows.append(row)
    return rows


async def _device_set(args: argparse.Namespace, store: Store) -> object:
    device = await store.get_device(args.device)
    values = parse_pairs(device.driver, args.attributes)
    check_values(device.driver, values)
    enabled = {"enable": True, "disable": False}.get(args.state or "")
    if args.label is not None or enabled is not None:
        device = await store.update_device(device.id, label=args.label, enabled=enabled)
    if values:
        await store.set_attributes("device", device.id, values)
    await bump_generation(store)
    return {"id": device.id, "updated": sorted(values)}


async def _device_rm(args: argparse.Namespace, store: Store) -> object:
    device = await store.get_device(args.device)
    await store.delete_device(device.id)
    await bump_generation(store)
    return {"deleted": device.id}


async def _zone_add(args: argparse.Namespace, store: Store) -> object:
    device = await store.get_device(args.device)
    zone = await store.add_zone(device.id, args.name, args.address)
    await bump_generation(store)
    return {"id": zone.id, "device": zone.device, "name": zone.name, "address": zone.address}


async def _zone_list(args: argparse.Namespace, store: Store) -> object:
    device_id = (await store.get_device(args.device)).id if args.device else None
    return [
        {"id": z.id, "device": z.device, "name": z.name, "address": z.address}
        for z in await store.list_zones(device_id)
    ]


async def _zone_rm(args: argparse.Namespace, store: Store) -> object:
    await store.delete_zone(args.zone)
    await bump_generation(store)
    return {"deleted": args.zone}


async def _user_add(args: argparse.Namespace, store: Store) -> object:
    password = os.environ.get(PASSWORD_ENV) or getpass.getpass(f"password for {args.name}: ")
    await store.add_user(args.name, password, args.role)
    return {"user": args.name, "role": args.role}


STORE_VERBS: dict[str, Callable[[argparse.Namespace, Store], Awaitable[object]]] = {
    "device add": _device_add, "device list": _device_list, "device set": _device_set,
    "device rm": _device_rm, "zone add": _zone_add, "zone list": _zone_list,
    "zone rm": _zone_rm, "user add": _user_add,
}  # fmt: skip


def cmd_store_verb(args: argparse.Namespace) -> int:
    verb = STORE_VERBS[f"{args.verb} {args.action}"]
    result = asyncio.run(with_store(args.db, lambda store: verb(args, store)))
    print(json.dumps(result, indent=2, default=str))
    return 0


# -- console ------------------------------------------------------------------------------------


def cmd_console(args: argparse.Namespace) -> int:
    loop = asyncio.new_event_loop()
    try:
        host = loop.run_until_complete(Host.open(Path(args.db), DRIVERS, polling=False))
        loop.run_until_complete(host.supervisor.start())
        try:
            run_console(Gem(host.store, host.supervisor), loop)
        finally:
            loop.run_until_complete(host.close())
    finally:
        loop.close()
    return 0


# -- argument parsing -------------------------------------------------------------------------


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")


def add_host_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = verbs.add_parser("run", help="run the host: polling, REST API and dashboard")
    _db(run)
    run.add_argument("--listen", default=DEFAULT_LISTEN, help="HOST:PORT of the API")
    run.set_defaults(handler=cmd_run)

    console = verbs.add_parser("console", help="the script console (await gem.command(...))")
    _db(console)
    console.set_defaults(handler=cmd_console)

    _add_device_verbs(verbs)
    _add_zone_verbs(verbs)
    user = verbs.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help=f"add a user (password from ${PASSWORD_ENV} or a prompt)")
    _db(add)
    add.add_argument("name")
    add.add_argument("--role", choices=sorted(ROLES), default="user")
    add.set_defaults(handler=cmd_store_verb)


def _add_device_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = verbs.add_parser("device", help="manage devices").add_subparsers(
        dest="action", required=True
    )
    add = actions.add_parser("add", help="add a device: NAME ip=... token=@FILE ...")
    add.add_argument("name")
    add.add_argument("attributes", nargs="*", metavar="NAME=VALUE")
    add.add_argument("--driver", default="enphase_envoy")
    add.add_argument("--label")
    add.add_argument("--elevated", action="store_true", help="commands need the admin role")
    lst = actions.add_parser("list", help="list devices (secrets masked)")
    set_ = actions.add_parser("set", help="set attributes: DEVICE NAME=VALUE ...")
    set_.add_argument("device", help="id or name")
    set_.add_argument("attributes", nargs="*", metavar="NAME=VALUE")
    set_.add_argument("--label")
    set_.add_argument("--state", choices=["enable", "disable"])
    rm = actions.add_parser("rm", help="delete a device, its zones and attributes")
    rm.add_argument("device", help="id or name")
    for parser in (add, lst, set_, rm):
        _db(parser)
        parser.set_defaults(handler=cmd_store_verb)


def _add_zone_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = verbs.add_parser("zone", help="manage zones").add_subparsers(
        dest="action", required=True
    )
    add = actions.add_parser("add", help="add a zone: DEVICE NAME ADDRESS (inverter serial)")
    add.add_argument("device", help="id or name")
    add.add_argument("name")
    add.add_argument("address", nargs="?", default="")
    lst = actions.add_parser("list", help="list zones")
    lst.add_argument("--device", help="only this device's zones")
    rm = actions.add_parser("rm", help="delete a zone")
    rm.add_argument("zone", type=int)
    for parser in (add, lst, rm):
        _db(parser)
        parser.set_defaults(handler=cmd_store_verb)
