"""The fault matrix: each simulator fault against a real host, and what the device made of it.

For each fault: the device is online with good values; the fault is set; the device must say
what happened in `last_error` (in the product description's words) while every telemetry value
stays as it was; the fault clears; the next poll must succeed within one polling interval.
A second device on a healthy gateway must keep polling throughout.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gem_envoy.host.service import Host
from tests.eventually import eventually
from tests.simulator import SimProcess

INTERVAL_S = 5.0  # the driver's floor, so the matrix runs as fast as a real device may
TIMEOUT_MS = 2000
TELEMETRY = (
    "production_now_w", "production_today_wh", "production_lifetime_wh",
    "consumption_now_w", "consumption_lifetime_wh", "net_power_w", "inverter_count",
    "battery_now_w", "battery_soc_percent", "battery_capacity_wh",
)  # fmt: skip
LIFETIME = ("production_lifetime_wh", "consumption_lifetime_wh")


@dataclass(frozen=True)
class Case:
    kind: str
    expect: str  # a regex the device's last_error must match; "" = it stays online
    params: dict[str, object] = field(default_factory=dict)
    hold_s: float = 3.0

    def fault(self) -> dict[str, object]:
        body: dict[str, object] = {"kind": self.kind, **self.params}
        if self.kind in ("tls", "refused"):
            body["duration_s"] = self.hold_s
        if self.kind == "reboot":
            body["seconds"] = self.hold_s
        return body


CASES = (
    Case("401", r"auth rejected \(401\).*mint a fresh", hold_s=11.0),
    Case("403", r"auth rejected \(403\)"),
    Case("404", r"not found \(404\)"),
    Case("500", r"HTTP 500"),
    Case("502", r"HTTP 502"),
    Case("timeout", r"^timeout"),
    Case("slow", r"^timeout"),
    # A reset mid-body and a body cut short look alike from the client's side.
    Case("reset", r"^(unreachable|bad response)"),
    Case("truncated", r"^(unreachable|bad response)"),
    Case("html", r"^bad response.*HTML"),
    Case("huge", r"larger than 4 MiB"),
    Case("tls", r"^unreachable: TLS handshake"),
    Case("refused", r"connection refused"),
    Case("reboot", r"connection refused", hold_s=4.0),
    Case("skew", "", params={"hours": 5}),
)
SHORT = ("401", "500", "timeout", "truncated", "html", "refused", "reboot", "skew")


@dataclass
class Outcome:
    kind: str
    reported: str = ""
    recovered: bool = False
    recover_s: float = float("nan")
    values_lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.recovered and self.values_lost == 0 and not self.problems


async def device_attrs(host: Host, device_id: int) -> dict[str, object]:
    attributes = await host.store.get_attributes("device", device_id)
    return {name: a.value for name, a in attributes.items()}


Check = Callable[[dict[str, object]], object]


async def wait_for(host: Host, device_id: int, check: Check, timeout_s: float) -> bool:
    """Whether the device's attributes pass `check` within `timeout_s`: an outcome to report,
    not a failure of its own."""

    async def passes() -> object:
        return check(await device_attrs(host, device_id))

    try:
        await eventually(passes, timeout_s)
    except AssertionError:
        return False
    return True


def fresh_since(moment_ms: int) -> Check:
    return lambda a: a.get("online") is True and int(str(a.get("last_poll_ms", 0))) > moment_ms


async def run_case(host: Host, sim: SimProcess, device_id: int, case: Case) -> Outcome:
    outcome = Outcome(case.kind)
    if not await wait_for(host, device_id, fresh_since(0), 30):
        outcome.problems.append("not online before the fault")
        return outcome
    good = await device_attrs(host, device_id)
    sim.reset_stats()
    polls_before = _count(sim, *POLL_PATHS)
    sim.fault(**case.fault())
    started = time.monotonic()
    await host.supervisor.reload(device_id)  # poll now rather than at the next interval
    if case.expect:
        await _expect_error(host, device_id, case, outcome)
        await _check_held(host, device_id, good, outcome)
    else:
        await asyncio.sleep(2.0)
        outcome.reported = "online" if (await device_attrs(host, device_id))["online"] else "?"
    await asyncio.sleep(max(0.0, case.hold_s - (time.monotonic() - started)))
    if case.kind == "401":
        _check_not_hammering(sim, polls_before, case, outcome)
    await _clear_and_recover(host, sim, device_id, case, outcome)
    await _check_after(host, device_id, good, outcome)
    in_flight = sim.stats()["max_in_flight"]
    if in_flight != 1:  # even while recovering, the gateway gets one request at a time
        outcome.problems.append(f"{in_flight} requests in flight at once")
    return outcome


# A poll cycle's first read: /production.json, or on a CT plant between its 5-minute reads
# the CTs' readings (a cycle stopped by a fault reads only one of them).
POLL_PATHS = ("/production.json", "/ivp/meters/readings")


def _count(sim: SimProcess, *paths: str) -> int:
    return sum(sim.requests_to(path) for path in paths)


async def _expect_error(host: Host, device_id: int, case: Case, outcome: Outcome) -> None:
    pattern = re.compile(case.expect)
    matched = await wait_for(
        host,
        device_id,
        lambda a: a.get("online") is False and pattern.search(str(a.get("last_error", ""))),
        TIMEOUT_MS / 1000 + case.hold_s + 2,
    )
    outcome.reported = str((await device_attrs(host, device_id)).get("last_error", ""))
    if not matched:
        outcome.problems.append(f"expected {case.expect!r}")


async def _check_held(
    host: Host, device_id: int, good: dict[str, object], outcome: Outcome
) -> None:
    during = await device_attrs(host, device_id)
    changed = [n for n in TELEMETRY if n in good and during.get(n) != good[n]]
    outcome.values_lost += len(changed)


def _check_not_hammering(sim: SimProcess, before: int, case: Case, outcome: Outcome) -> None:
    attempts = _count(sim, *POLL_PATHS) - before
    allowed = int(case.hold_s // INTERVAL_S) + 2
    if attempts > allowed:
        outcome.problems.append(f"{attempts} attempts in {case.hold_s:.0f} s while rejected")


async def _clear_and_recover(
    host: Host, sim: SimProcess, device_id: int, case: Case, outcome: Outcome
) -> None:
    if case.kind not in ("tls", "refused", "reboot"):
        sim.clear_fault()
    else:  # these clear themselves once their time is up
        await asyncio.sleep(0.2)
    cleared_ms = int(time.time() * 1000)
    cleared = time.monotonic()
    limit = INTERVAL_S + TIMEOUT_MS / 1000 + 1.0
    outcome.recovered = await wait_for(host, device_id, fresh_since(cleared_ms), limit)
    outcome.recover_s = round(time.monotonic() - cleared, 1)


async def _check_after(
    host: Host, device_id: int, good: dict[str, object], outcome: Outcome
) -> None:
    after = await device_attrs(host, device_id)
    outcome.values_lost += sum(1 for name in TELEMETRY if name in good and name not in after)
    for name in LIFETIME:
        if name in good and float(after.get(name, 0)) < float(good[name]):  # type: ignore[arg-type]
            outcome.values_lost += 1
        points = await host.store.history("device", device_id, name, since=0)
        outcome.values_lost += sum(1 for a, b in itertools.pairwise(points) if b[1] < a[1])
        outcome.values_lost += sum(1 for _, value in points if value <= 0)


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| fault | what the device reported | recovered | seconds to recover | values lost |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        reported = o.reported if len(o.reported) <= 70 else o.reported[:67] + "..."
        note = "" if not o.problems else f" ({'; '.join(o.problems)})"
        lines.append(
            f"| {o.kind} | {reported}{note} | {'yes' if o.recovered else 'NO'} "
            f"| {o.recover_s} | {o.values_lost} |"
        )
    return "\n".join(lines)
