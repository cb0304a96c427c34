"""The gateway client: authenticated reads of the IQ Gateway's LAN API, and its one write
(`put_tariff`, the storage settings).

Authentication follows the D7+ flow: the JWT is checked once with `/auth/check_jwt`, which
answers with a `sessionId` cookie; later requests reuse that session (checking a JWT is costly
for the gateway). When a request on a session is refused with 401, the session may simply have
lapsed, so the token is checked once more and the request repeated before reporting.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, TypeVar

from gem_envoy.envoy import parse
from gem_envoy.envoy.errors import (
    AuthRejected,
    BadResponse,
    EnvoyError,
    NotFound,
    NotPermitted,
    UnsupportedFirmware,
    WriteRefused,
)
from gem_envoy.envoy.models import (
    BatteryPower,
    EnsembleInventory,
    EnsembleStatus,
    GatewayInfo,
    Inverter,
    LiveStatus,
    MeterConfig,
    MeterReading,
    ProductionReport,
    SecCtrl,
    StorageSettings,
    Tariff,
    V1Production,
)
from gem_envoy.envoy.paths import (
    CHECK_JWT,
    ENSEMBLE_INVENTORY,
    ENSEMBLE_POWER,
    ENSEMBLE_STATUS,
    INFO,
    INVERTERS,
    LIVEDATA_STATUS,
    LIVEDATA_STREAM,
    METER_READINGS,
    METERS,
    PRODUCTION,
    SECCTRL,
    STREAM_METER,
    TARIFF,
    V1_PRODUCTION,
)
from gem_envoy.envoy.token import TokenClaims, read_claims
from gem_envoy.envoy.transport_protocol import (
    Response,
    StreamingTransport,
    StreamReply,
    Transport,
)

if TYPE_CHECKING:
    from gem_envoy.envoy.stream import MeterStream

T = TypeVar("T")

# `POST /ivp/livedata/stream`: turns the gateway's live status on (for about 15 minutes).
LIVEDATA_ENABLE_BODY = b'{"enable":1}'


def _session_from(reply: Response) -> str | None:
    for header in reply.set_cookie:
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(header)
        except CookieError:
            continue
        if "sessionId" in cookie:
            return cookie["sessionId"].value
    return None


class EnvoyClient:
    """Reads one gateway through a `Transport`. The real one (`HttpsTransport`) never holds
    more than one request in flight."""

    def __init__(self, transport: Transport, token: str) -> None:
        self._transport = transport
        self._token = token.strip()
        self._session: str | None = None
        self._stream: MeterStream | None = None  # the one open meter stream, if any
        # Set when the gateway answered `/production.json?details=1` with a 404 (a capture
        # without that file): from then on, `production(details=True)` asks without it.
        self._details_refused = False

    @classmethod
    def connect_to(
        cls, host: str, token: str, *, port: int = 443, timeout_s: float = 10.0
    ) -> EnvoyClient:
        # Imported here: the transport brings ssl and httptools, and only a client that
        # talks to a gateway needs them (`gem-envoy device list` does not).
        from gem_envoy.envoy.transport import HttpsTransport

        return cls(HttpsTransport(host, port, timeout_s=timeout_s), token)

    def __repr__(self) -> str:  # never shows the token
        return f"EnvoyClient({self._transport.host}:{self._transport.port})"

    @property
    def claims(self) -> TokenClaims:
        return read_claims(self._token)

    @property
    def session_open(self) -> bool:
        return self._session is not None

    def set_token(self, token: str) -> None:
        """Use a new token from the next request on; the old session is dropped."""
        self._token = token.strip()
        self._session = None

    async def close(self) -> None:
        """Close the meter stream, if one is open, and the transport."""
        if self._stream is not None:
            await self._stream.close()
        await self._transport.close()

    # -- raw access -------------------------------------------------------------------------

    async def fetch(self, path: str) -> bytes:
        """The body of an authenticated GET, or the EnvoyError that says why not."""
        reply = await self._in_session(lambda: self._get(path))
        return self._body_of(reply, path)

    async def _in_session(self, send: Callable[[], Awaitable[Response]]) -> Response:
        """`send` on the session; a 401 on a lapsed session is answered by one fresh session
        and `send` again. `send` reads the session's headers each time it is called."""
        await self._ensure_session()
        reply = await send()
        if reply.status == 401:
            self._session = None
            await self._ensure_session()
            reply = await send()
        return reply

    async def fetch_info(self) -> bytes:
        """`/info` needs no token; it is how a gateway says who it is."""
        reply = await self._transport.get(INFO, {"Accept": "application/xml, text/xml"})
        return self._body_of(reply, INFO)

    async def _ensure_session(self) -> None:
        if self._session is not None:
            return
        read_claims(self._token)  # a token that is not a JWT is reported as such, not as a 401
        reply = await self._transport.get(CHECK_JWT, {"Authorization": f"Bearer {self._token}"})
        if reply.status in (401, 403):
            raise AuthRejected(CHECK_JWT)
        self._body_of(reply, CHECK_JWT)
        # Without a cookie the bearer header alone still works; "" marks the check as done.
        self._session = _session_from(reply) or ""

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if self._session:
            headers["Cookie"] = f"sessionId={self._session}"
        return headers

    async def _get(self, path: str) -> Response:
        return await self._transport.get(path, self._headers())

    async def _put(self, path: str, body: bytes) -> Response:
        headers = self._headers() | {"Content-Type": "application/json"}
        return await self._transport.put(path, headers, body)

    async def _post(self, path: str, body: bytes) -> Response:
        headers = self._headers() | {"Content-Type": "application/json"}
        return await self._transport.post(path, headers, body)

    @staticmethod
    def _body_of(reply: Response, path: str) -> bytes:
        if reply.status == 200:
            return reply.body
        raise status_error(reply.status, path)

    async def _read(self, path: str, parser: Callable[[bytes], T]) -> T:
        return parser(await self.fetch(path))

    # -- typed reads --------------------------------------------------------------------------

    async def info(self) -> GatewayInfo:
        """Who the gateway is. A pre-token (D5) gateway raises UnsupportedFirmware."""
        info = parse.parse_info(await self.fetch_info())
        if not info.uses_tokens:
            raise UnsupportedFirmware(info.firmware)
        return info

    async def production(self, details: bool = False) -> ProductionReport:
        """`/production.json`; with `details`, `?details=1`, whose CT entries carry per-phase
        `lines` (`ProductionEntry.lines_w`). A gateway that answers that with a 404 (a capture
        recorded without it) is asked without it, then and from then on."""
        if details and not self._details_refused:
            path = f"{PRODUCTION}?details=1"
            reply = await self._in_session(lambda: self._get(path))
            if reply.status != 404:
                return parse.parse_production(self._body_of(reply, path))
            self._details_refused = True
        return await self._read(PRODUCTION, parse.parse_production)

    async def v1_production(self) -> V1Production:
        return await self._read(V1_PRODUCTION, parse.parse_v1_production)

    async def inverters(self) -> tuple[Inverter, ...]:
        return await self._read(INVERTERS, parse.parse_inverters)

    async def meters(self) -> tuple[MeterConfig, ...]:
        return await self._read(METERS, parse.parse_meters)

    async def meter_readings(self) -> tuple[MeterReading, ...]:
        return await self._read(METER_READINGS, parse.parse_meter_readings)

    async def ensemble_inventory(self) -> EnsembleInventory:
        return await self._read(ENSEMBLE_INVENTORY, parse.parse_ensemble_inventory)

    async def ensemble_power(self) -> tuple[BatteryPower, ...]:
        return await self._read(ENSEMBLE_POWER, parse.parse_ensemble_power)

    async def secctrl(self) -> SecCtrl:
        return await self._read(SECCTRL, parse.parse_secctrl)

    async def ensemble_status(self) -> EnsembleStatus:
        return await self._read(ENSEMBLE_STATUS, parse.parse_ensemble_status)

    async def storage_settings(self) -> StorageSettings:
        return await self._read(TARIFF, parse.parse_storage_settings)

    async def livedata_status(self) -> LiveStatus:
        """`/ivp/livedata/status`: the power flow in W (its milliwatts converted)."""
        return await self._read(LIVEDATA_STATUS, parse.livedata_status)

    async def tariff(self) -> Tariff:
        """The whole tariff document, every field kept (what a write must send back)."""
        return await self._read(TARIFF, parse.parse_tariff)

    # -- the one write ------------------------------------------------------------------------

    async def put_tariff(self, tariff: Mapping[str, object]) -> None:
        """PUT `{"tariff": tariff}` to `/admin/lib/tariff`. Returns when the gateway answered
        200; its answer is not trusted as the outcome (read the tariff again for that).

        A 401 on a lapsed session is answered by one fresh session and the same PUT again:
        the gateway did not take the first (the body is the whole document, so sending it
        twice changes nothing more). Any other status is a `WriteRefused` quoting the
        gateway, or the usual AuthRejected (401) / NotPermitted (403) / NotFound (404)."""
        body = tariff_body(tariff)
        reply = await self._in_session(lambda: self._put(TARIFF, body))
        if reply.status in (401, 403, 404):
            self._body_of(reply, TARIFF)  # raises the matching error
        if reply.status != 200:
            raise WriteRefused(TARIFF, reply.status, _error_detail(reply))

    async def enable_livedata(self) -> None:
        """POST `{"enable": 1}` to `/ivp/livedata/stream`: the gateway keeps its live status
        fresh (and publishes it) for about 15 minutes. Its answer (`{"sc_stream": ...}`) is
        not read: `livedata_status().stream_enabled` says whether it took. A 401 on a lapsed
        session is retried once on a fresh one, as reads are; then AuthRejected (401),
        NotPermitted (403), NotFound (404) or BadResponse."""
        reply = await self._in_session(lambda: self._post(LIVEDATA_STREAM, LIVEDATA_ENABLE_BODY))
        self._body_of(reply, LIVEDATA_STREAM)

    # -- the meter stream ---------------------------------------------------------------------

    def meter_stream(self, idle_timeout_s: float = 5.0) -> MeterStream:
        """`/stream/meter`, on a connection of its own: `async with` it, then `async for`
        its `LivePower`s (see `stream.MeterStream`). Opening one closes any other this client
        has open, so that never two are. A transport that cannot stream (a capture) raises
        NotFound, as a gateway without the endpoint would."""
        if not isinstance(self._transport, StreamingTransport):
            raise NotFound(STREAM_METER)
        from gem_envoy.envoy.stream import MeterStream

        return MeterStream(self, self._transport, idle_timeout_s)

    async def _claim_stream(self, stream: MeterStream) -> None:
        """`stream` is about to connect: any other open stream of this client closes first."""
        previous, self._stream = self._stream, stream
        if previous is not None and previous is not stream:
            await previous.close()

    def _release_stream(self, stream: MeterStream) -> None:
        if self._stream is stream:
            self._stream = None

    async def _open_meter_stream(self, transport: StreamingTransport) -> StreamReply:
        """The stream's GET, with the session's headers; one fresh session after a 401.
        Returns the answer whatever its status (the stream says what a refusal means)."""
        await self._ensure_session()
        reply = await transport.open_stream(STREAM_METER, self._stream_headers())
        if reply.status == 401:
            await reply.close()
            self._session = None
            await self._ensure_session()
            reply = await transport.open_stream(STREAM_METER, self._stream_headers())
        return reply

    def _stream_headers(self) -> dict[str, str]:
        return self._headers() | {"Accept": "text/event-stream"}


def status_error(status: int, path: str) -> EnvoyError:
    """What a status other than 200 means: AuthRejected (401), NotPermitted (403), NotFound
    (404), else BadResponse."""
    if status == 401:
        return AuthRejected(path)
    if status == 403:
        return NotPermitted(path)
    if status == 404:
        return NotFound(path)
    return BadResponse(f"bad response from {path}: the gateway answered HTTP {status}")


def tariff_body(tariff: Mapping[str, object]) -> bytes:
    """The exact bytes `put_tariff` sends for `tariff`."""
    return json.dumps({"tariff": tariff}, separators=(",", ":"), allow_nan=False).encode()


def _error_detail(reply: Response) -> str:
    """What the gateway said about a refused write, when it said it in JSON."""
    try:
        said = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(said, dict):
        return ""
    parts = [said[k] for k in ("error", "info", "message") if isinstance(said.get(k), str)]
    text = "; ".join(p for p in parts if p)[:200]
    return "".join(c if c.isprintable() else "?" for c in text)  # it goes into logs
