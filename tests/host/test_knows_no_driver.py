"""The host knows nothing of Enphase, its web page included: every driver-specific word lives
in the driver, which the host reaches only through the `Driver` contract."""

from __future__ import annotations

import re
from pathlib import Path

import gem_envoy.host

HOST = Path(gem_envoy.host.__file__).parent
# The words of the one driver there is: its brand, its devices, its attributes.
DRIVER_WORDS = re.compile(r"enphase|inverter|production_now|battery", re.IGNORECASE)


def test_no_file_of_the_host_names_the_enphase_driver() -> None:
    files = [p for p in HOST.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert any(p.suffix == ".js" for p in files) and any(p.suffix == ".py" for p in files)
    found = [
        f"{path.relative_to(HOST)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if DRIVER_WORDS.search(line)
    ]
    assert not found, "\n".join(found)
