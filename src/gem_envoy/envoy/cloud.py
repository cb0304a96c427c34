"""Minting gateway tokens from an Enlighten account, the way the field does it (section 4 of
the wire formats).

Flow A: sign in at Enlighten (`login.json`, form-encoded), then ask Entrez for a token for the
gateway serial with the session id (`POST /tokens`). Flow B, used when Entrez refuses with 400
or 403 (as it has for some accounts since July 2026): the same signed-in session asks
Enlighten's own route (`GET /entrez-auth-token?serial_num=`). A token comes back as the raw
JWT text or as JSON `{token, expires_at}`; both are accepted.

`EnlightenSession` keeps the signed-in session between tokens, so that renewing a token does
not sign in again: Enlighten limits the sessions an account may open and blocks accounts that
sign in too often. When and how often to sign in is the caller's policy; this module only
does what it is asked and says, with one error class per case, how it went.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie

from gem_envoy import __version__
from gem_envoy.envoy.cloud_endpoints import (
    LOGIN_PATH,
    SESSION_TOKEN_PATH,
    TIMEOUT_S,
    TOKENS_PATH,
    CloudEndpoints,
)
from gem_envoy.envoy.cloud_errors import (
    CloudRefused,
    CloudUnreachable,
    MfaRequired,
    SerialNotOnAccount,
    SessionExpired,
    TooManySessions,
    WrongCredentials,
)
from gem_envoy.envoy.token import InvalidToken, TokenClaims, read_claims

MAX_ANSWER_BYTES = 1024 * 1024
TOO_MANY_SESSIONS = "too many active sessions"
# Enlighten answers plain scripts with 406 since April 2026; it answers its own web app.
HEADERS = {
    "Accept": "application/json",
    "X-Requested-With": "XMLHttpRequest",
    "User-Agent": f"gem-envoy/{__version__}",
}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    cookies: Mapping[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str = field(repr=False)
    claims: TokenClaims
    route: str  # the path that gave it: TOKENS_PATH (flow A) or SESSION_TOKEN_PATH (flow B)


class EnlightenSession:
    """One account's Enlighten session: sign in once, then fetch tokens for its gateways."""

    def __init__(self, email: str, password: str, endpoints: CloudEndpoints | None = None) -> None:
        self.email = email.strip()
        self._password = password
        self.endpoints = endpoints or CloudEndpoints.from_env()
        self._session_id: str | None = None
        self._cookies: dict[str, str] = {}

    def __repr__(self) -> str:  # neither the address nor the password reaches a log line
        return f"EnlightenSession(signed_in={self.signed_in})"

    def same_credentials(self, email: str, password: str) -> bool:
        return (email.strip(), password) == (self.email, self._password)

    @property
    def signed_in(self) -> bool:
        return self._session_id is not None

    def forget(self) -> None:
        """Drop the session (the next token needs a new sign-in)."""
        self._session_id = None
        self._cookies.clear()

    async def sign_in(self) -> None:
        """`POST login.json`; raises the CloudError that names the refusal."""
        self.forget()
        answer = await self._call(
            "POST",
            self.endpoints.enlighten + LOGIN_PATH,
            data={"user[email]": self.email, "user[password]": self._password},
        )
        _refuse_sessions_flood(answer)
        if answer.status == 401:
            raise WrongCredentials()
        if answer.status != 200:
            raise _refused("Enlighten", "the sign-in", answer)
        document = _json_object(answer, "Enlighten's sign-in")
        session_id = document.get("session_id")
        if isinstance(session_id, str) and session_id:
            self._session_id = session_id
            self._cookies = dict(answer.cookies)
            return
        if document.get("isBlocked") is True:
            raise CloudRefused(
                "Enlighten has blocked sign-ins to this account; sign in once at "
                "enlighten.enphaseenergy.com in a browser to unblock it"
            )
        # MFA: a 200 with no session, a one-time-code nonce instead (section 4.1).
        if (
            document.get("requires_mfa")
            or document.get("success")
            or "login_otp_nonce" in (answer.cookies)
        ):
            raise MfaRequired()
        raise CloudRefused("Enlighten's sign-in answered without a session; try again later")

    async def fetch_token(self, serial: str) -> MintedToken:
        """A token for gateway `serial` with the current session: flow A, then flow B.
        SessionExpired when the session is gone (sign in again)."""
        if self._session_id is None:
            raise SessionExpired()
        answer = await self._call(
            "POST",
            self.endpoints.entrez + TOKENS_PATH,
            json_body={
                "session_id": self._session_id,
                "serial_num": serial,
                "username": self.email,
            },
        )
        _refuse_sessions_flood(answer)
        if answer.status == 200:
            return _minted(answer, TOKENS_PATH)
        if answer.status == 401:
            self.forget()
            raise SessionExpired()
        if answer.status not in (400, 403):
            raise _refused("Entrez", "a token", answer)
        return await self._fetch_with_session(serial)

    async def _fetch_with_session(self, serial: str) -> MintedToken:
        """Flow B: the signed-in session's own token route."""
        answer = await self._call(
            "GET",
            self.endpoints.enlighten + SESSION_TOKEN_PATH,
            params={"serial_num": serial},
            cookies=self._cookies,
        )
        _refuse_sessions_flood(answer)
        if answer.status == 200:
            return _minted(answer, SESSION_TOKEN_PATH)
        if answer.status == 401:
            self.forget()
            raise SessionExpired()
        if answer.status in (403, 404):
            raise SerialNotOnAccount(serial)
        raise _refused("Enlighten", "a token", answer)

    async def mint(self, serial: str) -> MintedToken:
        """Sign in if needed, then fetch a token; one new sign-in if the session lapsed. For
        one-off use (`gem-envoy token mint`); the driver paces its sign-ins itself."""
        if not self.signed_in:
            await self.sign_in()
        try:
            return await self.fetch_token(serial)
        except SessionExpired:
            await self.sign_in()
            return await self.fetch_token(serial)

    async def _call(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json_body: object = None,
        params: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> Answer:
        headers = dict(HEADERS)
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        import aiohttp  # here: only a call to the cloud needs it (see EnvoyClient.connect_to)

        connector = aiohttp.TCPConnector(ssl=self.endpoints.tls())
        try:
            async with (
                aiohttp.ClientSession(
                    connector=connector,
                    cookie_jar=aiohttp.DummyCookieJar(),  # cookies are ours to send (above)
                    timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
                    trust_env=False,
                ) as session,
                session.request(
                    method,
                    url,
                    data=data,
                    json=json_body,
                    params=params,
                    headers=headers,
                    allow_redirects=False,
                ) as reply,
            ):
                body = await reply.content.read(MAX_ANSWER_BYTES)
                return Answer(reply.status, body, _cookies(reply.headers.getall("Set-Cookie", ())))
        except TimeoutError:
            raise CloudUnreachable(
                f"cannot reach Enphase's cloud: {_site(url)} did not answer within {TIMEOUT_S:g} s"
            ) from None
        except aiohttp.ClientConnectorCertificateError:
            raise CloudUnreachable(
                f"cannot reach Enphase's cloud: the certificate of {_site(url)} is not trusted"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise CloudUnreachable(
                f"cannot reach Enphase's cloud: {_site(url)} ({type(exc).__name__})"
            ) from None


def _site(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _cookies(headers: tuple[str, ...] | list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        found.update({name: morsel.value for name, morsel in jar.items()})
    return found


def _refuse_sessions_flood(answer: Answer) -> None:
    # Enlighten's status for this case is not established, its words are (section 4.1): they
    # are looked for in any answer, a 2xx included.
    if TOO_MANY_SESSIONS in answer.text.lower():
        raise TooManySessions()


def _refused(service: str, what: str, answer: Answer) -> CloudUnreachable | CloudRefused:
    if answer.status >= 500:
        return CloudUnreachable(
            f"cannot reach Enphase's cloud: {service} is unavailable (HTTP {answer.status})"
        )
    return CloudRefused(f"{service} refused {what} (HTTP {answer.status}); try again later")


def _json_object(answer: Answer, what: str) -> dict[str, object]:
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CloudRefused(f"{what} answered with something that is not JSON")
    return document


def _minted(answer: Answer, route: str) -> MintedToken:
    """The token of a 200: the raw JWT text, or JSON with `token` (or its other names)."""
    text = answer.text.strip()
    if text.startswith("{"):
        document = _json_object(answer, route)
        found = next(
            (document[k] for k in ("token", "auth_token", "access_token") if k in document),
            None,
        )
        text = found.strip() if isinstance(found, str) else ""
    try:
        claims = read_claims(text)
    except InvalidToken:
        raise CloudRefused(f"{route} answered with something that is not a token") from None
    return MintedToken(text, claims, route)
