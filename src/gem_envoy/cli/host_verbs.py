"""The host verbs of `gem-envoy`: run, device, zone, user, console.

They all work on one database (`--db`). Edits made here go through the host's DeviceService,
as the REST API's do, and reach a running service within a few seconds: it watches a
generation counter that these verbs bump.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gem_envoy.cli.open_store import open_store
from gem_envoy.cli.output import print_json, shown
from gem_envoy.cli.parsing import parse_listen, parse_pairs, typed_by_driver
from gem_envoy.cli.serve_options import add_serve_options, serve_options
from gem_envoy.host.device_service import DeviceService
from gem_envoy.host.store import NotFoundError, Store
from gem_envoy.host.supervisor import bump_generation
from gem_envoy.host.users import ROLES, ensure_admin

if TYPE_CHECKING:
    from gem_envoy.host.service import Host

DEFAULT_DB = "var/gem-envoy.db"
DEFAULT_LISTEN = "127.0.0.1:8080"
PASSWORD_ENV = "GEM_ENVOY_PASSWORD"

StoreVerb = Callable[[argparse.Namespace, DeviceService], Awaitable[object]]


async def with_devices(db: str, work: StoreVerb, args: argparse.Namespace) -> object:
    """Run `work` on the database's device service; a change bumps the generation."""
    store = await open_store(db)

    async def changed(device_id: int) -> None:
        del device_id  # a running service reloads every device
        await bump_generation(store)

    try:
        from gem_envoy.drivers import DRIVERS  # here: `--help` needs no driver

        return await work(args, DeviceService(store, DRIVERS, changed))
    finally:
        await store.close()


# -- run --------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here: the web stack is most of a start-up's time, and only `run` serves.
    from gem_envoy.drivers import DRIVERS
    from gem_envoy.host.service import serve_until_stopped

    listen_host, listen_port = parse_listen(args.listen)
    options = serve_options(args)

    async def announce(host: Host, port: int) -> None:
        password = await ensure_admin(host.store)
        print(f"gem-envoy host on http://{listen_host}:{port}/  (database {args.db})", flush=True)
        if password:
            print(f"created user admin with password {password}", flush=True)

    asyncio.run(
        serve_until_stopped(Path(args.db), DRIVERS, listen_host, listen_port, announce, options)
    )
    return 0


# -- device / zone / user -------------------------------------------------------------------


async def _device_add(args: argparse.Namespace, devices: DeviceService) -> object:
    values = parse_pairs(args.attributes, typed_by_driver(devices.drivers, args.driver))
    device = await devices.create(
        args.name, args.driver, label=args.label or "", elevated=args.elevated, attributes=values
    )
    return {"id": device.id, "name": device.name}


async def _device_list(args: argparse.Namespace, devices: DeviceService) -> object:
    rows = []
    for device in await devices.store.list_devices():
        attrs = await devices.store.get_attributes("device", device.id)
        row: dict[str, object] = {
            "id": device.id, "name": device.name, "label": device.label,
            "driver": device.driver, "enabled": device.enabled, "elevated": device.elevated,
        }  # fmt: skip
        row["attributes"] = shown({n: a.value for n, a in attrs.items()})
        rows.append(row)
    return rows


async def _device_set(args: argparse.Namespace, devices: DeviceService) -> object:
    device = await devices.store.get_device(args.device)
    values = parse_pairs(args.attributes, typed_by_driver(devices.drivers, device.driver))
    enabled = {"enable": True, "disable": False}.get(args.state or "")
    await devices.update(device.id, label=args.label, enabled=enabled, attributes=values)
    return {"id": device.id, "updated": sorted(values)}


async def _device_rm(args: argparse.Namespace, devices: DeviceService) -> object:
    device = await devices.delete(args.device)
    return {"deleted": device.id}


async def _zone_add(args: argparse.Namespace, devices: DeviceService) -> object:
    zone = await devices.add_zone(args.device, args.name, args.address)
    warning = await devices.zone_address_warning(zone.device, zone.address)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return {"id": zone.id, "device": zone.device, "name": zone.name, "address": zone.address}


async def _zone_list(args: argparse.Namespace, devices: DeviceService) -> object:
    store: Store = devices.store
    device_id = (await store.get_device(args.device)).id if args.device else None
    return [
        {"id": z.id, "device": z.device, "name": z.name, "address": z.address}
        for z in await store.list_zones(device_id)
    ]


async def _zone_rm(args: argparse.Namespace, devices: DeviceService) -> object:
    zone = await devices.delete_zone(args.zone)
    return {"deleted": zone.id}


def _new_password(name: str) -> str:
    return os.environ.get(PASSWORD_ENV) or getpass.getpass(f"password for {name}: ")


async def _user_add(args: argparse.Namespace, devices: DeviceService) -> object:
    await devices.store.add_user(args.name, _new_password(args.name), args.role)
    return {"user": args.name, "role": args.role}


async def _user_list(args: argparse.Namespace, devices: DeviceService) -> object:
    return [{"user": name, "role": role} for name, role in await devices.store.list_users()]


# Each change ends the user's sessions, also in a service running meanwhile: it reads them
# from the same database on every request.
async def _user_delete(args: argparse.Namespace, devices: DeviceService) -> object:
    ended = await devices.store.delete_user(args.name)
    return {"deleted": args.name, "sessions_ended": ended}


async def _user_set_role(args: argparse.Namespace, devices: DeviceService) -> object:
    ended = await devices.store.set_role(args.name, args.role)
    return {"user": args.name, "role": args.role, "sessions_ended": ended}


async def _user_passwd(args: argparse.Namespace, devices: DeviceService) -> object:
    ended = await devices.store.set_password(args.name, _new_password(args.name))
    return {"user": args.name, "sessions_ended": ended}


async def _user_logout(args: argparse.Namespace, devices: DeviceService) -> object:
    if args.name not in dict(await devices.store.list_users()):
        raise NotFoundError(f"there is no user named {args.name!r}")
    ended = await devices.store.delete_user_sessions(args.name)
    return {"user": args.name, "sessions_ended": ended}


STORE_VERBS: dict[str, StoreVerb] = {
    "device add": _device_add, "device list": _device_list, "device set": _device_set,
    "device rm": _device_rm, "zone add": _zone_add, "zone list": _zone_list,
    "zone rm": _zone_rm, "user add": _user_add, "user list": _user_list,
    "user delete": _user_delete, "user set-role": _user_set_role, "user passwd": _user_passwd,
    "user logout": _user_logout,
}  # fmt: skip


def cmd_store_verb(args: argparse.Namespace) -> int:
    verb = STORE_VERBS[f"{args.verb} {args.action}"]
    print_json(asyncio.run(with_devices(args.db, verb, args)))
    return 0


# -- console ------------------------------------------------------------------------------------


def cmd_console(args: argparse.Namespace) -> int:
    from gem_envoy.drivers import DRIVERS
    from gem_envoy.host.console import Gem, run_console
    from gem_envoy.host.service import Host

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
    add_serve_options(run)
    run.set_defaults(handler=cmd_run)

    console = verbs.add_parser("console", help="the script console (await gem.command(...))")
    _db(console)
    console.set_defaults(handler=cmd_console)

    _add_device_verbs(verbs)
    _add_zone_verbs(verbs)
    _add_user_verbs(verbs)


def _add_user_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = verbs.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    from_env = f"password from ${PASSWORD_ENV} or a prompt; 12 characters or more"
    add = actions.add_parser("add", help=f"add a user ({from_env})")
    add.add_argument("name")
    add.add_argument("--role", choices=sorted(ROLES), default="user")
    lst = actions.add_parser("list", help="list users and their roles")
    delete = actions.add_parser("delete", help="delete a user (never the last admin)")
    delete.add_argument("name")
    set_role = actions.add_parser(
        "set-role", help="change a user's role (never demotes the last admin)"
    )
    set_role.add_argument("name")
    set_role.add_argument("role", choices=sorted(ROLES))
    passwd = actions.add_parser("passwd", help=f"set a user's password ({from_env})")
    passwd.add_argument("name")
    logout = actions.add_parser("logout", help="sign a user out everywhere")
    logout.add_argument("name")
    for parser in (add, lst, delete, set_role, passwd, logout):
        _db(parser)
        parser.set_defaults(handler=cmd_store_verb)


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
