"""`python -m bench --quick --sections busy`: the gateway busy-time section, tiny, so it
cannot rot; and its goals' arithmetic."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from bench.busy import SIDES, goals

from .test_bench_smoke import SHAPES, number, run_bench

HAS_PYENPHASE = importlib.util.find_spec("pyenphase") is not None


def test_goals_compare_ours_with_the_named_fraction_of_pyenphase() -> None:
    figures = {"ct": {"ours_30s": 100.0, "ours_5s": 300.0, "pyenphase_30s": 400.0,
                      "pyenphase_60s": 200.0}}  # fmt: skip
    verdicts = {(g["ours"], g["theirs"]): (g["limit"], g["met"]) for g in goals(figures)}
    assert verdicts == {
        ("ours_30s", "pyenphase_30s"): (100.0, True),
        ("ours_5s", "pyenphase_60s"): (200.0, False),
    }


@pytest.mark.timeout(150)
def test_the_section_writes_busy_seconds_per_hour_for_every_shape_and_side(
    tmp_path: Path,
) -> None:
    sides = "ours,pyenphase" if HAS_PYENPHASE else "ours"
    data, doc = run_bench(tmp_path, "--sections", "busy", "--sides", sides)
    expected = SIDES if HAS_PYENPHASE else ("ours_30s", "ours_5s", "ours_live")
    for shape in SHAPES:
        per_hour = data["gateway_busy_s_per_hour"][shape]
        assert set(per_hour) == set(expected)
        for side in expected:
            assert number(per_hour[side]) > 0  # every side asks the gateway something
    # Without CTs there is no meter stream: the live side polls as ours_30s does.
    assert data["busy"]["production_only"]["ours_live"]["sample"]["live"] == []
    assert "production_now_w" in data["busy"]["ct"]["ours_live"]["sample"]["live"]
    assert "### Gateway busy seconds per hour (field latency profile)" in doc
