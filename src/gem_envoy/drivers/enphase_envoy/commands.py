"""The commands of the enphase_envoy driver's table, as data plus one function each.

Each command answers JSON-ready data. `get_status` also hands back the device attributes it
derived, so a host can refresh them from the same read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass

from gem_envoy.drivers.enphase_envoy import storage
from gem_envoy.drivers.enphase_envoy.derive import (
    Attributes,
    Readings,
    device_attributes,
    microinverters,
)
from gem_envoy.envoy import parse
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import NotFound, NotPermitted
from gem_envoy.envoy.paths import (
    ENSEMBLE_INVENTORY,
    INVERTERS,
    PRODUCTION,
    SECCTRL,
    TARIFF,
    V1_PRODUCTION,
)
from gem_envoy.host.contract import CommandRefused, CommandSpec, Json

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("get_status", (), "Reads /production.json and refreshes device attributes."),
    CommandSpec("get_production", (), "Raw /api/v1/production response."),
    CommandSpec(
        "get_inverters", (), "Per-microinverter wattage, and their serials. Installer JWT."
    ),
    CommandSpec("get_battery", (), "Encharge inventory + storage controller state. Installer JWT."),
    CommandSpec("get_info", (), "/info fields: firmware, part number, serial, metering."),
    # Battery settings (storage.py): each write reads the tariff fresh, changes one field,
    # reads it back, and is watched for a cloud overwrite. Admins only, reads included (the
    # whole tariff comes back).
    CommandSpec(
        storage.SET_MODE,
        ("mode", "dry_run"),
        "Battery mode: self-consumption, backup or economy (savings). Verified after writing; "
        "dry_run=true shows the exact body and sends nothing.",
        writes=True,
        sets="storage_mode",
    ),
    CommandSpec(
        storage.SET_RESERVE,
        ("percent", "dry_run"),
        "Battery reserve, percent=0..100 (not below the gateway's very_low_soc). Verified; "
        "dry_run=true sends nothing.",
        writes=True,
        sets="battery_reserve_soc_percent",
    ),
    CommandSpec(
        storage.SET_GRID_CHARGE,
        ("enabled", "dry_run"),
        "Charge the battery from the grid: enabled=true|false. Verified; dry_run=true sends "
        "nothing.",
        writes=True,
        sets="charge_from_grid",
    ),
    CommandSpec(
        storage.GET_SETTINGS,
        (),
        "The battery settings as the gateway holds them now (read fresh).",
        writes=True,
    ),
    CommandSpec(
        "accept_certificate",
        (),
        "Trust the gateway's changed certificate (after a replacement or reset). Admins only.",
        writes=True,
    ),
)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    result: Json
    attributes: Attributes | None = None


async def _json(client: EnvoyClient, path: str) -> Json:
    return parse.load_json(await client.fetch(path), path)


async def get_status(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    body = await client.fetch(PRODUCTION)
    report = parse.parse_production(body)
    return CommandOutcome(
        parse.load_json(body, PRODUCTION), device_attributes(Readings(production=report))
    )


async def get_production(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    return CommandOutcome(await _json(client, V1_PRODUCTION))


async def get_inverters(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    body = await client.fetch(INVERTERS)
    serials = [inv.serial for inv in microinverters(parse.parse_inverters(body))]
    return CommandOutcome({"inverters": parse.load_json(body, INVERTERS), "serials": serials})


async def _optional_json(client: EnvoyClient, path: str) -> Json:
    try:
        return await _json(client, path)
    except (NotFound, NotPermitted) as exc:
        return {"error": exc.message}


async def get_battery(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    inventory = await _json(client, ENSEMBLE_INVENTORY)
    return CommandOutcome(
        {
            "inventory": inventory,
            "secctrl": await _optional_json(client, SECCTRL),
            "tariff": await _optional_json(client, TARIFF),
        }
    )


async def get_info(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    return CommandOutcome(asdict(await client.info()))


async def accept_certificate(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    # The driver in a host answers it itself: only a device has a certificate to trust.
    raise CommandRefused("accept_certificate: only a device of the host trusts a certificate")


HANDLERS: dict[str, Callable[[EnvoyClient, Mapping[str, str]], Awaitable[CommandOutcome]]] = {
    "get_status": get_status,
    "get_production": get_production,
    "get_inverters": get_inverters,
    "get_battery": get_battery,
    "get_info": get_info,
    "accept_certificate": accept_certificate,
}


def check_arguments(spec: CommandSpec, args: Mapping[str, object]) -> None:
    """Refuse unexpected arguments before any traffic is sent. (Unknown actions are refused
    by `Driver.command_spec`, the one place that knows the table's names.)"""
    extra = sorted(set(args) - set(spec.args))
    if extra:
        raise CommandRefused(f"{spec.name}: unexpected argument(s) {', '.join(extra)}")


async def run_command(
    client: EnvoyClient,
    action: str,
    args: Mapping[str, str],
    battery: storage.StorageControl | None = None,
) -> CommandOutcome:
    """Run one command whose arguments were checked. Raises CommandRefused for bad
    requests, EnvoyError (or DeviceError, from a battery write) for gateway trouble.

    `battery` is the device's own battery settings control (what its polls read, its write
    in progress, its watch); without one, a battery command starts from nothing."""
    if action in storage.ACTIONS:
        answer = await (battery or storage.StorageControl()).run(client, action, args)
        return CommandOutcome(answer.result, answer.attributes or None)
    return await HANDLERS[action](client, args)
