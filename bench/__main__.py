"""`python -m bench`: run the benchmarks, write the JSON and the tables of the doc.

- `python -m bench`: everything, as `make bench` does;
- `python -m bench --quick --out X.json --doc X.md`: a tiny version (the smoke test);
- `python -m bench --sections percycle --sides ours,pyenphase`: one section;
- `python -m bench --sections startup`: the command line's start-up alone;
- `python -m bench --sections live`: live telemetry alone (issue 13), about 11 minutes.

A run of some sections keeps the other sections' results in `--out` (see `results.merge`).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    busy,
    derive,
    energy,
    fleet,
    live,
    machine,
    percycle,
    report,
    results,
    scaling,
    startup,
)
from bench.protocol import ROOT

SECTIONS = ("percycle", "busy", "fleet", "derive", "startup", "live", "energy", "scaling")
FULL: dict[str, Any] = {
    # 600 cycles at 5 s = 50 minutes of schedule: the 5-minute reads exactly 10 times. At 120
    # cycles ours was 20 ms of CPU a run, and the section re-run alone gave production-only
    # ratios of 0.30 to 0.40; at 600, 0.25 to 0.29 (each side's three runs within 10 %).
    "percycle": percycle.CycleSettings(warmup=5, cycles=600, repeats=3),
    # Each size 3 times (issue 17: the median of 3 runs, all three reported).
    "fleet": fleet.FleetSettings(
        sizes=(100, 500, 1000, 2000), startup_s=10.0, window_s=60.0, repeats=3
    ),
    "derive": {"cycles": 2000, "repeats": 3},
    "startup": {"repeats": 3},
    # 120 s windows: two of pyenphase's 60 s cycles in each; 3 runs, then 100 devices live.
    "live": live.LiveSettings(),
    # An hour of each side's schedule under the field latency profile, 3 seeds (issue 17).
    "busy": busy.BusySettings(),
    # A simulated year of one 40-zone gateway polled every 30 s (issue 15): about 15 minutes.
    "energy": energy.EnergySettings(),
    # 5000 gateways on one host, then two hosts of 1000 into one mosquitto (issue 17 point 6).
    "scaling": scaling.ScalingSettings(),
}
QUICK: dict[str, Any] = {
    "percycle": percycle.CycleSettings(warmup=1, cycles=3, repeats=1),
    "fleet": fleet.FleetSettings(sizes=(5,), startup_s=2.0, window_s=8.0, settle_intervals=0),
    "derive": {"cycles": 50, "repeats": 1},
    "startup": {"repeats": 1},
    "live": live.QUICK,
    "busy": busy.QUICK,
    "energy": energy.QUICK,
    "scaling": scaling.QUICK,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run, for the smoke test")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma list")
    parser.add_argument("--sides", help="ours,pyenphase (default: pyenphase too if installed)")
    parser.add_argument("--fleet-sizes", help="comma list of gateway counts")
    parser.add_argument("--fleet-repeats", type=int, help="runs of each fleet size (default 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--profile-dir", type=Path, help="pyinstrument profiles of each side")
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    chosen = dict(QUICK if args.quick else FULL)
    sides = tuple(args.sides.split(",")) if args.sides else None
    if sides is None:
        sides = percycle.SIDES if percycle.pyenphase_available() else ("ours",)
        if "pyenphase" not in sides:
            log("pyenphase is not installed (pip install -e '.[bench]'): measuring our side only")
    cycle = chosen["percycle"]
    chosen["percycle"] = percycle.CycleSettings(
        cycle.warmup, cycle.cycles, cycle.repeats, cycle.interval_s, sides, args.profile_dir
    )
    chosen["live"] = replace(chosen["live"], pyenphase="pyenphase" in sides)
    chosen["busy"] = replace(chosen["busy"], pyenphase="pyenphase" in sides)
    if args.fleet_sizes:
        sizes = tuple(int(n) for n in args.fleet_sizes.split(","))
        chosen["fleet"] = replace(chosen["fleet"], sizes=sizes)
    if args.fleet_repeats:
        chosen["fleet"] = replace(chosen["fleet"], repeats=args.fleet_repeats)
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        log(f"unknown sections: {sorted(unknown)}")
        return 2
    chosen = settings(args)
    began = time.monotonic()
    doc: dict[str, Any] = {}
    percycle_results: dict[str, Any] = {}
    fleet_results: dict[str, Any] = {}
    derive_results: dict[str, Any] = {}
    startup_results: dict[str, Any] = {}
    live_results: dict[str, Any] = {}
    busy_results: dict[str, Any] = {}
    about = machine.describe()
    if "percycle" in sections:
        log("per poll cycle: gem-envoy vs pyenphase")
        percycle_results = percycle.run(chosen["percycle"], log)
    if "busy" in sections:
        log("gateway busy time per hour (field latency profile)")
        busy_results = busy.run(chosen["busy"], log)
    if "fleet" in sections:
        log("fleet: one host, many gateways")
        fleet_results = fleet.run(chosen["fleet"], log)
    if "derive" in sections:
        log("parse + derive")
        derive_results = derive.run(**chosen["derive"])
        log(f"  {derive_results['derive_cycles_per_second']:.0f} cycles/s")
    if "startup" in sections:
        log("command line start-up")
        startup_results = startup.run(**chosen["startup"])
        log(f"  gem-envoy --help: {startup_results['help_s']:.3f} s, "
            f"device list: {startup_results['device_list_s']:.3f} s (median)")  # fmt: skip
    if "live" in sections:
        log("live telemetry: stream, livedata, poll at 5 s, pyenphase at 60 s")
        live_about = machine.describe()
        live_began = time.monotonic()
        live_results = live.run(chosen["live"], log)
        live_about["load_average_at_end"] = machine.load_average()
        live_results = {
            **live_results,
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "wall_s": time.monotonic() - live_began,
            "quick": args.quick,
            "machine": live_about,
            "settings": asdict(chosen["live"]),
        }
    energy_results = energy.section(chosen["energy"], log) if "energy" in sections else {}
    scaling_results: dict[str, Any] = {}
    if "scaling" in sections:
        log("scaling: 5000 gateways on one host; two hosts into one MQTT broker")
        scaling_results = scaling.run(chosen["scaling"], log)
    about["load_average_at_end"] = machine.load_average()
    doc = results.headline(percycle_results, fleet_results, derive_results)
    doc |= {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "bench_wall_s": time.monotonic() - began,
        "quick": args.quick,
        "machine": about,
        "settings": {
            "percycle": {**asdict(chosen["percycle"]), "profile_dir": None},
            "fleet": asdict(chosen["fleet"]),
            "derive": chosen["derive"],
            "startup": chosen["startup"],
            "busy": asdict(chosen["busy"]),
            "energy": asdict(chosen["energy"]),
            "scaling": asdict(chosen["scaling"]),
        },
        "percycle": percycle_results,
        "fleet_details": fleet_results,
        "derive": derive_results,
        "startup": startup_results,
        "live": live_results,
    }
    if energy_results:
        doc["energy"] = energy_results
    if scaling_results:
        doc["scaling"] = scaling_results
    if busy_results:
        doc |= {"gateway_busy_s_per_hour": busy.headline(busy_results), "busy": busy_results}
    doc = results.merge(results.read(args.out), doc, sections)
    results.write(args.out, doc)
    report.write(args.doc, results.clean(doc))
    log(f"wrote {args.out} and {args.doc} in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
