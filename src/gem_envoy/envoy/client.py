"""The gateway client: authenticated reads of the IQ Gateway's LAN API, and its one write
(`put_tariff`, the storage settings).

Authentication follows the D7+ flow: the JWT is checked once with `/auth/check_jwt`, which
answers with a `sessionId` cookie; later requests reuse that session (checking a JWT is costly
for the gateway). When a request on a session is refused with 401, the session may simply have
lapsed, so the token is checked once more and the request repeated before reporting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TypeVar

from gem_envoy.envoy import parse
from gem_envoy.envoy.errors import (
    AuthRejected,
    BadResponse,
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
    METER_READINGS,
    METERS,
    PRODUCTION,
    SECCTRL,
    TARIFF,
    V1_PRODUCTION,
)
from gem_envoy.envoy.token import TokenClaims, read_claims
from gem_envoy.envoy.transport_protocol import Response, Transport

T = TypeVar("T")


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

    @classmethod
    def connect_to(
        cls, host: str, token: str, *, port: int = 443, timeout_s: float = 10.0
    ) -> EnvoyClient:
        # Imported here: aiohttp is most of a command line's start-up, and only a client
        # that talks to a gateway needs it (`gem-envoy device list` does not).
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
        await self._transport.close()

    # -- raw access -------------------------------------------------------------------------

    async def fetch(self, path: str) -> bytes:
        """The body of an authenticated GET, or the EnvoyError that says why not."""
        await self._ensure_session()
        reply = await self._get(path)
        if reply.status == 401:
            self._session = None
            await self._ensure_session()
            reply = await self._get(path)
        return self._body_of(reply, path)

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

    @staticmethod
    def _body_of(reply: Response, path: str) -> bytes:
        if reply.status == 200:
            return reply.body
        if reply.status == 401:
            raise AuthRejected(path)
        if reply.status == 403:
            raise NotPermitted(path)
        if reply.status == 404:
            raise NotFound(path)
        raise BadResponse(f"bad response from {path}: the gateway answered HTTP {reply.status}")

    async def _read(self, path: str, parser: Callable[[bytes], T]) -> T:
        return parser(await self.fetch(path))

    # -- typed reads --------------------------------------------------------------------------

    async def info(self) -> GatewayInfo:
        """Who the gateway is. A pre-token (D5) gateway raises UnsupportedFirmware."""
        info = parse.parse_info(await self.fetch_info())
        if not info.uses_tokens:
            raise UnsupportedFirmware(info.firmware)
        return info

    async def production(self) -> ProductionReport:
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
        await self._ensure_session()
        reply = await self._put(TARIFF, body)
        if reply.status == 401:
            self._session = None
            await self._ensure_session()
            reply = await self._put(TARIFF, body)
        if reply.status in (401, 403, 404):
            self._body_of(reply, TARIFF)  # raises the matching error
        if reply.status != 200:
            raise WriteRefused(TARIFF, reply.status, _error_detail(reply))


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
