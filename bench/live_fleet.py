"""The live section's fleet: N devices live at once from one host (issue 13's "100 devices").

The fleet section's machinery (`fleet.run_size`: gateways in `fleet_sims`, the real host in
`fleet_host`) with the devices' `live` left on: installer tokens, so N meter streams held
open at once; then, if asked, owner tokens, so N devices reading livedata every 2 s. One run
of each (the fleet section's own practice); host CPU is % of one core over the steady
window, RSS per device above the host's baseline with no device.
"""

from __future__ import annotations

from typing import Any

from bench.fleet import FleetSettings, run_size

KEYS = ("cpu_percent", "rss_kb_per_device", "startup_s", "window_s", "live_sources")


def run_one(count: int, role: str, s: Any, log: Any) -> dict[str, Any]:
    settings = FleetSettings(
        sizes=(count,),
        startup_s=s.fleet_startup_s,
        window_s=s.fleet_window_s,
        zones=True,
        settle_intervals=2.0 if s.fleet_window_s >= 30 else 0.0,
        live=True,
        role=role,
    )
    result = run_size(count, settings, log)
    sims = result["simulators"]
    out = {key: result[key] for key in KEYS}
    out |= {
        "devices": count,
        "p99_lag_ms": result["steady"]["p99_lag_ms"],
        "poll_rate_ratio": result["poll_rate_ratio"],
        "devices_failing": result["devices_failing"],
        # One stream request per gateway over the whole run: none reconnected.
        "stream_requests_per_gateway": sims["requests"].get("/stream/meter", 0) / count,
        "max_streams_open_per_gateway": sims["max_streams_open_per_gateway"],
        "simulator_requests": sims["requests"],
        "simulator_cpu_percent": 100 * sims["cpu_s"] / (result["startup_s"] + result["window_s"]),
    }
    log(
        f"  live fleet {count} ({role}): CPU {out['cpu_percent']:.1f} %, "
        f"{out['rss_kb_per_device']:.0f} KB/device, sources {out['live_sources']}, "
        f"{out['stream_requests_per_gateway']:.2f} stream requests/gateway"
    )
    return out


def run(s: Any, log: Any) -> dict[str, Any]:
    """{"stream": figures, "livedata": figures}; the headline keys are the stream's."""
    stream = run_one(s.fleet_size, "installer", s, log)
    out: dict[str, Any] = {
        "cpu_percent": stream["cpu_percent"],
        "rss_kb_per_device": stream["rss_kb_per_device"],
        "stream": stream,
    }
    if s.fleet_livedata:
        out["livedata"] = run_one(s.fleet_size, "owner", s, log)
    return out
