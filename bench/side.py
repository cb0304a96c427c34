"""The measured loop both client sides share (in their own child process).

    connect -> warm-up cycles -> "warm" -> wait for "go" -> measured cycles -> "done"

Between "warm" and "go" the parent reads and resets the simulator's counters, so the measured
window holds the measured cycles only. CPU time is this process's own (all its threads),
taken with `time.process_time()` around the measured cycles alone.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bench.protocol import emit, wait_command


class Session(Protocol):
    """One client library polling one gateway."""

    async def connect(self) -> None: ...

    async def cycle(self) -> None: ...

    async def close(self) -> None: ...

    def sample(self) -> dict[str, Any]:
        """A few values read in the last cycle, to show both sides read the same plant."""
        ...


def side_arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--zones-file", type=Path, help="inverter serials, one a line")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=120)
    parser.add_argument("--interval-s", type=float, default=5.0)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile here")
    return parser


async def measure(
    make: Callable[[], Session], warmup: int, cycles: int, profile: Path | None
) -> None:
    session = make()  # inside the event loop: aiohttp wants one when its session is made
    try:
        await session.connect()
        for _ in range(warmup):
            await session.cycle()
        emit("warm", cycles=warmup)
        if await wait_command() != "go":
            raise RuntimeError("the parent did not say go")
        profiler = _start_profiler(profile)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(cycles):
            await session.cycle()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        _stop_profiler(profiler, profile)
        emit(
            "done",
            cycles=cycles,
            cpu_s=cpu1 - cpu0,
            wall_s=wall1 - wall0,
            sample=session.sample(),
        )
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        await session.close()


def _start_profiler(path: Path | None) -> Any:
    if path is None:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001, async_mode="disabled")
    profiler.start()
    return profiler


def _stop_profiler(profiler: Any, path: Path | None) -> None:
    if profiler is None or path is None:
        return
    profiler.stop()
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def run(make: Callable[[], Session], args: argparse.Namespace) -> None:
    asyncio.run(measure(make, args.warmup, args.cycles, args.profile))
