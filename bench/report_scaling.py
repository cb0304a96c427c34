"""The scaling section's tables in `docs/performance.md` (issue 17 point 6: no target)."""

from __future__ import annotations

from typing import Any


def _n(value: Any, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def scaling_lines(doc: dict[str, Any]) -> list[str]:
    s = doc.get("scaling")
    if not s:
        return []
    lines = [
        f"### Beyond one host ({s.get('generated_at')}; load average at end "
        f"{s.get('load_average_at_end')})",
        "",
        "Reported without a target (docs/scaling.md). One host alone, every gateway at the 5 s "
        "floor, as in the fleet section:",
        "",
        "| gateways | host CPU % of one core | RSS KB/device | p99 lag ms | p99 poll ms "
        "| polls / schedule | start-up s |",
        "|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size, run in s.get("alone", {}).items():
        lines.append(
            f"| {size} | {_n(run['cpu_percent'], 1)} | {_n(run['rss_kb_per_device'])} "
            f"| {_n(run['steady']['p99_lag_ms'])} | {_n(run['steady']['p99_poll_ms'])} "
            f"| {_n(run['poll_rate_ratio'], 3)} | {_n(run['startup_s'], 1)} |"
        )
    return [*lines, "", *_broker_lines(s.get("shared_broker", {}))]


def _broker_lines(shared: dict[str, Any]) -> list[str]:
    if "skipped" in shared:
        return [f"Two hosts into one broker: not measured ({shared['skipped']}).", ""]
    runs = shared.get("runs", [])
    if not runs:
        return []
    hosts = runs[0]["hosts"]
    lines = [
        f"{len(hosts)} independent hosts of {hosts[0]['devices']} gateways each (own store, "
        "5 s interval), each publishing through its MQTT bridge to one mosquitto, read by one "
        "subscriber to `#`. Delay: a device's state document from the end of its poll "
        "(`last_poll_ms` inside it) to the subscriber. Each run:",
        "",
        "| run | broker messages/s | most in one second | broker CPU % | state documents "
        "| delay p50 ms | delay p99 ms | delay max ms | hosts' CPU % (sum) | worst p99 poll ms "
        "| worst polls / schedule |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for number, run in enumerate(runs, start=1):
        b, h = run["broker"], run["hosts"]
        lines.append(
            f"| {number} | {_n(b['messages_per_s'])} | {b['max_messages_in_one_s']} "
            f"| {_n(b['cpu_percent'], 1)} | {b['state_documents']} | {_n(b['p50_delay_ms'])} "
            f"| {_n(b['p99_delay_ms'])} | {_n(b['max_delay_ms'])} "
            f"| {_n(sum(x['cpu_percent'] for x in h), 1)} "
            f"| {_n(max(x['p99_poll_ms'] for x in h))} "
            f"| {_n(min(x['poll_rate_ratio'] for x in h), 3)} |"
        )
    return [*lines, ""]
