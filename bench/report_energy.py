"""The energy section's table in `docs/performance.md` (issue 15's disk and query targets)."""

from __future__ import annotations

from typing import Any

DISK_TARGET_MB = 250.0
QUERY_TARGETS_MS = {"energy_month_1y": 100.0, "chart_7d": 200.0, "chart_1y": 200.0}
QUERY_LABELS = {
    "energy_month_1y": "`GET /api/energy/{id}?period=month`, 12 months",
    "chart_7d": "`GET /api/history/.../production_now_w`, 7 days",
    "chart_1y": "`GET /api/history/.../production_now_w`, 1 year",
}


def energy_lines(doc: dict[str, Any]) -> list[str]:
    e = doc.get("energy")
    if not e:
        return []
    s = doc.get("settings", {}).get("energy", {})
    rows = e["rows"]
    lines = [
        f"### A year of history: disk and queries ({e['generated_at']})",
        "",
        f"{s.get('days')} simulated days of one gateway with {s.get('zones')} zones polled "
        f"every {s.get('interval_s'):g} s ({e['points_written']:,} points, written in "
        f"{e['write_s']:.0f} s with the store's own functions, folded and pruned as the host "
        f"does): {rows['raw']:,} raw points left (10 days), {rows['rollups_5min']:,} 5-minute "
        f"and {rows['rollups_hourly']:,} hourly buckets. Queries in process through the real "
        f"app (ASGI, no socket), median of {s.get('repeats')}. Load average at start "
        f"{e['load_average_at_start']}, at end {e['load_average_at_end']} (2 cores).",
        "",
        "| figure | measured | target | met |",
        "|---|--:|--:|---|",
        _row("database file, as left (the honest figure)", e["db_mb"], DISK_TARGET_MB, "MB"),
        _row("database file after VACUUM", e["db_mb_after_vacuum"], DISK_TARGET_MB, "MB"),
    ]
    for name, label in QUERY_LABELS.items():
        q = e["queries_ms"].get(name)
        if q:
            lines.append(_row(label, q["median_ms"], QUERY_TARGETS_MS[name], "ms"))
    lines += ["", "Where the disk goes (MB, before VACUUM): " + _tables(e["tables_mb"]), ""]
    return lines


def _row(label: str, value: float, target: float, unit: str) -> str:
    met = "met" if value <= target else "**missed**"
    return f"| {label} | {value:.0f} {unit} | {target:.0f} {unit} | {met} |"


def _tables(tables: dict[str, float]) -> str:
    return ", ".join(f"`{name}` {mb:.1f}" for name, mb in tables.items()) + "."
