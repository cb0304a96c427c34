"""One poll cycle or one command against a gateway, for the `poll` and `command` CLI verbs.

They run exactly what the driver runs in the host, once, and return JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gem_envoy.drivers.enphase_envoy import storage
from gem_envoy.drivers.enphase_envoy.commands import check_arguments, run_command
from gem_envoy.drivers.enphase_envoy.derive import token_attributes
from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.envoy.client import EnvoyClient


@dataclass(frozen=True, slots=True)
class Target:
    """Where the gateway is and how to reach it; the token never appears in repr."""

    host: str
    port: int
    timeout_s: float
    token: str

    def __repr__(self) -> str:
        return f"Target({self.host}:{self.port})"

    def client(self) -> EnvoyClient:
        return EnvoyClient.connect_to(
            self.host, self.token, port=self.port, timeout_s=self.timeout_s
        )


def identity_attributes(client: EnvoyClient, poller: GatewayPoller) -> dict[str, object]:
    """Attributes that come from /info and the token rather than from telemetry."""
    attrs: dict[str, object] = dict(token_attributes(client.claims))
    if poller.info is not None:
        attrs["serial_number"] = poller.info.serial
    return attrs


async def poll_once(target: Target, zones: str | None) -> tuple[dict[str, object], list[str]]:
    """`{"device": {...}, "zones": {serial: {...}}}` from one complete poll cycle, and the
    listed zone serials that the gateway's inverter list does not have."""
    client = target.client()
    try:
        poller = GatewayPoller(
            client,
            all_zones=zones == "all",
            zones=None if zones in (None, "all") else [z for z in zones.split(",") if z],
        )
        await poller.connect()
        result = await poller.cycle()
        device = identity_attributes(client, poller) | dict(result.device)
        return {"device": device, "zones": result.zones or {}}, poller.unknown_zone_addresses()
    finally:
        await client.close()


async def command_once(target: Target, action: str, args: Mapping[str, str]) -> object:
    check_arguments(EnphaseEnvoyDriver.command_spec(action), args)  # a bad request sends nothing
    if action in storage.ACTIONS:
        storage.asked(action, args)  # nor do bad battery settings
    client = target.client()
    try:
        if action != "get_info":  # get_info reads /info itself
            await client.info()  # refuses a D5 gateway with its own clear error
        return (await run_command(client, action, args)).result
    finally:
        await client.close()
