"""The issue's targets, checked against the results: met or missed, and by how much."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Issue 17: p99 poll time and start lag under 1 s and every due poll done at 1000 and 2000
# gateways; under 100 KB per device at 1000.
FLEET_TARGET_SIZES = ("1000", "2000")
LAG_LIMIT_MS = 1000.0
POLL_LIMIT_MS = 1000.0
RSS_LIMIT_KB = 100.0
CPU_LIMIT_PERCENT = 100.0  # one core
# "Every due poll done": polls in the window over those due, less the window's edges.
POLL_RATE_FLOOR = 0.99


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
    verdicts = []
    for size in FLEET_TARGET_SIZES:
        run = data.get("fleet", {}).get(size)
        if run is None:
            verdicts.append(Verdict(f"{size} gateways in one process", "not measured", None, ""))
            continue
        checks = [
            ("CPU share of one core", run["cpu_percent"], CPU_LIMIT_PERCENT, "%", True),
            ("p99 poll time", run.get("p99_poll_ms"), POLL_LIMIT_MS, " ms", True),
            ("p99 poll start lag", run["p99_lag_ms"], LAG_LIMIT_MS, " ms", True),
            ("every due poll done", run["poll_rate_ratio"], POLL_RATE_FLOOR, "", False),
        ]
        if size == "1000":
            checks.append(("RSS per device", run["rss_kb_per_device"], RSS_LIMIT_KB, " KB", True))
        verdicts += [_bound(f"{size} gateways: {what}", *check) for what, *check in checks]
    return verdicts


def _bound(target: str, value: Any, limit: float, unit: str, upper: bool) -> Verdict:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Verdict(target, "no data", None, "")
    met = value < limit if upper else value >= limit
    edge = "limit" if upper else "floor"
    if met:
        margin = f"{abs(limit - value) / limit:.0%} {'under' if upper else 'above'} the {edge}"
    else:
        margin = f"{abs(value - limit) / limit:.0%} {'over' if upper else 'under'} the {edge}"
    bound = "<" if upper else ">="
    shown = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return Verdict(target, f"{shown}{unit} (target {bound} {limit:.4g}{unit})", met, margin)


def _busy(data: dict[str, Any]) -> list[Verdict]:
    """Issue 17 point 2: ours at 30 s <= 1/4 of pyenphase at 30 s, ours at 5 s <= pyenphase
    at 60 s, in gateway busy seconds per hour."""
    verdicts = []
    for shape, sides in data.get("gateway_busy_s_per_hour", {}).items():
        for ours_key, theirs_key, share in (("ours_30s", "pyenphase_30s", 0.25),
                                            ("ours_5s", "pyenphase_60s", 1.0)):  # fmt: skip
            ours, theirs = sides.get(ours_key), sides.get(theirs_key)
            if ours is None or not theirs:
                continue
            name = f"gateway busy s/h, {shape}: {ours_key} <= {share:g} x {theirs_key}"
            verdicts.append(_bound(name, ours, share * theirs + 1e-9, " s", True))
    return verdicts


def evaluate(data: dict[str, Any]) -> list[Verdict]:
    return [
        *_ratio_verdicts(data, "requests_per_cycle", 0.5, "requests per cycle <= 1/2 pyenphase"),
        *_ratio_verdicts(data, "cpu_ms_per_cycle", 1 / 3, "CPU per cycle <= 1/3 pyenphase"),
        *_once_per_run(data),
        *_fleet(data),
        *_busy(data),
    ]
