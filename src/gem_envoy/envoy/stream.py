"""`/stream/meter`: the gateway's power flow as server-sent events, about one a second, on a
connection of its own beside the polls'.

A `MeterStream` is made by `EnvoyClient.meter_stream` and used as

    async with client.meter_stream() as stream:
        async for power in stream:  # LivePower
            ...

It ends only by an error (or by leaving the `async with`): `StreamStalled` when no event came
for `idle_timeout_s` (a connection can hang without closing), `Unreachable` when the
connection is lost or the gateway ends the stream, `AuthRejected` (401), `NotPermitted`
(403), `NotFound` (404) or `BadResponse` at the start, `BadResponse` after 10 events in a row
that could not be read (fewer are skipped, and counted in `garbage_events`). Whichever way it
ends, its connection is closed at once; the caller decides when to open another.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

from gem_envoy.envoy import parse
from gem_envoy.envoy.client import EnvoyClient, status_error
from gem_envoy.envoy.errors import BadResponse, StreamStalled, Unreachable
from gem_envoy.envoy.models import LivePower
from gem_envoy.envoy.paths import STREAM_METER
from gem_envoy.envoy.sse import SseDecoder
from gem_envoy.envoy.transport_protocol import StreamingTransport, StreamReply

MAX_GARBAGE_IN_ROW = 10


class MeterStream:
    """One `/stream/meter` connection: `async with` opens and closes it, `async for` reads
    it. Never two at once per client: opening one closes the client's previous one."""

    def __init__(
        self, client: EnvoyClient, transport: StreamingTransport, idle_timeout_s: float = 5.0
    ) -> None:
        if idle_timeout_s <= 0:
            raise ValueError("idle_timeout_s must be positive")
        self.idle_timeout_s = idle_timeout_s
        self.garbage_events = 0  # events skipped because they could not be read
        self._client = client
        self._transport = transport
        self._reply: StreamReply | None = None
        self._decoder = SseDecoder()
        self._ready: deque[LivePower] = deque()
        self._garbage_in_row = 0
        self._failure: BadResponse | None = None  # raised once the events before it are read
        self._deadline = 0.0  # loop time by which the next event must have come
        self._opened = False

    def __repr__(self) -> str:  # never shows the token
        state = "open" if self._reply is not None else "closed"
        return f"MeterStream({self._transport.host}:{self._transport.port}, {state})"

    @property
    def is_open(self) -> bool:
        return self._reply is not None

    @property
    def discarded_events(self) -> int:
        """Events dropped unread for being larger than the decoder's cap."""
        return self._decoder.discarded

    async def __aenter__(self) -> MeterStream:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect and check the answer: returns once the gateway said 200."""
        if self._reply is not None:
            raise RuntimeError("this meter stream is already open")
        await self._client._claim_stream(self)
        try:
            reply = await self._client._open_meter_stream(self._transport)
        except BaseException:
            self._client._release_stream(self)
            raise
        if reply.status != 200:
            await reply.close()
            self._client._release_stream(self)
            raise status_error(reply.status, STREAM_METER)
        self._reply = reply
        self._opened = True
        self._decoder = SseDecoder()
        self._ready.clear()
        self._garbage_in_row = 0
        self._failure = None
        self._deadline = asyncio.get_running_loop().time() + self.idle_timeout_s

    async def close(self) -> None:
        """Drop the connection at once. Safe to call twice."""
        reply, self._reply = self._reply, None
        self._client._release_stream(self)
        if reply is not None:
            await reply.close()

    def __aiter__(self) -> MeterStream:
        return self

    async def __anext__(self) -> LivePower:
        if self._reply is None:
            if self._opened:
                raise StopAsyncIteration  # closed: nothing more will come
            raise RuntimeError("open the meter stream first (async with)")
        try:
            while not self._ready:
                if self._failure is not None:
                    raise self._failure
                await self._receive(self._reply)
        except BaseException:
            await self.close()  # an error, or a cancellation: the connection goes with it
            raise
        return self._ready.popleft()

    async def _receive(self, reply: StreamReply) -> None:
        """Read once; parse the events it completes into `_ready`."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(self._deadline):
                chunk = await reply.read()
        except TimeoutError:
            raise StreamStalled(self.idle_timeout_s) from None
        if not chunk:
            where = f"{self._transport.host}:{self._transport.port}"
            raise Unreachable(f"unreachable: {where} ended its meter stream ({STREAM_METER})")
        for data in self._decoder.feed(chunk):
            self._deadline = loop.time() + self.idle_timeout_s
            try:
                power = parse.meter_event(data)
            except BadResponse as exc:
                self.garbage_events += 1
                self._garbage_in_row += 1
                if self._garbage_in_row >= MAX_GARBAGE_IN_ROW:
                    # The good events read before still come first; nothing after is read.
                    self._failure = BadResponse(
                        f"bad response from {STREAM_METER}: {self._garbage_in_row} events in a "
                        f"row could not be read; the last: {exc.message}"
                    )
                    return
                continue
            self._garbage_in_row = 0
            self._ready.append(power)
