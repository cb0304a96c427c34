"""`gem-envoy simulate --mdns`: the simulated gateway announces itself as a real one does,
`_enphase-envoy._tcp.local.` with the TXT keys `serialnum`, `protovers`, `txtvers` (wire
formats, section 5.4), but with the port it really listens on.

Listening on one address, it announces that address. Listening on all of them (0.0.0.0), it
announces the machine's addresses (loopback ones only when there is nothing else) and
watches them: when they change, as after a new DHCP lease, it announces the new ones, which
is how a gateway that moved is found again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket

import ifaddr
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

SERVICE_TYPE = "_enphase-envoy._tcp.local."
INSTANCE = "envoy"
WATCH_S = 1.0
WILDCARDS = ("", "0.0.0.0", "::")

log = logging.getLogger(__name__)


def machine_addresses() -> list[str]:
    """This machine's IPv4 addresses, loopback ones only when there is no other."""
    found = {
        str(ip.ip)
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str)
    }
    others = sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)
    return others or sorted(found)


class Advertiser:
    """Announces one simulated gateway until `close`."""

    def __init__(self, serial: str, firmware: str, host: str, port: int) -> None:
        self.serial = serial
        self.firmware = firmware.lstrip("DR")  # announced without the letter of /info
        self.host = host
        self.port = port
        self.addresses: list[str] = []
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The instance name announced (`envoy`, or `envoy-2`... after a conflict)."""
        return self._info.name.removesuffix("." + SERVICE_TYPE) if self._info else INSTANCE

    def _current_addresses(self) -> list[str]:
        return machine_addresses() if self.host in WILDCARDS else [self.host]

    def _service(self, name: str, addresses: list[str]) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            name,
            addresses=[socket.inet_aton(a) for a in addresses],
            port=self.port,
            properties={"serialnum": self.serial, "protovers": self.firmware, "txtvers": "1"},
            # Real gateways are all `envoy.local`; two simulators on one machine must not mix
            # their addresses under one host name.
            server=f"envoy-{self.serial}.local.",
        )

    async def start(self) -> None:
        self.addresses = self._current_addresses()
        self._zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
        self._info = self._service(f"{INSTANCE}.{SERVICE_TYPE}", self.addresses)
        # A second gateway on the LAN becomes `envoy-2`, as real ones do.
        await self._zeroconf.async_register_service(self._info, allow_name_change=True)
        if self.host in WILDCARDS:
            self._watch = asyncio.create_task(self._follow_addresses())

    async def _follow_addresses(self) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            current = self._current_addresses()
            if current == self.addresses or self._zeroconf is None or self._info is None:
                continue
            log.info("simulator: addresses now %s; announcing them", ", ".join(current))
            self.addresses = current
            self._info = self._service(self._info.name, current)
            await self._zeroconf.async_update_service(self._info)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._zeroconf is not None:
            with contextlib.suppress(Exception):  # a goodbye that cannot be sent is no harm
                await self._zeroconf.async_unregister_all_services()
            await self._zeroconf.async_close()
            self._zeroconf = None
