"""One gateway's load over a window, from its simulator's counters, scaled to an hour.

Weighted busy time is issue 13's stand-in until a per-endpoint cost model exists: each
request counts 1, a request to `/production.json` (any query) counts 5, the CGI behind it
being the gateway's slowest. A held-open `/stream/meter` is one request however long it
lasts; its continuing cost shows in the bytes.
"""

from __future__ import annotations

from typing import Any

HEAVY_PATH = "/production.json"
HEAVY_WEIGHT = 5
HOUR_S = 3600.0


def per_hour(stats: dict[str, Any], window_s: float) -> dict[str, Any]:
    """requests, bytes and weighted per hour; the window's raw counts by path beside them."""
    paths: dict[str, dict[str, int]] = stats["paths"]
    requests = sum(p["requests"] for p in paths.values())
    weighted = sum(
        p["requests"] * (HEAVY_WEIGHT if path == HEAVY_PATH else 1) for path, p in paths.items()
    )
    scale = HOUR_S / window_s
    return {
        "requests": requests * scale,
        "bytes": stats["bytes_sent"] * scale,
        "weighted": weighted * scale,
        "window_requests_by_path": {path: p["requests"] for path, p in sorted(paths.items())},
        "window_bytes_by_path": {path: p["bytes"] for path, p in sorted(paths.items())},
        "streams_open_at_end": stats["streams_open"],
        "max_streams_open": stats["max_streams_open"],
        "tls_handshakes": stats["tls_handshakes"],
    }
