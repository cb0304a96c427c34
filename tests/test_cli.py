"""The `gem-envoy` command as a user runs it: real processes, real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulator import SimProcess, gem_envoy, poll_json, simulator


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with simulator(tmp_path_factory.mktemp("sim"), ["--battery", "--inverters", "8"]) as s:
        yield s


def where(sim: SimProcess) -> list[str]:
    return ["--ip", sim.host, "--port", str(sim.port)]


def test_poll_prints_device_attributes_and_one_zone_per_inverter(sim: SimProcess) -> None:
    polled = poll_json(sim, "--zones", "all")
    device, zones = polled["device"], polled["zones"]
    assert isinstance(device, dict) and isinstance(zones, dict)
    for name in (
        "production_now_w",
        "production_today_wh",
        "production_lifetime_wh",
        "consumption_now_w",
        "net_power_w",
        "inverter_count",
        "last_report_time",
        "battery_now_w",
        "battery_soc_percent",
        "battery_capacity_wh",
        "battery_state",
        "serial_number",
        "token_type",
        "token_expires_at",
    ):
        assert name in device, name
    assert len(zones) == 8
    for zone in zones.values():
        assert set(zone) == {"last_w", "max_w", "state", "last_report_time"}
        assert zone["state"] == str(zone["last_w"])
        assert zone["max_w"] >= zone["last_w"]


def test_poll_with_listed_zones_reports_only_those(sim: SimProcess) -> None:
    everything = poll_json(sim, "--zones", "all")["zones"]
    assert isinstance(everything, dict)
    first = sorted(everything)[0]
    result = gem_envoy("poll", *where(sim), "--token-file", str(sim.token_file),
                       "--zones", f"{first},000000000000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout)["zones"]) == [first]
    # The unknown serial is named, not silently left out.
    assert "unknown serial(s), not in the gateway's inverter list: 000000000000" in result.stderr
    assert first not in result.stderr


def test_token_is_taken_from_the_environment(sim: SimProcess) -> None:
    token = sim.token_file.read_text().strip()
    result = gem_envoy("poll", *where(sim), env={"GEM_ENVOY_TOKEN": token})
    assert result.returncode == 0, result.stderr
    assert "production_now_w" in json.loads(result.stdout)["device"]
    assert token not in result.stdout + result.stderr


def test_missing_token_is_one_clear_line(sim: SimProcess) -> None:
    result = gem_envoy("poll", *where(sim), env={"GEM_ENVOY_TOKEN": ""})
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "gem-envoy: no token: give --token-file FILE or set GEM_ENVOY_TOKEN"
    )


def test_expired_token_error_names_the_cause_and_hides_the_token(
    sim: SimProcess, tmp_path: Path
) -> None:
    expired = sim.mint("installer", lifetime_s=-10)
    result = gem_envoy("poll", *where(sim), env={"GEM_ENVOY_TOKEN": expired})
    assert result.returncode == 1
    assert result.stderr.startswith("gem-envoy: auth rejected (401)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert expired not in result.stderr and "Traceback" not in result.stderr


def test_unreachable_gateway_is_one_line_without_traceback() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = gem_envoy(
        "poll", "--ip", "127.0.0.1", "--port", str(port), env={"GEM_ENVOY_TOKEN": "a.b.c"}
    )
    assert result.returncode == 1
    assert "connection refused" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("action", "check"),
    [
        ("get_status", lambda r: "production" in r and "consumption" in r),
        ("get_production", lambda r: "wattsNow" in r),
        ("get_inverters", lambda r: len(r["serials"]) == 8 and len(r["inverters"]) >= 8),
        ("get_battery", lambda r: r["inventory"] and "ENC_agg_soc" in r["secctrl"]),
        ("get_info", lambda r: r["firmware"].startswith("D") and r["serial"]),
    ],
)
def test_every_read_command_prints_its_json(sim: SimProcess, action: str, check: object) -> None:
    result = gem_envoy("command", *where(sim), "--token-file", str(sim.token_file), action)
    assert result.returncode == 0, result.stderr
    assert check(json.loads(result.stdout))  # type: ignore[operator]


def test_a_bad_storage_mode_is_refused_before_any_traffic(sim: SimProcess) -> None:
    sim.reset_stats()
    result = gem_envoy(
        "command", *where(sim), "--token-file", str(sim.token_file),
        "set_storage_mode", "mode=turbo",
    )  # fmt: skip
    assert result.returncode == 1
    assert "mode must be self-consumption, backup or economy" in result.stderr
    assert sim.stats()["requests_total"] == 0


def test_unknown_command_is_refused_before_any_traffic(sim: SimProcess) -> None:
    sim.reset_stats()
    result = gem_envoy("command", *where(sim), "--token-file", str(sim.token_file), "reboot")
    assert result.returncode == 1
    assert "unknown command 'reboot'" in result.stderr
    assert sim.stats()["requests_total"] == 0
