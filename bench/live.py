"""Section 5: live telemetry (issue 13), every side at once in one window.

Sides, each on a simulated gateway of its own (`live_sims`: CTs, 12 microinverters, split
phase, the freshness probe `clock_power` on):

- `stream`: ours, installer token (the meter stream), `polling_interval` 5000, watched;
- `livedata`: ours, owner token (`/ivp/livedata/status` every `live_interval`, 2000 ms),
  watched;
- `poll_5s`: ours, `live: false`, `polling_interval` 5000;
- `idle_stream`, `idle_livedata`: ours, the same tokens and `live` on, but nobody watching
  (live rests until someone opens the page), at the default `polling_interval` 30000
  (`LiveSettings.idle_interval_ms`); `idle_60s` the same at 60000, pyenphase's pace;
- `pyenphase_60s`: pyenphase's `update()` every 60 s (`live_pyenphase`).

Live runs only while a device is watched (a page open, `host/watchers.py`): the host
process watches `stream` and `livedata` as an open page would, the idle sides not. A day's
load is computed from the two measured rates for a stated watch duty (`WATCHED_H_PER_DAY`:
the page open an hour a day): watched hours at the watched side's rate, the rest at its
idle side's.

Ours run as three devices of one host process (`live_host`). Each run: start everything,
wait until every device shows production from its expected source, then start the window
half a pyenphase interval after one of its updates (so the window, a whole number of its
intervals, holds exactly that many updates), zero the simulators' counters, and at the end
read them, stop the host and pyenphase, and read the host's history. Repeated, the median
reported beside every run. Then `live_fleet`: 100 devices live from one host.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import freshness, gateway_load, live_fleet, machine
from bench.protocol import Child
from bench.stats import median

# Ours: the live source each device should show, and how it is set up.
OURS: dict[str, dict[str, Any]] = {
    "stream": {"source": "stream", "live": True, "watched": True, "interval_ms": 5000},
    "livedata": {"source": "livedata", "live": True, "watched": True, "interval_ms": 5000},
    "poll_5s": {"source": "poll", "live": False, "watched": False, "interval_ms": 5000},
    "idle_stream": {"source": "poll", "live": True, "watched": False, "interval_ms": 30000},
    "idle_livedata": {"source": "poll", "live": True, "watched": False, "interval_ms": 30000},
    # Unwatched at pyenphase's own pace: the two compared at the same freshness.
    "idle_60s": {"source": "poll", "live": True, "watched": False, "interval_ms": 60000},
}
ROLES = {
    "stream": "installer",
    "livedata": "owner",
    "poll_5s": "installer",
    "idle_stream": "installer",
    "idle_livedata": "owner",
    "idle_60s": "installer",
}
# A day's load: the watched side's rate while the page is open, its idle side's otherwise.
WATCHED_H_PER_DAY = 1.0
DAY_SIDES = {"stream": "idle_stream", "livedata": "idle_livedata"}
PYENPHASE = "pyenphase_60s"
HOUR_S = 3600.0
DEFAULT_IDLE_INTERVAL_MS = 30000
LOAD_KEYS = ("requests", "bytes", "busy_s")


@dataclass(frozen=True, slots=True)
class LiveSettings:
    repeats: int = 3
    window_s: float = 120.0
    """A whole number of pyenphase intervals."""
    pyenphase_interval_s: float = 60.0
    settle_s: float = 5.0
    """At least this long between every device showing its source and the window."""
    sample_every_s: float = 0.1
    fleet_size: int = 100
    fleet_startup_s: float = 10.0
    fleet_window_s: float = 60.0
    fleet_livedata: bool = True
    pyenphase: bool = True
    idle_interval_ms: int = 30000
    """The unwatched sides' `polling_interval` (the default, at which an unwatched device
    polls); `idle_60s` at twice it."""
    latency_scale: float = 1.0
    """The gateways answer after the field profile's service times, one request at a time,
    times this: 1 is a real gateway's pace (a livedata read waits behind a slow
    `/production.json`), 0 counts the busy time without sleeping it."""


# A few seconds of the same section: the smoke test's.
QUICK = LiveSettings(
    repeats=1,
    # Longer than the 5 s history window, so that a live device's mean closes in it.
    window_s=6.0,
    pyenphase_interval_s=2.0,
    settle_s=1.0,
    fleet_size=2,
    fleet_startup_s=1.5,
    fleet_window_s=3.0,
    fleet_livedata=False,
    idle_interval_ms=5000,
    latency_scale=0.0,
)


def ours_setup(s: LiveSettings) -> dict[str, dict[str, Any]]:
    """OURS, the idle sides' intervals scaled so that the default one is
    `s.idle_interval_ms` (a quick run's are short)."""
    scale = s.idle_interval_ms / DEFAULT_IDLE_INTERVAL_MS
    return {
        side: {**how, "interval_ms": int(how["interval_ms"] * scale)}
        if side.startswith("idle_")
        else how
        for side, how in OURS.items()
    }


def _window_start(anchor: float, interval_s: float, earliest: float) -> float:
    """The first time >= earliest that lies half an interval after an update."""
    start = anchor + interval_s / 2
    while start < earliest:
        start += interval_s
    return start


def _sleep_until(wall: float) -> None:
    time.sleep(max(0.0, wall - time.time()))


def run_once(s: LiveSettings, log: Any, seed: int = 0) -> dict[str, Any]:
    # Each run's children import the code afresh: others may change the tree in between.
    code = machine.code_state()
    sides = {**ROLES, **({PYENPHASE: "installer"} if s.pyenphase else {})}
    with tempfile.TemporaryDirectory(prefix="gem-bench-live-") as tmp:
        gateways_file = Path(tmp) / "gateways.json"
        sims = Child(
            "bench.live_sims",
            ["--sides", ",".join(f"{k}:{v}" for k, v in sides.items()),
             "--out", str(gateways_file), "--latency-scale", str(s.latency_scale),
             "--latency-seed", str(seed)],
        )  # fmt: skip
        children: list[Child] = [sims]
        try:
            sims.expect("ready", 60)
            gateways = json.loads(gateways_file.read_text())
            host = Child(
                "bench.live_host",
                ["--gateways", str(gateways_file), "--expect", json.dumps(ours_setup(s))],
            )
            children.append(host)
            theirs = _start_pyenphase(gateways, Path(tmp), s) if s.pyenphase else None
            if theirs is not None:
                children.append(theirs)
            ready = host.expect("ready", 120)
            anchor = theirs.expect("ready", 120)["first_update_at"] if theirs else time.time()
            w0 = _window_start(anchor, s.pyenphase_interval_s, time.time() + s.settle_s)
            _sleep_until(w0)
            sims.send("reset")
            w0 = sims.expect("reset", 30)["at"]
            _sleep_until(w0 + s.window_s)
            sims.send("stats")
            counters = sims.expect("stats", 30)
            w1 = counters["at"]
            host.send(json.dumps({"w0": w0, "w1": w1}))
            ours = host.expect("result", 60)
            host_log = host.stderr_tail(20_000)
            host.finish()
            production = dict(ours["production"])
            if theirs is not None:
                theirs.send("stop")
                production[PYENPHASE] = theirs.expect("result", 60)["production"]
                theirs.finish()
            sims.send("quit")
            sims.finish()
        except BaseException:
            for child in children:
                child.kill()
            raise
    result = _figures(production, counters["sides"], ours, w0, w1, s)
    result["ready"] = ready
    result["code"] = code
    result["host_warnings"] = [line for line in host_log.splitlines() if "WARNING" in line][-20:]
    return result


def _start_pyenphase(gateways: dict[str, Any], tmp: Path, s: LiveSettings) -> Child:
    token_file = tmp / "pyenphase.jwt"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(gateways[PYENPHASE]["token"])
    return Child(
        "bench.live_pyenphase",
        ["--port", str(gateways[PYENPHASE]["port"]), "--token-file", str(token_file),
         "--interval-s", str(s.pyenphase_interval_s)],
    )  # fmt: skip


def _figures(
    production: dict[str, list[list[float]]],
    counters: dict[str, Any],
    ours: dict[str, Any],
    w0: float,
    w1: float,
    s: LiveSettings,
) -> dict[str, Any]:
    window_s = w1 - w0
    arrivals = {side: [(t, w) for t, w in rows] for side, rows in production.items()}
    history = ours["history"]
    return {
        "window_s": window_s,
        "freshness_s": {
            side: freshness.summary(rows, w0, w1, s.sample_every_s)
            for side, rows in arrivals.items()
        },
        "gateway_per_hour": {
            side: gateway_load.per_hour(stats, window_s) for side, stats in counters.items()
        },
        "history_rows_per_hour": {
            "live": history["stream"]["rows"] * HOUR_S / window_s,
            "poll": history["poll_5s"]["rows"] * HOUR_S / window_s,
            "livedata": history["livedata"]["rows"] * HOUR_S / window_s,
        },
        "history_by_name": {side: history[side]["by_name"] for side in ("stream", "poll_5s")},
        "source_changes_in_window": {
            side: [(round(t - w0, 2), src) for t, src in changes if w0 <= t < w1]
            for side, changes in ours["sources"].items()
        },
        "sources_at_end": {
            side: (changes[-1][1] if changes else None) for side, changes in ours["sources"].items()
        },
    }


def _median_of(runs: list[dict[str, Any]], *path: str) -> dict[str, Any]:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(value)
    return {"median": median(values), "runs": values}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    sides = list(runs[0]["freshness_s"])
    out: dict[str, Any] = {
        "freshness_s": {
            side: {q: _median_of(runs, "freshness_s", side, q) for q in ("p50", "p99")}
            for side in sides
        },
        "gateway_per_hour": {
            side: {k: _median_of(runs, "gateway_per_hour", side, k) for k in LOAD_KEYS}
            for side in runs[0]["gateway_per_hour"]
        },
        "history_rows_per_hour": {
            k: _median_of(runs, "history_rows_per_hour", k) for k in ("live", "poll", "livedata")
        },
    }
    return out


def run(s: LiveSettings, log: Any = print) -> dict[str, Any]:
    runs = []
    for repeat in range(s.repeats):
        result = run_once(s, log, seed=repeat)
        runs.append(result)
        fresh = result["freshness_s"]
        load = result["gateway_per_hour"]
        log(
            f"  live run {repeat + 1}: p99 age "
            + ", ".join(f"{side} {f['p99']:.2f} s" for side, f in fresh.items())
            + "; busy s/h "
            + ", ".join(f"{side} {g['busy_s']:.0f}" for side, g in load.items())
        )
    summary = summarise(runs)
    per_hour = _flat(summary["gateway_per_hour"])
    doc: dict[str, Any] = {
        "freshness_s": _flat(summary["freshness_s"]),
        "gateway_per_hour": per_hour,
        "gateway_per_day": per_day(per_hour, WATCHED_H_PER_DAY),
        "watched_h_per_day": WATCHED_H_PER_DAY,
        "history_rows_per_hour": _flat(summary["history_rows_per_hour"]),
        "medians_and_runs": summary,
        "runs": runs,
    }
    doc["fleet_100"] = live_fleet.run(s, log)
    return doc


def per_day(per_hour: dict[str, Any], watched_h: float) -> dict[str, Any]:
    """A day's gateway load of each live side for `watched_h` watched hours (its idle
    side's rate the rest of the day), and pyenphase's, from the medians per hour."""
    day: dict[str, Any] = {}
    for watched, idle in DAY_SIDES.items():
        if watched in per_hour and idle in per_hour:
            day[watched] = {
                k: per_hour[watched][k] * watched_h + per_hour[idle][k] * (24 - watched_h)
                for k in LOAD_KEYS
            }
    if PYENPHASE in per_hour:
        day[PYENPHASE] = {k: per_hour[PYENPHASE][k] * 24 for k in LOAD_KEYS}
    return day


def _flat(tree: dict[str, Any]) -> dict[str, Any]:
    """{"median": m, "runs": [...]} leaves become m: the headline keys."""
    if "median" in tree and "runs" in tree:
        return tree["median"]  # type: ignore[no-any-return]
    return {k: _flat(v) for k, v in tree.items()}
