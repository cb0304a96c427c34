"""`gem-envoy token mint` and `token show`, against `gem-envoy simulate`'s cloud and gateway."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud_sim import EMAIL, PASSWORD, CloudProcess, cloud_simulator
from tests.simulator import gem_envoy


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    with cloud_simulator(tmp_path_factory.mktemp("cloud"), ["--inverters", "2"]) as running:
        yield running


def mint(cloud: CloudProcess, tmp: Path, password: str = PASSWORD) -> tuple[int, str, str, Path]:
    password_file, out = tmp / "password", tmp / "envoy.jwt"
    password_file.write_text(password + "\n")
    result = gem_envoy(
        "token", "mint", "--serial", "122300000001", "--email", EMAIL,
        "--password-file", str(password_file), "--out", str(out), env=cloud.env,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr, out


def test_mint_writes_a_private_token_the_gateway_accepts(
    cloud: CloudProcess, tmp_path: Path
) -> None:
    status, stdout, stderr, out = mint(cloud, tmp_path)
    assert status == 0, stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    token = out.read_text().strip()
    said = json.loads(stdout)
    assert said["type"] == "owner" and said["serial"] == "122300000001"
    assert said["written"] == str(out) and said["expired"] is False
    assert token not in stdout + stderr and PASSWORD not in stdout + stderr
    polled = gem_envoy(
        "poll", "--ip", cloud.sim.host, "--port", str(cloud.sim.port), "--token-file", str(out)
    )
    assert polled.returncode == 0, polled.stderr


def test_show_prints_the_claims_and_never_the_token(cloud: CloudProcess, tmp_path: Path) -> None:
    status, _, stderr, out = mint(cloud, tmp_path)
    assert status == 0, stderr
    shown = gem_envoy("token", "show", "--token-file", str(out))
    assert shown.returncode == 0, shown.stderr
    claims = json.loads(shown.stdout)
    assert claims["type"] == "owner" and claims["serial"] == "122300000001"
    assert 364 < claims["days_left"] <= 365
    assert out.read_text().strip() not in shown.stdout


def test_a_refused_sign_in_is_one_line_in_the_clouds_words(
    cloud: CloudProcess, tmp_path: Path
) -> None:
    status, _, stderr, out = mint(cloud, tmp_path, password="not it")
    assert status == 1 and not out.exists()
    assert stderr.strip().splitlines() == [
        "gem-envoy: Enlighten sign-in refused: wrong email or password (use those of "
        "enlighten.enphaseenergy.com)"
    ]
