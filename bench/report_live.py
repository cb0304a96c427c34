"""The live section's tables in `docs/performance.md` (issue 13), written by `report.tables`."""

from __future__ import annotations

from typing import Any

from bench.live_goals import evaluate

LABELS = {
    "stream": "ours, meter stream (installer token), watched",
    "livedata": "ours, livedata every 2 s (owner token), watched",
    "poll_5s": "ours, `live: false`, poll every 5 s",
    "idle_stream": "ours, installer token, unwatched (poll every {idle} s)",
    "idle_livedata": "ours, owner token, unwatched (poll every {idle} s)",
    "idle_60s": "ours, installer token, unwatched (poll every {idle2} s)",
}


def _label(side: str, live: dict[str, Any]) -> str:
    if side == "pyenphase_60s":
        every = live.get("settings", {}).get("pyenphase_interval_s")
        return f"pyenphase `update()` every {_n(every, 0)} s"
    idle_ms = live.get("settings", {}).get("idle_interval_ms") or 30000
    return LABELS.get(side, side).format(idle=f"{idle_ms / 1000:g}", idle2=f"{idle_ms / 500:g}")


def _n(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _runs(values: list[Any], digits: int = 2, scale: float = 1.0) -> str:
    return ", ".join("-" if v is None else f"{v / scale:.{digits}f}" for v in values)


def _measured(live: dict[str, Any]) -> list[str]:
    m = live.get("machine", {})
    s = live.get("settings", {})
    commit = m.get("code", {}).get("commit") or ""
    changed = m.get("code", {}).get("uncommitted") or []
    dirty = f", with uncommitted changes to {', '.join(changed)}" if changed else ""
    return [
        f"Measured {live.get('generated_at')} (`python -m bench --sections live`, "
        f"{_n(live.get('wall_s'), 0)} s), commit `{commit[:12]}`{dirty}. Load average "
        f"(1, 5, 15 min) at start {m.get('load_average_at_start')}, at end "
        f"{m.get('load_average_at_end')}. {s.get('repeats')} runs of a "
        f"{_n(s.get('window_s'), 0)} s window, every side at once, each on its own "
        "simulated gateway (CTs, 12 microinverters, split phase, `clock_power`); ours are "
        "devices of one host process, no zones: the watched ones (the process watches them "
        "as an open page would) and `live: false` at `polling_interval` 5000, the unwatched "
        f"ones at {(s.get('idle_interval_ms') or 30000) / 1000:g} s (one at twice that). "
        "Medians of the runs, each run's figure beside it.",
        "",
        *_code_per_run(live),
    ]


def _code_per_run(live: dict[str, Any]) -> list[str]:
    """Each run's children import the tree afresh: say so when it changed between runs."""
    codes = [run.get("code") for run in live.get("runs", [])]
    if not codes or all(c == codes[0] for c in codes):
        return []
    described = []
    for number, code in enumerate(codes, start=1):
        code = code or {}
        changed = ", ".join(code.get("uncommitted") or []) or "none"
        described.append(f"run {number} `{str(code.get('commit'))[:12]}` (uncommitted: {changed})")
    return ["The code changed between runs: " + "; ".join(described) + ".", ""]


def _freshness(live: dict[str, Any]) -> list[str]:
    per = live["medians_and_runs"]["freshness_s"]
    lines = [
        "Age of `production_now_w` as shown (host's `EventHub`, or pyenphase's return), "
        "sampled every 0.1 s over the window; seconds:",
        "",
        "| side | p50 | p99 | p50 of each run | p99 of each run |",
        "|---|--:|--:|---|---|",
    ]
    for side, q in per.items():
        lines.append(
            f"| {_label(side, live)} | {_n(q['p50']['median'])} | {_n(q['p99']['median'])} "
            f"| {_runs(q['p50']['runs'])} | {_runs(q['p99']['runs'])} |"
        )
    return [*lines, ""]


def _load(live: dict[str, Any]) -> list[str]:
    per = live["medians_and_runs"]["gateway_per_hour"]
    last = live["runs"][-1]["gateway_per_hour"]
    lines = [
        "Gateway load per hour (simulator counters over the window, scaled to an hour; "
        "busy s: the gateway's busy seconds, the requests at the field profile's mean "
        "service times, with the simulator's own draws beside them for the last run):",
        "",
        "| side | requests/h | KB/h | busy s/h | busy s/h of each run | drawn busy s/h "
        "| requests in the window (last run) |",
        "|---|--:|--:|--:|---|--:|---|",
    ]
    for side, figures in per.items():
        paths = ", ".join(f"`{p}` {n}" for p, n in last[side]["window_requests_by_path"].items())
        lines.append(
            f"| {_label(side, live)} | {_n(figures['requests']['median'], 0)} "
            f"| {_n(figures['bytes']['median'] / 1024, 0)} "
            f"| {_n(figures['busy_s']['median'], 0)} "
            f"| {_runs(figures['busy_s']['runs'], 0)} "
            f"| {_n(last[side]['busy_s_drawn'], 0)} | {paths or 'none'} |"
        )
    return [*lines, ""]


def _day(live: dict[str, Any]) -> list[str]:
    day = live.get("gateway_per_day")
    if not day:
        return []
    hours = live.get("watched_h_per_day", 1.0)
    lines = [
        f"Gateway load per day with the page open {hours:g} h a day: the watched side's "
        f"rate for {hours:g} h, its unwatched side's for {24 - hours:g} h (medians per hour "
        "above); pyenphase's rate for 24 h:",
        "",
        "| side | requests/day | KB/day | busy s/day |",
        "|---|--:|--:|--:|",
    ]
    words = {
        "stream": "ours, installer token (the meter stream while watched)",
        "livedata": "ours, owner token (livedata while watched)",
    }
    for side, figures in day.items():
        lines.append(
            f"| {words.get(side) or _label(side, live)} | {_n(figures['requests'], 0)} "
            f"| {_n(figures['bytes'] / 1024, 0)} | {_n(figures['busy_s'], 0)} |"
        )
    return [*lines, ""]


def _store(live: dict[str, Any]) -> list[str]:
    rows = live["medians_and_runs"]["history_rows_per_hour"]
    names = {"live": "live (stream)", "livedata": "live (livedata)", "poll": "poll only"}
    lines = [
        "History rows per device per hour (the host's `attribute_history` rows of the "
        "device with a time in the window), `polling_interval` 5000 for all:",
        "",
        "| device | rows/h | rows/h of each run |",
        "|---|--:|---|",
    ]
    for key in ("live", "livedata", "poll"):
        if key in rows:
            lines.append(
                f"| {names[key]} | {_n(rows[key]['median'], 0)} | {_runs(rows[key]['runs'], 0)} |"
            )
    return [*lines, ""]


def _fleet(live: dict[str, Any]) -> list[str]:
    fleet = live.get("fleet_100")
    if not fleet:
        return []
    lines = [
        "Devices live at once from one host (`fleet_host`, zones on; one run each):",
        "",
        "| devices | source | host CPU % of one core | RSS KB/device | sources at the end "
        "| stream requests/gateway | p99 poll lag ms | simulator CPU % |",
        "|--:|---|--:|--:|---|--:|--:|--:|",
    ]
    for source in ("stream", "livedata"):
        run = fleet.get(source)
        if not run:
            continue
        sources = ", ".join(f"{k} {v}" for k, v in run["live_sources"].items())
        lines.append(
            f"| {run['devices']} | {source} | {_n(run['cpu_percent'], 1)} "
            f"| {_n(run['rss_kb_per_device'], 0)} | {sources} "
            f"| {_n(run['stream_requests_per_gateway'], 2)} | {_n(run['p99_lag_ms'], 0)} "
            f"| {_n(run['simulator_cpu_percent'], 1)} |"
        )
    return [*lines, ""]


def _goals(live: dict[str, Any]) -> list[str]:
    lines = ["| goal (issue 13) | figure | met | margin |", "|---|---|---|---|"]
    for v in evaluate(live):
        met = "n/a" if v.met is None else ("met" if v.met else "**missed**")
        lines.append(f"| {v.target} | {v.figure} | {met} | {v.margin} |")
    return [*lines, ""]


def live_lines(doc: dict[str, Any]) -> list[str]:
    live = doc.get("live")
    if not live or "medians_and_runs" not in live:
        return []
    return [
        "### Live telemetry: stream, livedata, poll at 5 s, unwatched, pyenphase at 60 s",
        "",
        *_measured(live),
        *_freshness(live),
        *_load(live),
        *_day(live),
        *_store(live),
        *_fleet(live),
        *_goals(live),
    ]
