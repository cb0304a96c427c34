"""Child process: pyenphase polling one gateway every `--interval-s`, as an integration does.

`PyenphaseSession` of the per-cycle section (setup, authenticate, `update()`), with its
`update()` started at a fixed rate from the first one; the production it returns is read the
moment `update()` returns, with the wall time. Says "ready" after the first update (with its
start time, which anchors the schedule), then runs until stdin says "stop" (or closes) and
prints "result" with every (arrival time, production W).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path

from bench.protocol import emit, wait_command
from bench.side_pyenphase import PyenphaseSession


async def poll(
    session: PyenphaseSession, interval_s: float, out: list[tuple[float, float]]
) -> None:
    began = time.monotonic()
    cycle = 0
    while True:
        await session.cycle()
        production = session.sample().get("production_now_w")
        if isinstance(production, int | float):
            out.append((time.time(), float(production)))
        if cycle == 0:
            emit("ready", first_update_at=time.time() - (time.monotonic() - began))
        cycle += 1
        await asyncio.sleep(max(0.0, began + cycle * interval_s - time.monotonic()))


async def run(args: argparse.Namespace) -> None:
    session = PyenphaseSession("127.0.0.1", args.port, args.token_file.read_text())
    arrivals: list[tuple[float, float]] = []
    try:
        await session.connect()
        polling = asyncio.create_task(poll(session, args.interval_s, arrivals))
        stop = asyncio.create_task(wait_command(timeout_s=args.max_life_s))
        await asyncio.wait({polling, stop}, return_when=asyncio.FIRST_COMPLETED)
        polling.cancel()
        stop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling  # raises what stopped it, if it failed before "stop"
        emit("result", production=arrivals)
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        await session.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--interval-s", type=float, default=60.0)
    parser.add_argument("--max-life-s", type=float, default=900.0)
    return parser.parse_args()


def main() -> None:
    asyncio.run(run(parse_args()))


if __name__ == "__main__":
    main()
