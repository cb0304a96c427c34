"""Finding the gateway on the LAN: the add-device candidates, and a moved gateway's address."""

from __future__ import annotations

import pytest

from gem_envoy.drivers.enphase_envoy.lan import RELOOK_FIRST_S, AddressFollower, candidate
from gem_envoy.envoy.discovery import Announced
from gem_envoy.envoy.errors import AuthRejected, GatewayTimeout, Unreachable
from gem_envoy.host.contract import DeviceError

SERIAL = "122300000001"


def announced(*addresses: str, port: int = 80) -> Announced:
    return Announced("envoy", SERIAL, "8.2.4345", addresses, port, "envoy.local.")


def failure(cause: Exception) -> DeviceError:
    try:
        raise DeviceError(str(cause)) from cause
    except DeviceError as failed:
        return failed


class Finder:
    def __init__(self, *answers: Announced | None) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, serial: str, timeout_s: float) -> Announced | None:
        self.asked.append(serial)
        return self.answers.pop(0) if self.answers else None


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_candidate_takes_the_ipv4_and_not_the_announced_http_port() -> None:
    found = candidate(announced("fd00::5", "192.168.1.50"))
    assert found is not None
    assert found.attributes == {"ip": "192.168.1.50", "serial_number": SERIAL}
    assert found.label == f"IQ Gateway {SERIAL} at 192.168.1.50, firmware 8.2.4345"
    simulator = candidate(announced("198.18.0.1", port=8443))
    assert simulator is not None and simulator.attributes["port"] == 8443
    assert candidate(announced("fd00::5")) is None  # no IPv4: nothing a device can use


async def test_a_gateway_that_stopped_answering_is_found_by_its_serial() -> None:
    finder = Finder(announced("192.168.1.77"))
    follower = AddressFollower(finder, Clock())
    unreachable = failure(Unreachable("connection refused"))
    assert await follower.new_address(unreachable, "192.168.1.50", SERIAL) == "192.168.1.77"
    assert finder.asked == [SERIAL]


@pytest.mark.parametrize(
    ("cause", "ip", "serial"),
    [
        (AuthRejected("401"), "192.168.1.50", SERIAL),  # it answered: it is there
        (Unreachable("refused"), "127.0.0.1", SERIAL),  # a simulator on this machine
        (Unreachable("refused"), "envoy.local", SERIAL),  # a name resolves by itself
        (Unreachable("refused"), "192.168.1.50", None),  # nothing to look it up by
    ],
)
async def test_only_a_silent_gateway_at_a_lan_address_is_looked_up(
    cause: Exception, ip: str, serial: str | None
) -> None:
    finder = Finder(announced("192.168.1.77"))
    assert await AddressFollower(finder, Clock()).new_address(failure(cause), ip, serial) is None
    assert finder.asked == []


async def test_after_a_lookup_in_vain_the_next_waits_longer_each_time() -> None:
    clock = Clock()
    still_there = announced("192.168.1.50", "192.168.1.77")  # down, or not yet re-announced
    finder = Finder(None, still_there, None, announced("192.168.1.77"))
    follower = AddressFollower(finder, clock)
    timeout = failure(GatewayTimeout("no answer"))

    async def looked_up(after_s: float) -> str | None:
        clock.now += after_s
        return await follower.new_address(timeout, "192.168.1.50", SERIAL)

    assert await looked_up(0) is None  # not found
    assert await looked_up(RELOOK_FIRST_S - 1) is None  # too soon: not asked
    assert await looked_up(1) is None  # found where it stopped answering
    assert await looked_up(2 * RELOOK_FIRST_S - 1) is None  # too soon again
    assert await looked_up(1) is None  # not found
    assert len(finder.asked) == 3
    assert await looked_up(4 * RELOOK_FIRST_S) == "192.168.1.77"
    assert len(finder.asked) == 4
