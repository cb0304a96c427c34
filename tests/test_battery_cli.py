"""Battery settings writes through `gem-envoy command` against `gem-envoy simulate --capture`,
on every shared capture whose tariff has storage settings and whose gateway has an Encharge:
each write changes its one field, every other field of `tariff` stays as captured (parsed
documents compared, types included), and the gateway served one GET, one PUT and one GET of
the tariff for it.

The simulator runs as a process, one per capture folder; the command runs `gem_envoy.cli.main`
in this process (the same entry point as the installed command, without a second interpreter
start per write).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gem_envoy.cli import main
from tests.battery import changed_fields, writes_changing
from tests.captures import battery_settings_folders, require_captures
from tests.simulator import SimProcess, simulator

FOLDERS = battery_settings_folders(encharge=True) or ["(no captures)"]
TARIFF = "/admin/lib/tariff"


def command(sim: SimProcess, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    where = ["--ip", sim.host, "--port", str(sim.port), "--token-file", str(sim.token_file)]
    status = main(["command", *where, *args])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)


def served_tariff(sim: SimProcess) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {sim.token_file.read_text()}"}
    with httpx.Client(verify=False, trust_env=False) as http:
        answer = http.get(sim.url + TARIFF, headers=bearer)
    answer.raise_for_status()
    tariff: dict[str, Any] = answer.json()["tariff"]
    return tariff


def tariff_methods(sim: SimProcess) -> dict[str, int]:
    by_method = sim.stats()["by_method"]
    return {method: counts.get(TARIFF, 0) for method, counts in by_method.items()}


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_write_changes_one_field_and_nothing_else(
    folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = require_captures() / folder
    captured = json.loads((path / "admin_lib_tariff").read_bytes())["tariff"]
    with simulator(tmp_path, ["--capture", str(path)]) as sim:
        before = captured
        written: dict[str, object] = {}
        for write in writes_changing(captured["storage_settings"]):
            sim.reset_stats()
            pairs = [f"{name}={value}" for name, value in write.args.items()]
            answer = command(sim, capsys, write.action, *pairs)
            served = tariff_methods(sim)
            after = served_tariff(sim)

            assert answer["verified"] is True, answer
            assert served == {"GET": 2, "PUT": 1}, served  # read, write, read back
            expected = {f"storage_settings.{write.key}": write.value}
            if write.key == "mode" and before["storage_settings"].get("opt_schedules") is True:
                expected["storage_settings.opt_schedules"] = False  # else the mode is ignored
            assert changed_fields(before, after) == expected
            written |= expected
            # Against the capture itself: only what the writes so far changed.
            assert changed_fields(captured, after) == written
            before = after
