"""The fault matrix against a real host and simulator. `make reliability` runs every fault
(GEM_ENVOY_RELIABILITY=full); `make test` runs a shorter set that fits the CI budget."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host
from tests.reliability.matrix import CASES, INTERVAL_S, SHORT, TIMEOUT_MS, Outcome, run_case, table
from tests.simulator import simulator

FULL = os.environ.get("GEM_ENVOY_RELIABILITY") == "full"


async def add_device(host: Host, name: str, sim_port: int, token: str) -> int:
    values = {
        "ip": "127.0.0.1", "port": sim_port, "token": token,
        "polling_interval": int(INTERVAL_S * 1000), "request_timeout": TIMEOUT_MS,
        # The poll's faults; the live feed's are in test_stream_faults (its stream is a
        # second request in flight by design).
        "live": False,
    }  # fmt: skip
    device = await host.store.add_device(name, "enphase_envoy", attributes=values)  # type: ignore[arg-type]
    await host.supervisor.reload(device.id)
    return device.id


def save_report(report: str) -> None:
    out = Path("build")
    out.mkdir(exist_ok=True)
    (out / "reliability.md").write_text(report + "\n")


async def test_every_fault_is_reported_survived_and_recovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cases = [c for c in CASES if FULL or c.kind in SHORT]
    faulty_dir, healthy_dir = tmp_path / "faulty", tmp_path / "healthy"
    faulty_dir.mkdir()
    healthy_dir.mkdir()
    with (
        simulator(faulty_dir, ["--battery", "--speed", "60"]) as sim,
        simulator(healthy_dir, ["--inverters", "4"]) as other,
    ):
        host = await Host.open(tmp_path / "host" / "gem.db", DRIVERS)
        await host.supervisor.start()
        try:
            device = await add_device(host, "faulty", sim.port, sim.token_file.read_text())
            await add_device(host, "bystander", other.port, other.token_file.read_text())
            outcomes: list[Outcome] = []
            started = time.monotonic()
            for case in cases:
                outcomes.append(await run_case(host, sim, device, case))
            bystander_polls = other.requests_to("/ivp/meters/readings")  # every poll (CTs)
        finally:
            await host.close()

    report = table(outcomes)
    print("\n" + report)
    save_report(report)
    failed = [o.kind for o in outcomes if not o.passed]
    assert not failed, report
    # The healthy device kept its pace all along: one poll per interval, give or take one.
    assert bystander_polls >= (time.monotonic() - started) / INTERVAL_S - 2
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
