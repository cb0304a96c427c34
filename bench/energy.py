"""Issue 15's disk and query figures: one gateway with 40 zones polled every 30 s for a
simulated year, its history written in fast-forward with the store's own functions, then
the energy and chart queries timed on that year-sized database.

The year is written a simulated day at a time, as a host that had been running all along
would have left it: `Store.add_history` for the day's polls (`energy_site`), then a
`roll_up` pass and the pruning the host does (raw points past 10 days once folded, 5-minute
buckets past their year), each at the simulated time. The database file's size is measured
as it is (the honest figure: SQLite reuses the pages of pruned points but never gives them
back to the file system without VACUUM) and after a VACUUM, with each table's share.

The queries go in process through the real FastAPI app (`httpx.ASGITransport`, no socket):
routing, authentication, the store's reads and the JSON, as a browser's request would,
without the network. Each is timed 3 times; the median is reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.energy_site import Site
from gem_envoy.drivers import DRIVERS
from gem_envoy.host.api import create_app
from gem_envoy.host.service import Host
from gem_envoy.host.users import USER

DAY_S = 86_400.0
MB = 1_000_000


@dataclass(frozen=True)
class EnergySettings:
    days: int = 365
    zones: int = 40
    interval_s: float = 30.0
    repeats: int = 3


QUICK = EnergySettings(days=3, zones=40, interval_s=30.0, repeats=1)


def run(settings: EnergySettings, log: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gem-bench-energy-") as folder:
        db = Path(folder) / "gem.db"
        results = asyncio.run(_run(settings, db, log))
        # Measured once the store is closed: its write-ahead log is then in the file.
        results |= {"db_mb": _size_mb(db), "tables_mb": _table_sizes(db), "rows": _rows(db)}
        _vacuum(db)
        return results | {"db_mb_after_vacuum": _size_mb(db)}


async def _run(settings: EnergySettings, db: Path, log: Callable[[str], None]) -> dict[str, Any]:
    end = float(int(time.time() // 3600 * 3600))  # the year ends now: the API's "today"
    host = await Host.open(db, DRIVERS, polling=False)
    try:
        site = await _site(host, settings)
        written = await _write_year(host, site, end - settings.days * DAY_S, end, log)
        queries = await _time_queries(host, site.device_id, end, settings.repeats)
    finally:
        await host.close()
    return {
        "points_written": written["points"],
        "write_s": written["write_s"],
        "queries_ms": queries,
    }


def _size_mb(db: Path) -> float:
    files = (db, db.with_name(db.name + "-wal"))
    return sum(f.stat().st_size for f in files if f.exists()) / MB


async def _site(host: Host, settings: EnergySettings) -> Site:
    device = await host.store.add_device(
        "envoy", "enphase_envoy", enabled=False, attributes={"time_zone": "Europe/Berlin"}
    )
    zones = [
        (await host.store.add_zone(device.id, f"Inverter {n}", f"4820000{n:05d}")).id
        for n in range(1, settings.zones + 1)
    ]
    return Site(device.id, zones, interval_s=settings.interval_s)


async def _write_year(
    host: Host, site: Site, since: float, end: float, log: Callable[[str], None]
) -> dict[str, float]:
    store, points, began = host.store, 0, time.monotonic()
    day = since
    while day < end:
        until = min(day + DAY_S, end)
        points += await store.add_history(site.series(day, until))
        # As the host does, at that simulated time: fold, then prune what retention lets go.
        await store.roll_up(now=until)
        await store.prune_history(now=until)
        await store.prune_rollups(now=until)
        day = until
        if round((day - since) / DAY_S) % 30 == 0:
            log(f"  energy: {round((day - since) / DAY_S)} days written, {points:,} points")
    # The host's next pass, once the last buckets are complete.
    await store.roll_up(now=end + 600)
    await store.prune_history(now=end + 600)
    return {"points": points, "write_s": time.monotonic() - began}


async def _time_queries(host: Host, device_id: int, end: float, repeats: int) -> dict[str, Any]:
    context = host.api_context()
    token, _ = context.sessions.create("bench", USER)
    await context.sessions.get(token)  # the session row is written before the first request
    today = dt.date.fromtimestamp(end)
    year_ago = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    chart = f"/api/history/device/{device_id}/production_now_w"
    requests = {
        "energy_month_1y": (
            f"/api/energy/{device_id}",
            {"period": "month", "from": year_ago.isoformat(), "to": today.isoformat()},
        ),
        "chart_7d": (chart, {"since": str(end - 7 * DAY_S), "until": str(end)}),
        "chart_1y": (chart, {"since": str(end - 365 * DAY_S), "until": str(end)}),
    }
    transport = httpx.ASGITransport(app=create_app(context))
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for name, (path, params) in requests.items():
            times = []
            for _ in range(repeats):
                began = time.perf_counter()
                answer = await client.get(path, params=params)
                times.append(1000 * (time.perf_counter() - began))
                answer.raise_for_status()
            out[name] = {"median_ms": statistics.median(times), "runs_ms": times}
            out[name]["answer_bytes"] = len(answer.content)
    return out


def _table_sizes(db: Path) -> dict[str, float]:
    """Each table's and index's pages, in MB (SQLite's dbstat)."""
    with closing(sqlite3.connect(db)) as conn:
        try:
            rows = conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:  # built without dbstat
            return {}
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    sizes = {name: pages / MB for name, pages in rows if pages >= MB / 100}
    return {**sizes, "(free pages)": free * size / MB}


def _rows(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as conn:
        raw = conn.execute("SELECT COUNT(*) FROM attribute_history").fetchone()[0]
        by = dict(
            conn.execute(
                "SELECT s.resolution, COUNT(*) FROM rollup_series s"
                " JOIN rollups r ON r.series = s.id GROUP BY 1"
            ).fetchall()
        )
    return {"raw": raw, "rollups_5min": by.get(300, 0), "rollups_hourly": by.get(3600, 0)}


def _vacuum(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("VACUUM")


def headline(results: dict[str, Any]) -> dict[str, Any]:
    q = results["queries_ms"]
    return {
        "db_mb": results["db_mb"],
        "db_mb_after_vacuum": results["db_mb_after_vacuum"],
        "energy_month_1y_ms": q["energy_month_1y"]["median_ms"],
        "chart_7d_ms": q["chart_7d"]["median_ms"],
        "chart_1y_ms": q["chart_1y"]["median_ms"],
    }


def section(settings: EnergySettings, log: Callable[[str], None]) -> dict[str, Any]:
    """`run` with its own time and load (the section is often run alone)."""
    log(f"energy: {settings.days} simulated days of a {settings.zones}-zone gateway")
    load_at_start = os.getloadavg()
    results = run(settings, log)
    log(
        f"  {results['db_mb']:.0f} MB ({results['db_mb_after_vacuum']:.0f} after VACUUM); "
        + ", ".join(f"{k} {v['median_ms']:.0f} ms" for k, v in results["queries_ms"].items())
    )
    return {
        **results,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
