"""The tables of the `busy` section (gateway busy seconds per hour) in docs/performance.md."""

from __future__ import annotations

from typing import Any

from bench.busy import SIDES, goals
from bench.shapes import SHAPES

LABELS = {
    "ours_30s": "ours, 30 s",
    "ours_5s": "ours, 5 s",
    "ours_live": "ours, live (stream) + 30 s poll",
    "pyenphase_60s": "pyenphase, 60 s",
    "pyenphase_30s": "pyenphase, 30 s",
}


def _n(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def busy_lines(doc: dict[str, Any]) -> list[str]:
    per_hour: dict[str, Any] = doc.get("gateway_busy_s_per_hour") or {}
    if not per_hour:
        return []
    details: dict[str, Any] = doc.get("busy") or {}
    lines = [
        "### Gateway busy seconds per hour (field latency profile)",
        "",
        "Sum of the service times the simulator drew (`--latency-profile field`, not slept) "
        "for the requests each side sends over an hour of its schedule; median of the runs "
        "(one seed of the draws each), every run in brackets.",
        "",
        "| plant | " + " | ".join(LABELS[side] for side in SIDES) + " |",
        "|---|" + "--:|" * len(SIDES),
    ]
    for shape in SHAPES:
        sides = per_hour.get(shape.name)
        if not sides:
            continue
        cells = []
        for side in SIDES:
            runs = details.get(shape.name, {}).get(side, {}).get("busy_s_per_hour_runs", [])
            spread = f" ({', '.join(_n(r) for r in runs)})" if len(runs) > 1 else ""
            cells.append(_n(sides.get(side)) + spread)
        lines.append(f"| {shape.label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The same requests at the profile's mean service times (0.26 s native, 2.45 s "
        "`/production.json`, 3.57 s with `?details=1`), free of the draws' luck:",
        "",
        "| plant | " + " | ".join(LABELS[side] for side in SIDES) + " |",
        "|---|" + "--:|" * len(SIDES),
    ]
    for shape in SHAPES:
        figures = details.get(shape.name, {})
        if figures:
            cells = [_n(figures.get(side, {}).get("expected_busy_s_per_hour")) for side in SIDES]
            lines.append(f"| {shape.label} | " + " | ".join(cells) + " |")
    lines += ["", "Busy seconds per hour by endpoint (last run):", ""]
    lines += ["| plant | side | endpoints (busy s per hour) |", "|---|---|---|"]
    for shape in SHAPES:
        for side in ("ours_30s", "ours_5s", "ours_live", "pyenphase_60s"):
            figures = details.get(shape.name, {}).get(side)
            if not figures:
                continue
            scale = _scale(figures)
            endpoints = ", ".join(
                f"`{path}` {busy * scale:.0f}"
                for path, busy in figures["busy_s_by_path"].items()
                if busy > 0
            )
            lines.append(f"| {shape.name} | {side} | {endpoints} |")
    lines += ["", "| goal | plant | figure | limit | met |", "|---|---|--:|--:|---|"]
    for goal in goals(per_hour):
        fraction = "1/4 of" if goal["fraction"] == 0.25 else "at most"
        lines.append(
            f"| {goal['ours']} {fraction} {goal['theirs']} | {goal['shape']} | "
            f"{_n(goal['figure'])} | {_n(goal['limit'])} | "
            f"{'met' if goal['met'] else '**missed**'} |"
        )
    return [*lines, ""]


def _scale(figures: dict[str, Any]) -> float:
    """From the last run's window to an hour, by that run's own total."""
    window = sum(figures["busy_s_by_path"].values())
    runs = figures.get("busy_s_per_hour_runs") or [figures["busy_s_per_hour"]]
    return float(runs[-1]) / window if window > 0 else 0.0
