"""Enphase's cloud, simulated: Enlighten's sign-in and token route, and Entrez's `/tokens`.

Paths and answers follow section 4 of the wire formats (flow A: ``POST /login/login.json``
then ``POST /tokens``; flow B: ``GET /entrez-auth-token?serial_num=``). One handler serves
both services, so ``GEM_ENVOY_ENLIGHTEN_URL`` and ``GEM_ENVOY_ENTREZ_URL`` may name the same
address. Tokens are minted by the gateway's own `TokenIssuer`, so the simulated gateway
accepts them.

Behaviours that tests switch (``--cloud-*`` flags, or ``POST /__sim/cloud`` on the gateway's
port with any of these keys; ``GET /__sim/cloud`` shows them with the counters):

- ``mfa``: sign-ins answer 200 without a session, with a one-time-code nonce cookie.
- ``too_many_sessions``: sign-ins answer 403 "Too many active sessions..".
- ``tokens_400``: ``POST /tokens`` answers 400 (as Entrez has since July 2026): flow B needed.
- ``wrong_serial``: no gateway is on any account.
- ``down``: every connection is dropped at once (the cloud is unreachable).
- ``tokens_json``: ``/tokens`` answers JSON ``{token, expires_at}`` instead of the raw JWT.
- ``token_lifetime_s``: lifetime of minted tokens (null: a year for owners, 12 h for installers).
- ``revoke: true`` (an action, not a state): every token minted so far stops working on the
  gateway, and the gateway forgets its sessions.
- ``forget_sessions: true`` (an action): every Enlighten session ends (a new sign-in is needed).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .auth import INSTALLER, LIFETIME_S, OWNER, USER_TYPES, TokenIssuer
from .http import Exchange, Request, Response, error_response, json_response

YEAR_S = LIFETIME_S[OWNER]
INSTALLER_LIFETIME_S = LIFETIME_S[INSTALLER]
SESSION_COOKIE = "_enlighten_4_session"


@dataclass(frozen=True, slots=True)
class CloudAccount:
    email: str
    password: str = field(repr=False)
    user: str = OWNER

    @classmethod
    def parse(cls, text: str) -> CloudAccount:
        """``EMAIL:PASSWORD[:installer|:owner]``."""
        email, sep, rest = text.partition(":")
        user = OWNER
        head, colon, tail = rest.rpartition(":")
        if colon and tail in USER_TYPES:
            rest, user = head, tail
        if not sep or not email or not rest:
            raise ValueError(f"a cloud account is EMAIL:PASSWORD[:installer], not {email!r}:...")
        return cls(email, rest, user)


@dataclass(slots=True)
class CloudBehaviour:
    mfa: bool = False
    too_many_sessions: bool = False
    tokens_400: bool = False
    wrong_serial: bool = False
    down: bool = False
    tokens_json: bool = False
    token_lifetime_s: int | None = None

    def update(self, body: dict[str, Any]) -> None:
        """Apply a ``POST /__sim/cloud`` body's states; ValueError names a bad key."""
        for key, value in body.items():
            if key in ("revoke", "forget_sessions"):
                continue
            if key == "token_lifetime_s":
                if value is not None and not (
                    isinstance(value, int) and not isinstance(value, bool)
                ):
                    raise ValueError("token_lifetime_s must be a whole number of seconds or null")
                self.token_lifetime_s = value
            elif key in CloudBehaviour.__dataclass_fields__ and isinstance(value, bool):
                setattr(self, key, value)
            else:
                raise ValueError(f"unknown or malformed cloud behaviour {key!r}")


@dataclass(slots=True)
class CloudOptions:
    accounts: tuple[CloudAccount, ...]
    port: int = 0
    """0 = any free port."""
    behaviour: CloudBehaviour = field(default_factory=CloudBehaviour)


@dataclass(slots=True)
class CloudCounters:
    sign_ins: int = 0
    """``login.json`` requests, whatever their answer."""
    sessions_opened: int = 0
    tokens_minted: int = 0
    connections_dropped: int = 0
    """Connections dropped because the cloud is ``down``."""
    requests: Counter[str] = field(default_factory=Counter)


class Cloud:
    """The HTTP side of the simulated Enlighten and Entrez."""

    def __init__(
        self,
        options: CloudOptions,
        issuer: TokenIssuer,
        serials: Iterable[str],
        revoke: Callable[[], None],
    ) -> None:
        self.options = options
        self.behaviour = options.behaviour
        self.accounts = {a.email.lower(): a for a in options.accounts}
        self.issuer = issuer
        self.serials = frozenset(serials)
        self._revoke = revoke
        self._sessions: dict[str, CloudAccount] = {}  # session id -> its account
        self.counters = CloudCounters()

    # -- the control route (served on the gateway's port) -----------------------------------

    def control(self, request: Request) -> Response:
        if request.method == "POST":
            body = _json(request.body)
            if not isinstance(body, dict):
                return error_response(400, "the body must be a JSON object")
            try:
                self.apply(body)
            except ValueError as exc:
                return error_response(400, str(exc))
        elif request.method != "GET":
            return error_response(405)
        return json_response(self.state())

    def apply(self, body: dict[str, Any]) -> None:
        """Switch behaviours and run actions, as ``POST /__sim/cloud`` does."""
        self.behaviour.update(body)
        if body.get("revoke") is True:
            self._revoke()
        if body.get("forget_sessions") is True:
            self._sessions.clear()

    def state(self) -> dict[str, Any]:
        counters = asdict(self.counters)
        counters["requests"] = dict(self.counters.requests)
        return {"behaviour": asdict(self.behaviour), **counters}

    # -- the services ---------------------------------------------------------------------

    async def handle(self, request: Request, exchange: Exchange) -> None:
        self.counters.requests[request.path] += 1
        route = (request.method, request.path)
        if route == ("POST", "/login/login.json"):
            response = self._sign_in(request)
        elif route == ("POST", "/tokens"):
            response = self._entrez_token(request)
        elif route == ("GET", "/entrez-auth-token"):
            response = self._session_token(request)
        else:
            response = error_response(404)
        await exchange.send(response)

    def _sign_in(self, request: Request) -> Response:
        self.counters.sign_ins += 1
        form = parse_qs(request.body.decode("utf-8", "replace"))
        email = (form.get("user[email]") or [""])[0]
        password = (form.get("user[password]") or [""])[0]
        account = self.accounts.get(email.strip().lower())
        if self.behaviour.too_many_sessions:
            return json_response({"message": "Too many active sessions.."}, 403)
        if account is None or not secrets.compare_digest(account.password, password):
            return json_response({"message": "Invalid"}, 401)
        if self.behaviour.mfa:
            nonce = f"login_otp_nonce={secrets.token_hex(16)}; Path=/; Secure; HttpOnly"
            response = json_response({"success": True, "isBlocked": False})
            response.headers.append(("set-cookie", nonce))
            return response
        session_id = secrets.token_hex(16)
        self._sessions[session_id] = account
        self.counters.sessions_opened += 1
        response = json_response(
            {
                "message": "success",
                "session_id": session_id,
                "manager_token": secrets.token_urlsafe(48),
                "is_consumer": account.user == OWNER,
                "system_id": "4200001",
                "redirect_url": "",
            }
        )
        cookie = f"{SESSION_COOKIE}={session_id}; Path=/; Secure; HttpOnly"
        response.headers.append(("set-cookie", cookie))
        return response

    def _entrez_token(self, request: Request) -> Response:
        body = _json(request.body)
        if not isinstance(body, dict):
            return error_response(400, "the body must be JSON")
        if self.behaviour.tokens_400:
            return error_response(400)
        account = self._sessions.get(str(body.get("session_id", "")))
        if account is None or str(body.get("username", "")).lower() != account.email.lower():
            return error_response(401)
        serial = str(body.get("serial_num", ""))
        if not self._owns(serial):
            return error_response(403)
        token, issued, expires = self._mint(account, serial)
        if self.behaviour.tokens_json:
            return json_response({"generation_time": issued, "token": token, "expires_at": expires})
        return Response(200, token.encode(), content_type="text/plain")

    def _session_token(self, request: Request) -> Response:
        session_id = _cookie(request, SESSION_COOKIE)
        account = self._sessions.get(session_id or "")
        if account is None:
            return error_response(401)
        serial = (parse_qs(request.query).get("serial_num") or [""])[0]
        if not self._owns(serial):
            return error_response(403, "the serial is not on this account")
        token, issued, expires = self._mint(account, serial)
        return json_response({"token": token, "generation_time": issued, "expires_at": expires})

    def _owns(self, serial: str) -> bool:
        return serial in self.serials and not self.behaviour.wrong_serial

    def _mint(self, account: CloudAccount, serial: str) -> tuple[str, int, int]:
        lifetime = self.behaviour.token_lifetime_s
        if lifetime is None:
            lifetime = INSTALLER_LIFETIME_S if account.user == INSTALLER else YEAR_S
        issued = int(time.time())
        token = self.issuer.mint(serial, account.user, lifetime, username=account.email)
        self.counters.tokens_minted += 1
        return token, issued, issued + lifetime


def _json(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def _cookie(request: Request, name: str) -> str | None:
    for part in (request.header("cookie") or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None
