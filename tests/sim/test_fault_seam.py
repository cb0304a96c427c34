"""The seam a fault layer will use: wrapping the gateway handler, misbehaving on the exchange."""

from __future__ import annotations

import httpx
import pytest

from gem_envoy.sim import SimOptions, start_simulator
from gem_envoy.sim.http import Exchange, Handler, Request, Response

from .helpers import NOON, client, get_stats


def truncate_info(inner: Handler) -> Handler:
    """Promise 100 bytes of /info, send 10, hang up; pass everything else through."""

    async def handle(request: Request, exchange: Exchange) -> None:
        if request.path != "/info":
            await inner(request, exchange)
            return
        await exchange.send_head(Response(200, b"x" * 100, "text/xml"))
        await exchange.send_raw(b"x" * 10)
        exchange.close()

    return handle


async def test_a_wrapper_can_truncate_an_answer() -> None:
    options = SimOptions(start_time=NOON, utc_offset_s=0)
    server = await start_simulator(options, wrap=truncate_info)
    try:
        async with client(server) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/info")
            assert (await http.get("/info.xml")).status_code == 200
            stats = await get_stats(http)  # /__sim/* never goes through the wrapper
        assert stats["requests"] == {"/info.xml": 1}
        assert stats["tls_handshakes"] == 2
    finally:
        await server.close()
