"""How a ``/stream/meter`` stream goes out: one event per write, the stream faults, hang-ups.

The source hands over a paced iterator of whole events (``data: {...}\\n\\n``, see `paced`);
`stream_intercept` sends them, each as one chunk, the way simple clients expect. It watches
the connection meanwhile, so that a client that hangs up ends the stream at once (and
``streams_open`` drops at once), not at the next event.

The ``stream-*`` faults (see `faults`) are asked for before every event, so that they reach
streams already open: a stream draws once per fault whether that fault hits it (``fraction``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from .faults import STREAM_KINDS, Fault, FaultSwitch
from .http import Exchange, Intercept, Response

STREAM_PATHS = frozenset({"/stream/meter"})
STALL_POLL_S = 0.05
"""How often a stalled stream looks whether its fault has cleared."""
DISCONNECT_AFTER = 3
"""``stream-disconnect``: whole events sent before the broken one."""
GARBAGE_EVERY = 3
"""``stream-garbage``: one bad event before every third good one."""
GARBAGE = (
    b'data: {"production": tru\n\n',
    b"data: \x89\xfe\x00<not json>\xff\xff\n\n",
    b"\x89\xfe\x00 no event at all \xff\n\n",
)
"""JSON cut short, a data line that is no JSON, a line that is no event."""
SPLIT_PIECES = 3
SPLIT_GAP_S = 0.005
"""Between the pieces of a split event: long enough for each to leave in its own segment."""
SPLIT_JOIN_EVERY = 4
"""``stream-split``: every fourth event is held back and leaves with the next one."""
LINE_ENDINGS = (b"\n", b"\r\n", b"\r")
BURST_BYTES = 16 * 1024
_ABORT_DELAY_S = 0.05
"""Lets a partial event leave before the connection is dropped under it."""


async def paced(next_event: Callable[[], bytes], interval_s: float) -> AsyncIterator[bytes]:
    """``next_event()`` now, then every ``interval_s`` seconds, for ever."""
    while True:
        yield next_event()
        await asyncio.sleep(interval_s)


def stream_intercept(switch: FaultSwitch, path: str) -> Intercept:
    """Sends a stream answer event by event (any other answer as usual)."""

    async def send(exchange: Exchange, response: Response) -> int:
        if response.stream is None:
            return await exchange.send(response)
        await exchange.send_head(response)
        if exchange.request.method == "HEAD":  # the headers only: no events to wait for
            await exchange.end()
            return 0
        sender = _Sender(exchange, switch, path)
        hangup = asyncio.ensure_future(exchange.until_hangup())
        try:
            await sender.run(response.stream, hangup)
        finally:
            hangup.cancel()
            exchange.close()  # a stream never ends cleanly: the connection goes with it
        return sender.sent

    return send


class _Dropped(Exception):
    """The stream was broken on purpose (``stream-disconnect``)."""


class _Sender:
    """One stream's events on their way out, through whichever stream fault hits it."""

    def __init__(self, exchange: Exchange, switch: FaultSwitch, path: str) -> None:
        self.exchange = exchange
        self.switch = switch
        self.path = path
        self.sent = 0
        self.events = 0
        """Events sent since the current fault began hitting this stream."""
        self.pending = b""
        """Bytes held back (a burst filling up, an event waiting for the next)."""
        self._drawn: Fault | None = None
        self._hit = False

    async def run(self, events: AsyncIterator[bytes], hangup: asyncio.Future[None]) -> None:
        with contextlib.suppress(_Dropped):
            while not hangup.done():
                if self._fault("stream-stall") is not None:
                    await asyncio.wait({hangup}, timeout=STALL_POLL_S)
                    continue
                event = await _next_or_hangup(events, hangup)
                if event is None:
                    return
                if self._fault("stream-stall") is not None:
                    continue  # stalled while it was on its way: never sent
                await self._send(event)

    def _fault(self, kind: str | None = None) -> Fault | None:
        """The stream fault hitting this stream now (of ``kind``, if given), or None."""
        active = self.switch.active
        if active is None or active.kind not in STREAM_KINDS:
            return None
        if active is not self._drawn:  # a new fault: does it hit this stream?
            self._drawn, self.events = active, 0
            self._hit = self.switch.pick(self.path, (active.kind,)) is not None
        if not self._hit or (kind is not None and active.kind != kind):
            return None
        return active

    async def _send(self, event: bytes) -> None:
        fault = self._fault()
        kind = None if fault is None else fault.kind
        self.events += 1
        if kind == "stream-disconnect" and self.events > DISCONNECT_AFTER:
            await self._write(event[: len(event) // 2])
            await asyncio.sleep(_ABORT_DELAY_S)
            self.exchange.abort()
            raise _Dropped
        if kind == "stream-garbage" and self.events % GARBAGE_EVERY == 0:
            await self._write(GARBAGE[(self.events // GARBAGE_EVERY) % len(GARBAGE)])
        if kind == "stream-split":
            await self._split(event)
        elif kind == "stream-burst":
            self.pending += event
            while len(self.pending) >= BURST_BYTES:
                burst, self.pending = self.pending[:BURST_BYTES], self.pending[BURST_BYTES:]
                await self._write(burst)
        else:
            held, self.pending = self.pending, b""  # what a fault that cleared held back
            await self._write(held + event)

    async def _split(self, event: bytes) -> None:
        eol = LINE_ENDINGS[self.events % len(LINE_ENDINGS)]
        data = event.rstrip(b"\r\n") + eol + eol
        if self.events % SPLIT_JOIN_EVERY == 0:
            self.pending += data
            return
        if self.pending:  # the event held back and this one: together, in one write
            joined, self.pending = self.pending + data, b""
            await self._write(joined)
            return
        step = -(-len(data) // SPLIT_PIECES)
        for start in range(0, len(data), step):
            if start:
                await asyncio.sleep(SPLIT_GAP_S)
            await self._write(data[start : start + step])

    async def _write(self, data: bytes) -> None:
        self.sent += await self.exchange.send_body(data)


async def _next_or_hangup(
    events: AsyncIterator[bytes], hangup: asyncio.Future[None]
) -> bytes | None:
    """The next event, or None if the client hangs up first (or the events run out)."""
    step: asyncio.Future[bytes] = asyncio.ensure_future(anext(events))
    racers: set[asyncio.Future[Any]] = {step, hangup}
    await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    if not step.done():
        step.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await step
        return None
    try:
        return step.result()
    except StopAsyncIteration:
        return None
