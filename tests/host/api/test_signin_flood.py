"""Password hashing never stalls reads: during thirty parallel sign-ins, `/api/health` and an
attribute read stay fast. Before hashing had threads of its own it ran on the database's
reader thread, and every read queued behind it: a median of 5.6 s."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from .conftest import Host

SIGN_INS = 30
# The requirement is 100 ms. A read's own cost is a few milliseconds; a loaded CI machine
# may add some, a stall adds seconds, so this limit is both the requirement and far from
# either. Only the middle of the flood is measured, while sign-ins are surely being hashed:
# reads that start in its first ARRIVAL_S share the loop with thirty connections being
# accepted and their requests parsed (a first read took 170 ms so on a loaded CI machine),
# which is the arrival, not hashing; the flood lasts seconds beyond it.
P99_LIMIT_S = 0.100
ARRIVAL_S = 0.3


async def timed(client: httpx.AsyncClient, url: str, into: list[float], since: float) -> None:
    started = time.perf_counter()
    answer = await client.get(url)
    if started - since >= ARRIVAL_S:
        into.append(time.perf_counter() - started)
    assert answer.status_code == 200, answer.text


def p99(samples: list[float]) -> float:
    if len(samples) < 2:  # a stall: the flood was over before a second read came back
        return max(samples)
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


async def test_reads_stay_fast_during_thirty_parallel_sign_ins(host: Host) -> None:
    device = await host.add_device()
    attributes = f"/api/attributes/device/{device['id']}"
    async with host.client() as reader:
        for _ in range(3):  # warm the connections: the flood's, not the set-up's, is measured
            await reader.get("/api/health")
            await host.admin.get(attributes)
        health: list[float] = []
        reads: list[float] = []
        signed: list[float] = []

        async def sign_in(index: int) -> None:
            # Names of their own, so that each is heard and hashed, not refused by the limiter.
            login = {"username": f"flood{index}", "password": "wrong-password"}
            async with host.client() as client:  # a connection each, as thirty browsers
                started = time.perf_counter()
                answer = await client.post("/api/token", json=login)
                signed.append(time.perf_counter() - started)
            assert answer.status_code == 401, answer.text

        flood = [asyncio.create_task(sign_in(index)) for index in range(SIGN_INS)]
        since = time.perf_counter()
        await asyncio.sleep(0.05)  # the sign-ins are in: hashing has begun
        while sum(task.done() for task in flood) < SIGN_INS - 2:
            await timed(reader, "/api/health", health, since)
            await timed(host.admin, attributes, reads, since)
        await asyncio.gather(*flood)

    figures = (
        f"{len(health)} health reads p99 {p99(health) * 1000:.1f} ms "
        f"(median {statistics.median(health) * 1000:.1f} ms), {len(reads)} attribute reads "
        f"p99 {p99(reads) * 1000:.1f} ms (median {statistics.median(reads) * 1000:.1f} ms), "
        f"sign-ins took up to {max(signed) * 1000:.0f} ms"
    )
    print(figures)  # shown with -s: the figures the issue asks for
    assert max(signed) > 0.2, figures  # the flood did keep the hashing busy
    assert p99(health) < P99_LIMIT_S, figures
    assert p99(reads) < P99_LIMIT_S, figures
    assert len(health) >= 10, figures  # and the reads ran during it, not after
