"""The gateway on the LAN, found by what it announces over mDNS (`envoy/discovery.py`): the
candidates offered when adding a device, and the new address of a gateway that moved.

A gateway whose DHCP lease changed stops answering at its old address. As Home Assistant
does, the driver then looks for it by its serial and, found elsewhere, polls it there (the
certificate pin still decides whether it is the same box). Only an IP address that is not a
loopback one is followed: a host name resolves by itself, and a gateway on this machine is a
simulator (the test suites' many stopped simulators must send no mDNS to the LAN).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gem_envoy.envoy.errors import GatewayTimeout, Unreachable
from gem_envoy.host.contract import DeviceError, Discovered

if TYPE_CHECKING:
    from gem_envoy.envoy.discovery import Announced

LOOKUP_S = 3.0  # how long to listen for the gateway's announcement
# After a lookup that found nothing new, the next waits 5 s, then twice as long each time up
# to a minute: a gateway caught between two announcements is found again soon, one that is
# merely down (rebooting, its nightly outage) costs the LAN one query a minute.
RELOOK_FIRST_S = 5.0
RELOOK_S = 60.0
# What a gateway's SRV port says although it serves HTTPS on 443 (section 5.4): not a port to
# set. Any other announced port is a non-standard install (or a simulator) and is kept.
STANDARD_PORTS = (80, 443)

Find = Callable[[str, float], Awaitable["Announced | None"]]


def candidate(gateway: Announced) -> Discovered | None:
    """What a new device for this gateway would be created with; None without an IPv4."""
    ip = gateway.ipv4
    if ip is None:
        return None
    attributes: dict[str, str | int] = {"ip": ip, "serial_number": gateway.serial}
    if gateway.port and gateway.port not in STANDARD_PORTS:
        attributes["port"] = gateway.port
    firmware = f", firmware {gateway.firmware}" if gateway.firmware else ""
    return Discovered(f"IQ Gateway {gateway.serial} at {ip}{firmware}", attributes)


async def candidates(timeout_s: float) -> tuple[Discovered, ...]:
    from gem_envoy.envoy import discovery  # here: zeroconf only when something is looked up

    found = (candidate(g) for g in await discovery.browse(timeout_s))
    return tuple(c for c in found if c is not None)


def followable(ip: str) -> bool:
    try:
        return not ipaddress.ip_address(ip).is_loopback
    except ValueError:  # a host name: resolved anew at each connection anyway
        return False


class AddressFollower:
    """One device's lookups of its gateway's new address."""

    def __init__(
        self, find: Find | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if find is None:
            from gem_envoy.envoy import discovery  # here: zeroconf only for a device that moves

            find = discovery.find
        self._find = find
        self._clock = clock
        self._next_at: float | None = None  # no lookup before this, after one in vain
        self._wait_s = RELOOK_FIRST_S

    async def new_address(self, failed: DeviceError, ip: str, serial: str | None) -> str | None:
        """The gateway's new IPv4 address, when `failed` says it stopped answering at `ip`
        and it announces itself elsewhere; else None."""
        if not isinstance(failed.__cause__, Unreachable | GatewayTimeout):
            return None  # it answered: whatever went wrong, it is there
        if not serial or not followable(ip):
            return None
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return None
        found = await self._find(serial, LOOKUP_S)
        # Still announcing the address it stopped answering at: down, not moved.
        address = found.ipv4 if found is not None and ip not in found.addresses else None
        if address is None:
            self._next_at = now + self._wait_s
            self._wait_s = min(RELOOK_S, self._wait_s * 2)
            return None
        self._next_at, self._wait_s = None, RELOOK_FIRST_S
        return address
