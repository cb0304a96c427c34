"""One gateway's load over a window, from its simulator's counters, scaled to an hour.

The gateway's busy time is issue 17's cost model (`gem_envoy.sim.latency_profile`, the
field profile): each request costs the gateway a service time drawn per endpoint, about ten
native reads for one `/production.json`. `busy_s` is the requests' cost at the profile's
mean service times (`busy.expected_busy_s`), free of a short window's luck in the draws (a
120 s window holds one or two `/production.json` reads, whose draws span 0.5-20 s);
`busy_s_drawn` is what the simulator counted with its draws. A held-open `/stream/meter` is
one request however long it lasts (its opening is its cost to the gateway's one request at
a time); its continuing cost shows in the bytes.
"""

from __future__ import annotations

from typing import Any

from bench.busy import expected_busy_s

HOUR_S = 3600.0


def per_hour(stats: dict[str, Any], window_s: float) -> dict[str, Any]:
    """requests, bytes and busy seconds per hour; the window's raw counts by path beside them."""
    paths: dict[str, dict[str, Any]] = stats["paths"]
    requests = sum(p["requests"] for p in paths.values())
    scale = HOUR_S / window_s
    return {
        "requests": requests * scale,
        "bytes": stats["bytes_sent"] * scale,
        "busy_s": expected_busy_s(stats["requests"]) * scale,
        "busy_s_drawn": float(stats["busy_s"]) * scale,
        "window_requests_by_path": {path: p["requests"] for path, p in sorted(paths.items())},
        "window_bytes_by_path": {path: p["bytes"] for path, p in sorted(paths.items())},
        "streams_open_at_end": stats["streams_open"],
        "max_streams_open": stats["max_streams_open"],
        "tls_handshakes": stats["tls_handshakes"],
    }
