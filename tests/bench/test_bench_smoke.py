"""`python -m bench --quick`: a tiny version of every benchmark, so none can silently rot.

Checks the shape of the JSON and that the figures are sane (positive, finite, counted by the
simulator); never a timing threshold. The pyenphase side needs the `bench` extra: without it
that part is skipped, saying so, and everything else still runs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.mqtt_broker import mosquitto_binary

ROOT = Path(__file__).resolve().parents[2]
SHAPES = ("production_only", "ct", "ct_battery")
HAS_PYENPHASE = importlib.util.find_spec("pyenphase") is not None


def run_bench(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    out, doc = tmp_path / "latest.json", tmp_path / "performance.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--doc", str(doc), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), doc.read_text()


def number(value: object) -> float:
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    assert math.isfinite(value), value
    return float(value)


@pytest.mark.timeout(150)
def test_every_section_runs_and_writes_json_and_tables(tmp_path: Path) -> None:
    # The live section has a test of its own (below): it runs its sides concurrently.
    data, doc = run_bench(
        tmp_path, "--sides", "ours", "--sections", "percycle,fleet,derive,startup"
    )

    for shape in SHAPES:
        # A cycle reads /production.json at least; never more than a handful of endpoints.
        assert 1 <= number(data["requests_per_cycle"][shape]["ours"]) <= 6
        assert number(data["cpu_ms_per_cycle"][shape]["ours"]) > 0
        assert number(data["bytes_per_cycle"][shape]["ours"]) > 100
        sample = data["percycle"][shape]["ours"]["sample"]
        assert number(sample["production_now_w"]) > 0  # the plant's noon sun, read through
    # Nothing fails on a healthy simulator: one session per run.
    assert number(data["tls_handshakes_per_run"]["ours"]) == 1
    assert number(data["check_jwt_per_run"]["ours"]) == 1
    assert number(data["tls_handshakes_per_100_cycles"]["ours"]) > 0
    assert number(data["check_jwt_per_100_cycles"]["ours"]) > 0
    # The command line's start-up, timed as fresh processes (bench/startup.py).
    assert number(data["startup"]["help_s"]) > 0 and number(data["startup"]["device_list_s"]) > 0
    assert "gem-envoy --help" in doc

    fleet = data["fleet"]["5"]
    assert 0 < number(fleet["cpu_percent"]) < 400
    assert number(fleet["rss_kb_per_device"]) > 0
    assert number(fleet["p99_lag_ms"]) >= 0
    assert number(fleet["tls_handshakes_per_gateway"]) == 1
    details = data["fleet_details"]["5"]
    assert details["devices_polled"] == 5
    assert details["devices_failing"] == 0
    assert details["simulators"]["gateways_never_polled"] == 0

    assert number(data["derive_cycles_per_second"]) > 0
    assert number(data["machine"]["cpu_count"]) >= 1

    assert "### Per poll cycle" in doc and "### Fleet" in doc and "### Targets" in doc
    assert "| 5 |" in doc  # the fleet row


@pytest.mark.timeout(150)
def test_pyenphase_side(tmp_path: Path) -> None:
    if not HAS_PYENPHASE:
        reason = "pyenphase is not installed (it is in the bench extra: make bench installs it)"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    data, doc = run_bench(tmp_path, "--sections", "percycle", "--sides", "ours,pyenphase")
    for shape in SHAPES:
        theirs = data["percycle"][shape]["pyenphase"]
        assert number(theirs["requests_per_cycle"]) >= 1
        assert number(theirs["cpu_ms_per_cycle"]) > 0
        assert number(theirs["check_jwt_per_run"]) == 1
        assert number(theirs["sample"]["production_now_w"]) > 0
    assert "requests per cycle <= 1/2 pyenphase" in doc


@pytest.mark.timeout(150)
def test_live_section(tmp_path: Path) -> None:
    """Every side at once on its own simulated gateway (pyenphase too when installed), the
    host's history, and a tiny live fleet; written beside earlier results, not over them."""
    out = tmp_path / "latest.json"
    out.write_text(json.dumps({"derive_cycles_per_second": 123.0, "settings": {}}))
    data, doc = run_bench(tmp_path, "--sections", "live")
    assert data["derive_cycles_per_second"] == 123.0  # the other sections' results are kept

    live = data["live"]
    sides = ["stream", "livedata", "poll_5s"] + (["pyenphase_60s"] if HAS_PYENPHASE else [])
    idle = ["idle_stream", "idle_livedata", "idle_60s"]
    assert sorted(live["freshness_s"]) == sorted(sides + idle)
    for side in sides:
        fresh = live["freshness_s"][side]
        assert 0 <= number(fresh["p50"]) <= number(fresh["p99"]) < 30
        load = live["gateway_per_hour"][side]
        # Every request costs the gateway at least the field profile's fastest answer.
        assert number(load["bytes"]) > 0
        assert number(load["busy_s"]) >= 0.17 * number(load["requests"])
    assert number(live["gateway_per_hour"]["poll_5s"]["busy_s"]) > 0
    # Each watched device followed the source its token allows, the whole window; the
    # unwatched ones were polled, and their gateways saw no stream and no livedata read.
    run = live["runs"][0]
    assert run["sources_at_end"] == {
        "stream": "stream", "livedata": "livedata", "poll_5s": "poll",
        "idle_stream": "poll", "idle_livedata": "poll", "idle_60s": "poll",
    }  # fmt: skip
    for side in idle:
        asked = run["gateway_per_hour"][side]["window_requests_by_path"]
        assert not {"/stream/meter", "/ivp/livedata/status"} & asked.keys(), asked
    assert set(live["gateway_per_day"]) >= {"stream", "livedata"}
    stream = run["gateway_per_hour"]["stream"]
    assert stream["streams_open_at_end"] == 1 and stream["max_streams_open"] == 1
    assert number(run["freshness_s"]["stream"]["updates"]) >= 2  # about one a second
    assert number(live["history_rows_per_hour"]["live"]) > 0
    assert number(live["history_rows_per_hour"]["poll"]) > 0
    fleet = live["fleet_100"]
    assert 0 < number(fleet["cpu_percent"]) < 400 and number(fleet["rss_kb_per_device"]) > 0
    assert fleet["stream"]["live_sources"] == {"stream": fleet["stream"]["devices"]}
    assert "### Live telemetry" in doc and "p99 age of production_now_w" in doc


@pytest.mark.timeout(150)
def test_energy_section(tmp_path: Path) -> None:
    """A few simulated days of the year-sized database (issue 15): written, folded and
    pruned through the store, measured on disk, and the three queries answered."""
    data, doc = run_bench(tmp_path, "--sections", "energy")
    energy = data["energy"]
    assert number(energy["points_written"]) > 100_000  # 3 days of 40 zones every 30 s
    assert 0 < number(energy["db_mb_after_vacuum"]) <= number(energy["db_mb"])
    assert number(energy["rows"]["rollups_hourly"]) > 0 and number(energy["rows"]["raw"]) > 0
    for query in ("energy_month_1y", "chart_7d", "chart_1y"):
        assert number(energy["queries_ms"][query]["median_ms"]) > 0
        assert number(energy["queries_ms"][query]["answer_bytes"]) > 100
    assert "### A year of history: disk and queries" in doc


@pytest.mark.timeout(150)
def test_scaling_section(tmp_path: Path) -> None:
    """Two tiny hosts publishing to one real mosquitto (issue 17 point 6): the subscriber
    counts their messages and times each device's state document from its poll's end."""
    mosquitto_binary()  # skips, saying so, where the broker is absent (fails in CI)
    data, doc = run_bench(tmp_path, "--sections", "scaling")
    run = data["scaling"]["shared_broker"]["runs"][0]
    assert [h["devices"] for h in run["hosts"]] == [3, 3]
    for host in run["hosts"]:
        assert number(host["poll_rate_ratio"]) > 0.5  # both hosts polled through the window
    broker = run["broker"]
    assert number(broker["messages_per_s"]) > 0
    # Both hosts' devices: 6 gateways every 5 s over the 8 s window gives about 9 documents.
    assert number(broker["state_documents"]) >= 4
    assert 0 <= number(broker["p50_delay_ms"]) <= number(broker["p99_delay_ms"]) < 10_000
    assert "### Beyond one host" in doc and "independent hosts" in doc
