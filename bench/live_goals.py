"""Issue 13's goals for live telemetry, checked against the live section's results."""

from __future__ import annotations

from typing import Any

from bench.targets import Verdict

STREAM_P99_LIMIT_S = 1.5
STORE_TOLERANCE = 0.05
THEIRS = "pyenphase_60s"
LOAD_FIGURES = ("requests", "bytes", "weighted")


def _freshness(live: dict[str, Any]) -> Verdict:
    p99 = live.get("freshness_s", {}).get("stream", {}).get("p99")
    if p99 is None:
        return Verdict("stream: p99 age < 1.5 s", "not measured", None, "")
    met = p99 < STREAM_P99_LIMIT_S
    margin = f"{abs(STREAM_P99_LIMIT_S - p99):.2f} s {'under' if met else 'over'} the limit"
    return Verdict("stream: p99 age of production_now_w < 1.5 s", f"{p99:.2f} s", met, margin)


def _load(live: dict[str, Any]) -> list[Verdict]:
    load = live.get("gateway_per_hour", {})
    theirs = load.get(THEIRS)
    verdicts = []
    for side in ("stream", "livedata"):
        ours = load.get(side)
        for figure in LOAD_FIGURES:
            target = f"{side}: gateway {figure}/h <= pyenphase at 60 s"
            if ours is None or not theirs or not theirs.get(figure):
                verdicts.append(Verdict(target, "pyenphase not measured", None, ""))
                continue
            a, b = ours[figure], theirs[figure]
            ratio = a / b
            met = a <= b
            margin = f"{1 - ratio:.0%} under" if met else f"{ratio:.2f}x pyenphase's"
            verdicts.append(Verdict(target, f"{a:.4g} vs {b:.4g} = {ratio:.2f}x", met, margin))
    return verdicts


def _store(live: dict[str, Any]) -> Verdict:
    rows = live.get("history_rows_per_hour", {})
    on, off = rows.get("live"), rows.get("poll")
    target = "history rows/device/h: live (stream) = poll at the same interval, within 5 %"
    if on is None or not off:
        return Verdict(target, "not measured", None, "")
    ratio = on / off
    met = abs(ratio - 1) <= STORE_TOLERANCE
    return Verdict(target, f"{on:.0f} vs {off:.0f} = {ratio:.3f}x", met, f"{ratio - 1:+.1%}")


def evaluate(live: dict[str, Any]) -> list[Verdict]:
    if not live:
        return []
    return [_freshness(live), *_load(live), _store(live)]
