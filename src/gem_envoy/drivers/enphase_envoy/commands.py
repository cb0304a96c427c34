"""The commands of the enphase_envoy driver's table, as data plus one function each.

Each command answers JSON-ready data. `get_status` also hands back the device attributes it
derived, so a host can refresh them from the same read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass

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

STORAGE_MODES = ("self-consumption", "backup", "economy")


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("get_status", (), "Reads /production.json and refreshes device attributes."),
    CommandSpec("get_production", (), "Raw /api/v1/production response."),
    CommandSpec(
        "get_inverters", (), "Per-microinverter wattage, and their serials. Installer JWT."
    ),
    CommandSpec("get_battery", (), "Encharge inventory + storage controller state. Installer JWT."),
    CommandSpec("get_info", (), "/info fields: firmware, part number, serial, metering."),
    CommandSpec(
        "set_storage_mode", ("mode",), "Not yet implemented: answers with an error.", writes=True
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


async def set_storage_mode(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    mode = args.get("mode")
    if mode not in STORAGE_MODES:
        raise CommandRefused(
            f"set_storage_mode: mode must be one of {', '.join(STORAGE_MODES)}; got {mode!r}"
        )
    raise CommandRefused(
        "set_storage_mode: not yet implemented (the Encharge profile payload is not validated "
        "against a live battery)"
    )


async def accept_certificate(client: EnvoyClient, args: Mapping[str, str]) -> CommandOutcome:
    # The driver in a host answers it itself: only a device has a certificate to trust.
    raise CommandRefused("accept_certificate: only a device of the host trusts a certificate")


HANDLERS: dict[str, Callable[[EnvoyClient, Mapping[str, str]], Awaitable[CommandOutcome]]] = {
    "get_status": get_status,
    "get_production": get_production,
    "get_inverters": get_inverters,
    "get_battery": get_battery,
    "get_info": get_info,
    "set_storage_mode": set_storage_mode,
    "accept_certificate": accept_certificate,
}


def check_arguments(spec: CommandSpec, args: Mapping[str, object]) -> None:
    """Refuse unexpected arguments before any traffic is sent. (Unknown actions are refused
    by `Driver.command_spec`, the one place that knows the table's names.)"""
    extra = sorted(set(args) - set(spec.args))
    if extra:
        raise CommandRefused(f"{spec.name}: unexpected argument(s) {', '.join(extra)}")


async def run_command(client: EnvoyClient, action: str, args: Mapping[str, str]) -> CommandOutcome:
    """Run one command whose arguments were checked. Raises CommandRefused for bad
    requests, EnvoyError for gateway trouble."""
    return await HANDLERS[action](client, args)
