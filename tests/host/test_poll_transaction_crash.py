"""SIGKILL a process while it stores poll after poll: each poll's device value and its
zones' values are one transaction, so the database always holds one whole poll, never the
device of one and zones of another, and its history holds whole polls too."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.poll_worker import ZONES

KILLS = 4


def _kill_while_polling(db: Path, after_s: float) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.poll_worker", str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "polling"
        time.sleep(after_s)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


def _whole_polls(db: Path) -> tuple[int, set[int]]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        values = conn.execute(
            "SELECT target_type, value FROM attributes WHERE name IN ('polls', 'last_w')"
        ).fetchall()
        per_poll = conn.execute(
            "SELECT value, COUNT(*) FROM attribute_history WHERE name = 'last_w' GROUP BY value"
        ).fetchall()
    finally:
        conn.close()
    return len(values), {int(v) for _, v in values} | {-count for _, count in per_poll}


def test_a_sigkill_leaves_whole_polls_only(tmp_path: Path) -> None:
    rng = random.Random(17)
    for kill in range(KILLS):
        db = tmp_path / f"host-{kill}.db"
        _kill_while_polling(db, rng.uniform(0.2, 1.0))
        count, seen = _whole_polls(db)
        assert count == 1 + ZONES
        # One poll number everywhere, and every poll's history has all its zones.
        assert len([v for v in seen if v > 0]) == 1 and seen - {max(seen)} == {-ZONES}
