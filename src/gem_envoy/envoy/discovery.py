"""Gateways on the LAN, as they announce themselves over mDNS / DNS-SD.

An IQ Gateway announces the service `_enphase-envoy._tcp.local.` (instance `envoy`, or
`envoy-2` after a name conflict) with its addresses and the TXT keys `serialnum`, `protovers`
(the firmware, without its letter) and `txtvers` (wire formats, section 5.4). Its SRV port
says 80 even where only HTTPS on 443 answers, so the port is reported as announced and left
to the caller to believe or not.

`browse` lists every gateway that answers within a time; `find` returns as soon as the one
with a given serial answers (a gateway that moved to a new address).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

SERVICE_TYPE = "_enphase-envoy._tcp.local."
RESOLVE_MS = 3000  # per announced instance: its SRV, TXT and address records
DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Announced:
    """One gateway's announcement."""

    name: str  # the instance, e.g. "envoy"
    serial: str
    firmware: str  # as announced ("8.2.4345"): without the letter /info puts before it
    addresses: tuple[str, ...]  # IPv4 first
    port: int  # the SRV port, as announced
    host: str  # e.g. "envoy.local."

    @property
    def ipv4(self) -> str | None:
        """The first IPv4 address (what a client should use: Home Assistant ignores IPv6
        announcements of gateways too)."""
        return next((a for a in self.addresses if ipaddress.ip_address(a).version == 4), None)


def _text(properties: Mapping[bytes, bytes | None], key: bytes) -> str:
    value = properties.get(key)
    return value.decode("utf-8", "replace").strip() if value else ""


def _address_order(address: str) -> tuple[int, str]:
    return (ipaddress.ip_address(address.split("%")[0]).version, address)


def from_info(info: AsyncServiceInfo) -> Announced | None:
    """The announcement of a resolved service; None without a serial (not a gateway's)."""
    serial = _text(info.properties, b"serialnum")
    if not serial:
        return None
    addresses = tuple(sorted(set(info.parsed_scoped_addresses(IPVersion.All)), key=_address_order))
    instance = info.name.removesuffix("." + SERVICE_TYPE)
    return Announced(
        name=instance,
        serial=serial,
        firmware=_text(info.properties, b"protovers"),
        addresses=addresses,
        port=info.port or 0,
        host=info.server or "",
    )


async def browse(
    timeout_s: float = DEFAULT_TIMEOUT_S, serial: str | None = None
) -> list[Announced]:
    """The gateways that announce themselves within `timeout_s`, by serial. With `serial`,
    returns as soon as that gateway is found (or after `timeout_s` without it)."""
    loop = asyncio.get_running_loop()
    found: dict[str, Announced] = {}
    wanted = asyncio.Event()
    resolving: set[asyncio.Task[None]] = set()
    # IPv4 sockets only: announcements carry the IPv6 addresses all the same, and a LAN
    # without IPv6 multicast then costs no errors.
    zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)

    async def resolve(name: str) -> None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(zeroconf.zeroconf, RESOLVE_MS):
            return
        announced = from_info(info)
        if announced is None:
            return
        found[announced.serial] = announced
        if serial is not None and announced.serial == serial:
            wanted.set()

    def start(name: str) -> None:
        task = loop.create_task(resolve(name))
        resolving.add(task)
        task.add_done_callback(resolving.discard)

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            loop.call_soon_threadsafe(start, name)

    browser = AsyncServiceBrowser(zeroconf.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wanted.wait(), timeout_s)
    finally:
        await browser.async_cancel()
        for task in list(resolving):
            task.cancel()
        await asyncio.gather(*resolving, return_exceptions=True)
        await zeroconf.async_close()
    return [found[s] for s in sorted(found)]


async def find(serial: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Announced | None:
    """The gateway with this serial, if it announces itself within `timeout_s`."""
    return next((a for a in await browse(timeout_s, serial) if a.serial == serial), None)
