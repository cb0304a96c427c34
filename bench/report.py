"""The Markdown tables of `docs/performance.md`, written between two markers.

Everything between ``BEGIN`` and ``END`` is replaced on each run; the prose around them (how
to read the figures, the profiles, what to change) is kept as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report_busy import busy_lines
from bench.report_energy import energy_lines
from bench.report_live import live_lines
from bench.report_scaling import scaling_lines
from bench.shapes import SHAPES
from bench.targets import evaluate

BEGIN = "<!-- bench:results:begin (written by `make bench`; edits here are overwritten) -->"
END = "<!-- bench:results:end -->"
SKELETON = f"""# Performance

{BEGIN}
{END}
"""


def _n(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ratio(ours: Any, theirs: Any) -> str:
    return f"{ours / theirs:.2f}x" if ours is not None and theirs else "-"


def machine_lines(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    return [
        f"Measured {doc['generated_at']} on {m['cpu_count']} CPUs ({m['cpu_model']}), "
        f"Python {m['python']} ({m['implementation']}), {m['platform']}. Load average "
        f"(1, 5, 15 min) at start {m['load_average_at_start']}, at end "
        f"{m.get('load_average_at_end')}. `make bench` took {_n(doc.get('bench_wall_s'), 0)} s.",
        "",
        *_code_lines(m.get("code", {})),
    ]


def _code_lines(code: dict[str, Any]) -> list[str]:
    if not code.get("commit"):
        return []
    changed = code.get("uncommitted") or []
    state = (
        f", with uncommitted changes to {', '.join(f'`{c}`' for c in changed)}" if changed else ""
    )
    return [f"Code measured: commit `{code['commit'][:12]}`{state}.", ""]


def percycle_lines(doc: dict[str, Any]) -> list[str]:
    per = doc.get("percycle")
    if not per:
        return []
    s = doc["settings"]["percycle"]
    lines = [
        "### Per poll cycle: gem-envoy (ours) vs pyenphase",
        "",
        f"Median of {s['repeats']} runs per side; each run {s['cycles']} measured cycles after "
        f"{s['warmup']} warm-up cycles, back to back for both sides (our poller's clock steps "
        f"{s['interval_s']:g} s per cycle). Requests and bytes (response bodies) from the "
        "simulator's counters; CPU is the client process's own.",
        "",
        "| plant | requests/cycle ours | pyenphase | ratio | CPU ms/cycle ours | pyenphase | ratio "
        "| KB/cycle ours | pyenphase | TLS handshakes/run ours | pyenphase "
        "| check_jwt/run ours | pyenphase |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for shape in SHAPES:
        sides = per.get(shape.name)
        if not sides:
            continue
        o, p = sides.get("ours", {}), sides.get("pyenphase", {})
        lines.append(
            f"| {shape.label} "
            f"| {_n(o.get('requests_per_cycle'), 3)} | {_n(p.get('requests_per_cycle'), 3)} "
            f"| {_ratio(o.get('requests_per_cycle'), p.get('requests_per_cycle'))} "
            f"| {_n(o.get('cpu_ms_per_cycle'))} | {_n(p.get('cpu_ms_per_cycle'))} "
            f"| {_ratio(o.get('cpu_ms_per_cycle'), p.get('cpu_ms_per_cycle'))} "
            f"| {_kb(o.get('bytes_per_cycle'))} | {_kb(p.get('bytes_per_cycle'))} "
            f"| {_n(o.get('tls_handshakes_per_run'), 0)} "
            f"| {_n(p.get('tls_handshakes_per_run'), 0)} "
            f"| {_n(o.get('check_jwt_per_run'), 0)} | {_n(p.get('check_jwt_per_run'), 0)} |"
        )
    lines += ["", "Requests per cycle by endpoint (measured window, last run):", ""]
    lines += ["| plant | side | endpoints (requests per cycle) |", "|---|---|---|"]
    for shape in SHAPES:
        for side, summary in per.get(shape.name, {}).items():
            paths = ", ".join(
                f"`{path}` {count:.3g}" for path, count in summary["requests_by_path"].items()
            )
            lines.append(f"| {shape.name} | {side} | {paths} |")
    return [*lines, ""]


def _kb(value: Any) -> str:
    return "-" if value is None else f"{value / 1024:.1f}"


def fleet_lines(doc: dict[str, Any]) -> list[str]:
    fleet = doc.get("fleet_details")
    if not fleet:
        return []
    s = doc["settings"]["fleet"]
    lines = [
        "### Fleet: one host process, N simulated gateways, 5 s interval",
        "",
        f"Lag and poll time over a steady window of {s['window_s']:g} s, after a start-up phase "
        f"(at least {s['startup_s']:g} s, and {s['settle_intervals']:g} intervals after the "
        "supervisor started the last device) reported in its own columns. Polls / schedule: "
        "polls done in the window over polls due at one per device per interval. The host and "
        "the simulator processes share this machine's cores.",
        "",
        "| gateways | host CPU % of one core | RSS KB/device | p99 lag ms | p99 poll ms "
        "| polls / schedule | start-up s | p99 lag ms (start-up) | p99 poll ms (start-up) "
        "| TLS handshakes/gateway | check_jwt/gateway | simulator processes | simulator CPU % |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size, run in fleet.items():
        sims = run["simulators"]
        wall = run["startup_s"] + run["window_s"]
        lines.append(
            f"| {size} | {_n(run['cpu_percent'], 1)} | {_n(run['rss_kb_per_device'], 0)} "
            f"| {_n(run['steady']['p99_lag_ms'], 0)} | {_n(run['steady']['p99_poll_ms'], 0)} "
            f"| {_n(run['poll_rate_ratio'], 2)} | {_n(run['startup_s'], 1)} "
            f"| {_n(run['startup']['p99_lag_ms'], 0)} | {_n(run['startup']['p99_poll_ms'], 0)} "
            f"| {_n(sims['tls_handshakes_per_gateway'], 2)} "
            f"| {_n(sims['check_jwt_per_gateway'], 2)} | {sims['processes']} "
            f"| {_n(100 * sims['cpu_s'] / wall if wall else None, 1)} |"
        )
    return [*lines, "", *fleet_run_lines(fleet)]


def fleet_run_lines(fleet: dict[str, Any]) -> list[str]:
    """Every run of each size, in the order they ran (the table above is the median run)."""
    if not any(len(run.get("runs", [])) > 1 for run in fleet.values()):
        return []
    lines = [
        "Each run of each size, in the order they ran; the headline in "
        "`bench/results/latest.json` takes each figure's median:",
        "",
        "| gateways | run | host CPU % | RSS KB/device | p99 lag ms | p99 poll ms "
        "| polls / schedule | p99 lag ms (start-up) | p99 poll ms (start-up) |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size, run in fleet.items():
        for number, r in enumerate(run.get("runs", []), start=1):
            lines.append(
                f"| {size} | {number} | {_n(r['cpu_percent'], 1)} "
                f"| {_n(r['rss_kb_per_device'], 0)} | {_n(r['p99_lag_ms'], 0)} "
                f"| {_n(r['p99_poll_ms'], 0)} | {_n(r['poll_rate_ratio'], 3)} "
                f"| {_n(r['p99_lag_ms_startup'], 0)} | {_n(r['p99_poll_ms_startup'], 0)} |"
            )
    return [*lines, ""]


def derive_lines(doc: dict[str, Any]) -> list[str]:
    d = doc.get("derive")
    if not d:
        return []
    return [
        "### Parse + derive alone (40-inverter plant with CTs and Encharge)",
        "",
        "| cycles per CPU second, with the 40-inverter list and zones "
        "| without the inverter list (the usual cycle) |",
        "|--:|--:|",
        f"| {_n(d['derive_cycles_per_second'], 0)} "
        f"| {_n(d['derive_cycles_per_second_without_inverter_list'], 0)} |",
        "",
    ]


def startup_lines(doc: dict[str, Any]) -> list[str]:
    s = doc.get("startup")
    if not s:
        return []
    return [
        f"### Command line start-up (a fresh process, median of {s['repeats']})",
        "",
        "| `gem-envoy --help` s | `gem-envoy device list` s |",
        "|---|---|",
        f"| {_n(s['help_s'], 3)} | {_n(s['device_list_s'], 3)} |",
        "",
    ]


def target_lines(doc: dict[str, Any]) -> list[str]:
    lines = ["### Targets", "", "| target | figure | met | margin |", "|---|---|---|---|"]
    for v in evaluate(doc):
        met = "n/a" if v.met is None else ("met" if v.met else "**missed**")
        lines.append(f"| {v.target} | {v.figure} | {met} | {v.margin} |")
    return [*lines, ""]


def tables(doc: dict[str, Any]) -> str:
    lines = [
        "## Results",
        "",
        *machine_lines(doc),
        *percycle_lines(doc),
        *fleet_lines(doc),
        *derive_lines(doc),
        *startup_lines(doc),
        *busy_lines(doc),
        *energy_lines(doc),
        *scaling_lines(doc),
        *target_lines(doc),
        *live_lines(doc),
    ]
    return "\n".join(lines).rstrip() + "\n"


def write(path: Path, doc: dict[str, Any]) -> None:
    """Replace the generated region of `path` (made with a skeleton if missing)."""
    text = path.read_text() if path.exists() else SKELETON
    if BEGIN not in text or END not in text:
        text = text.rstrip() + "\n\n" + BEGIN + "\n" + END + "\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{tables(doc)}{END}{tail}")
