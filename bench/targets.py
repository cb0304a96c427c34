"""The issue's targets, checked against the results: met or missed, and by how much."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

FLEET_TARGET_SIZE = "1000"
LAG_LIMIT_MS = 1000.0
RSS_LIMIT_KB = 200.0
CPU_LIMIT_PERCENT = 100.0  # one core
POLL_RATE_FLOOR = 0.95  # "at a 5 s interval": polls must keep to the schedule


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    figure: str
    met: bool | None  # None: not measured in this run
    margin: str


def _ratio_verdicts(data: dict[str, Any], key: str, limit: float, name: str) -> list[Verdict]:
    verdicts = []
    for shape, sides in data.get(key, {}).items():
        ours, theirs = sides.get("ours"), sides.get("pyenphase")
        if ours is None or not theirs:
            verdicts.append(Verdict(f"{name}, {shape}", "pyenphase not measured", None, ""))
            continue
        ratio = ours / theirs
        met = ratio <= limit + 1e-9
        margin = (
            f"{(limit - ratio) / limit:.0%} under the limit"
            if met
            else f"{ratio / limit:.2f}x the limit: ours must fall by {1 - limit / ratio:.0%}"
        )
        verdicts.append(
            Verdict(
                f"{name}, {shape}",
                f"{ours:.3g} vs {theirs:.3g} = {ratio:.2f}x (limit {limit:.2f}x)",
                met,
                margin,
            )
        )
    return verdicts


def _once_per_run(data: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    for key, what in (
        ("tls_handshakes_per_run", "TLS handshake"),
        ("check_jwt_per_run", "check_jwt"),
    ):
        ours = data.get(key, {}).get("ours")
        if ours is not None:
            verdicts.append(
                Verdict(f"one {what} per gateway per run (poll cycles)", f"{ours:g} per run",
                        ours == 1, "" if ours == 1 else f"{ours - 1:g} too many")
            )  # fmt: skip
    fleet = data.get("fleet", {})
    for size, run in fleet.items():
        for key, what in (("tls_handshakes_per_gateway", "TLS handshake"),
                          ("check_jwt_per_gateway", "check_jwt")):  # fmt: skip
            value = run.get(key)
            if value is not None:
                verdicts.append(
                    Verdict(f"one {what} per gateway per run (fleet of {size})",
                            f"{value:g} per gateway", value == 1,
                            "" if value == 1 else f"{value - 1:+g} per gateway")
                )  # fmt: skip
    return verdicts


def _fleet(data: dict[str, Any]) -> list[Verdict]:
    run = data.get("fleet", {}).get(FLEET_TARGET_SIZE)
    if run is None:
        return [Verdict(f"{FLEET_TARGET_SIZE} gateways in one process", "not measured", None, "")]
    checks = (
        ("CPU share of one core", run["cpu_percent"], CPU_LIMIT_PERCENT, "%", True),
        ("p99 poll start lag", run["p99_lag_ms"], LAG_LIMIT_MS, " ms", True),
        ("RSS per device", run["rss_kb_per_device"], RSS_LIMIT_KB, " KB", True),
        ("polls kept to the 5 s schedule", run["poll_rate_ratio"], POLL_RATE_FLOOR, "", False),
    )
    verdicts = []
    for what, value, limit, unit, upper in checks:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            verdicts.append(Verdict(f"{FLEET_TARGET_SIZE} gateways: {what}", "no data", None, ""))
            continue
        met = value < limit if upper else value >= limit
        edge = "limit" if upper else "floor"
        if met:
            margin = f"{abs(limit - value) / limit:.0%} {'under' if upper else 'above'} the {edge}"
        else:
            margin = f"{abs(value - limit) / limit:.0%} {'over' if upper else 'under'} the {edge}"
        bound = "<" if upper else ">="
        verdicts.append(
            Verdict(
                f"{FLEET_TARGET_SIZE} gateways: {what}",
                f"{value:.3g}{unit} (target {bound} {limit:g}{unit})",
                met,
                margin,
            )
        )
    return verdicts


def evaluate(data: dict[str, Any]) -> list[Verdict]:
    return [
        *_ratio_verdicts(data, "requests_per_cycle", 0.5, "requests per cycle <= 1/2 pyenphase"),
        *_ratio_verdicts(data, "cpu_ms_per_cycle", 1 / 3, "CPU per cycle <= 1/3 pyenphase"),
        *_once_per_run(data),
        *_fleet(data),
    ]
