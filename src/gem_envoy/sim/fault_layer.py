"""The per-request faults: a `Handler` wrapped around the gateway's.

Each gateway request asks the `FaultSwitch` whether the active fault hits it (``/__sim/*`` never
comes here). Four kinds answer in the gateway's place, and count the request themselves:

- ``401`` ``403`` ``404`` ``500`` ``502``: that status, with openresty's short HTML page.
- ``html``: status 200, ``text/html``, an error page (what old or ailing firmware does).
- ``timeout``: no answer at all; the connection is held open until the client gives up (at most
  `TIMEOUT_HOLD_S`).
- ``huge``: status 200 and a chunked JSON-looking body that never ends: it stops without its
  last chunk after `HUGE_LIMIT` bytes, or when the client hangs up.

The others let the gateway build its answer as usual (authentication and counting included) and
mangle it on the way out, through `Exchange.intercept`:

- ``slow``: the headers at once, then the body ``bytes_per_s`` at a time, in ticks.
- ``reset``: the headers and part of the body, then a TCP RST.
- ``truncated``: the headers (Content-Length of the whole body) and half the body, then a hang-up.
- ``skew``: the answer of a gateway whose clock is ``hours`` off (see `skew`).

A ``/stream/meter`` request no per-request fault hits is sent by `event_stream`, which applies
the ``stream-*`` kinds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import partial

from .event_stream import STREAM_PATHS, stream_intercept
from .faults import REQUEST_KINDS, STATUS_KINDS, Fault, FaultSwitch
from .gateway import openresty_error
from .http import HTML_TYPE, Exchange, Handler, Intercept, Request, Response
from .skew import skewed
from .stats import SimStats

TIMEOUT_HOLD_S = 120.0
HUGE_LIMIT = 64 << 20
HTML_ERROR_PAGE = (
    b"<html><head><title>Error</title></head><body><h1>Internal Server Error</h1></body></html>\n"
)
_HUGE_ITEM = b'{"type": "inverters", "activeCount": 1, "wNow": 0, "whLifetime": 0}, '
_HUGE_CHUNK = _HUGE_ITEM * (65536 // len(_HUGE_ITEM))
_DRIP_TICK_S = 0.25
_RESET_DELAY_S = 0.1


def fault_layer(switch: FaultSwitch, stats: SimStats, inner: Handler) -> Handler:
    """``inner`` (the gateway's handler) behind the faults of ``switch``."""

    async def handle(request: Request, exchange: Exchange) -> None:
        fault = switch.pick(request.path, REQUEST_KINDS)
        if fault is None:
            if request.path in STREAM_PATHS:  # the stream faults act event by event
                exchange.intercept = stream_intercept(switch, request.path)
            await inner(request, exchange)
            return
        make_intercept = _INTERCEPTS.get(fault.kind)
        if make_intercept is not None:
            exchange.intercept = make_intercept(fault)
            await inner(request, exchange)
            return
        stats.request_started(request.target, request.method)
        exchange.on_body = partial(stats.body_sent, request.path)
        try:
            await _answer_instead(fault, exchange)
        finally:
            stats.request_finished()

    return handle


async def _answer_instead(fault: Fault, exchange: Exchange) -> None:
    if fault.kind in STATUS_KINDS:
        await exchange.send(openresty_error(int(fault.kind)))
    elif fault.kind == "html":
        await exchange.send(Response(200, HTML_ERROR_PAGE, HTML_TYPE))
    elif fault.kind == "timeout":
        await exchange.wait_hangup(TIMEOUT_HOLD_S)
    elif fault.kind == "huge":
        await _send_endless(exchange)
    else:
        raise AssertionError(f"no answer for fault {fault.kind}")


async def _send_endless(exchange: Exchange) -> None:
    body = _huge_body()
    await exchange.send_head(Response(200, stream=body))
    async for chunk in body:
        await exchange.send_body(chunk)
        await asyncio.sleep(0)  # a fast reader never makes `drain` wait: let others run
    exchange.close()  # without the last chunk: the client never sees the body end


async def _huge_body() -> AsyncIterator[bytes]:
    yield b'{"production": ['
    for _ in range(HUGE_LIMIT // len(_HUGE_CHUNK)):
        yield _HUGE_CHUNK


# -- intercepts: the gateway's own answer, mangled --------------------------------------------


def _slow(fault: Fault) -> Intercept:
    rate = fault.bytes_per_s

    async def send(exchange: Exchange, response: Response) -> int:
        await exchange.send_head(response)
        sent = 0
        async for part in _body_parts(response):
            sent += await _drip(exchange, part, rate)
        await exchange.end()
        return sent

    return send


async def _drip(exchange: Exchange, data: bytes, rate: float) -> int:
    """Send ``data`` at ``rate`` bytes a second; a client that hangs up ends it (an error)."""
    step = max(1, int(rate * _DRIP_TICK_S))
    sent = 0
    for start in range(0, len(data), step):
        sent += await exchange.send_body(data[start : start + step])
        await asyncio.sleep(step / rate)
    return sent


async def _reset(exchange: Exchange, response: Response) -> int:
    await exchange.send_head(response)
    part = await _first_part(response)
    sent = await exchange.send_body(part[: len(part) // 2])
    # Give the client time to read the headers, so the reset comes in the middle of the body
    # rather than before the answer starts.
    await asyncio.sleep(_RESET_DELAY_S)
    exchange.reset()
    return sent


async def _truncated(exchange: Exchange, response: Response) -> int:
    await exchange.send_head(response)
    part = await _first_part(response)
    sent = await exchange.send_body(part[: len(part) // 2])
    exchange.close()
    return sent


def _skew(fault: Fault) -> Intercept:
    offset_s = round(fault.hours * 3600)

    async def send(exchange: Exchange, response: Response) -> int:
        exchange.clock_offset_s = offset_s
        return await exchange.send(skewed(response, offset_s))

    return send


async def _body_parts(response: Response) -> AsyncIterator[bytes]:
    if response.stream is None:
        yield response.body
        return
    async for chunk in response.stream:
        yield chunk


async def _first_part(response: Response) -> bytes:
    """The body, or the first chunk of a streamed one."""
    if response.stream is None:
        return response.body
    return await anext(aiter(response.stream), b"")


_INTERCEPTS: dict[str, Callable[[Fault], Intercept]] = {
    "slow": _slow,
    "reset": lambda _: _reset,
    "truncated": lambda _: _truncated,
    "skew": _skew,
}
