"""Devices at the gateway's address that misbehave in ways no fault of the simulator does.

Each wraps the simulator's handler (the seam `tests/sim/test_fault_seam.py` shows), so it
speaks TLS and HTTP like a gateway. `EchoingGateway` echoes the token it was sent back in
places the driver stores, logs or answers (the serial and firmware of /info, an error body);
nothing real does this on purpose, anything that takes over the gateway's address could.
`SpikingGateway` sends one absurd lifetime counter, as a misread meter might.
`RedirectingGateway` points the client elsewhere, which it must never follow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from gem_envoy.sim.http import Exchange, Handler, Request, Response, json_response
from gem_envoy.sim.payloads import info_xml


@dataclass
class EchoingGateway:
    token: str = ""
    # "echo": a D7 gateway whose serial, firmware and error bodies quote the token;
    # "d5": an old-firmware answer whose firmware string quotes it (the driver refuses it).
    mode: str = "echo"

    def info(self) -> bytes:
        if self.mode == "d5":
            body = info_xml("122233", f"D5.0.34 {self.token}", 0)
            return body.replace(b"<web-tokens>true", b"<web-tokens>false")
        return info_xml(f"SN-{self.token}", f"D7.6.175 build {self.token}", 0)

    def wrap(self, inner: Handler) -> Handler:
        async def handle(request: Request, exchange: Exchange) -> None:
            if request.path in ("/info", "/info.xml"):
                await exchange.send(Response(200, self.info(), "text/xml"))
            elif request.path == "/production.json" and self.mode == "echo":
                error = {"error": f"expired session; token {self.token}", "info": self.token}
                await exchange.send(json_response(error))
            else:
                await inner(request, exchange)

        return handle


@dataclass
class SpikingGateway:
    """Answers one read of `path` (the `spike_at`-th) with an absurd lifetime counter:
    /production.json's `whLifetime`, or the CTs' `actEnergyDlvd` in /ivp/meters/readings
    (where a CT plant's counters move between its /production.json reads)."""

    spike_at: int = 2
    lifetime_wh: float = 9e18
    served: int = 0
    path: str = "/production.json"

    def wrap(self, inner: Handler) -> Handler:
        async def handle(request: Request, exchange: Exchange) -> None:
            if request.path == self.path:
                self.served += 1
                if self.served == self.spike_at:
                    exchange.intercept = self._spiked
            await inner(request, exchange)

        return handle

    async def _spiked(self, exchange: Exchange, response: Response) -> int:
        document = json.loads(response.body)
        if isinstance(document, list):  # the CTs' readings
            for reading in document:
                reading["actEnergyDlvd"] = self.lifetime_wh
        else:
            for entry in document.get("production", []):
                if "whLifetime" in entry:
                    entry["whLifetime"] = self.lifetime_wh
        return await exchange.send(replace(response, body=json.dumps(document).encode()))


@dataclass
class RedirectingGateway:
    """Answers `path` with a redirect to `target` (another host, another scheme)."""

    target: str = ""
    status: int = 302
    path: str = "/production.json"

    def wrap(self, inner: Handler) -> Handler:
        async def handle(request: Request, exchange: Exchange) -> None:
            if request.path == self.path:
                moved = Response(self.status, b"", None, [("location", self.target)])
                await exchange.send(moved)
            else:
                await inner(request, exchange)

        return handle
