"""Answer only requests addressed to this host by a name it knows: a defence against DNS
rebinding, where a web page from elsewhere points its own name at 127.0.0.1 or at this
machine's LAN address and then talks to the API as if it were the same site.

The browser still sends the attacker's name in `Host`, so requests whose `Host` is not on the
list get 400 before anything else runs (the trailing-slash redirect included, which would
otherwise send the browser back to that name). The list: the listen address; `localhost`;
`127.0.0.1` and `::1` when listening on loopback; any IP address when listening on every
interface (a rebinding page arrives with a name, never an address, and the machine's own
addresses are not known in advance); and the names the operator adds (`--allowed-host`).

Starlette's TrustedHostMiddleware does the same check, but answers in plain text, without
saying how to fix it, and knows nothing of listen addresses; this is that check with the
API's `{"error": ...}` answer.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_NAMES = ("localhost",)
LOOPBACK_NAMES = ("127.0.0.1", "::1")
WILDCARD_LISTEN = ("", "0.0.0.0", "::")


def host_name(text: str) -> str | None:
    """The name or address of a `Host` header (or of `--allowed-host`), without port or
    brackets, lowercased; None when it is not one."""
    if _is_address(text):  # a bare IPv6 address has colons that are not a port
        return str(ipaddress.ip_address(text))
    if not text or any(c in text for c in "/?#@\\ \t"):
        return None
    try:
        parts = urlsplit("//" + text)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return None
    return parts.hostname or None


class AllowedHosts:
    """The names a server listening on `listen_host` answers to."""

    def __init__(self, listen_host: str, extra: Iterable[str] = ()) -> None:
        self.any_address = listen_host in WILDCARD_LISTEN
        names = {*LOCAL_NAMES}
        listen = host_name(listen_host) if not self.any_address else None
        if listen is not None:
            names.add(listen)
            if _is_loopback(listen):
                names.update(LOOPBACK_NAMES)
        for name in extra:
            checked = host_name(name)
            if checked is None:
                raise ValueError(f"not a host name or address: {name!r}")
            names.add(checked)
        self.names = frozenset(names)

    def allows(self, name: str) -> bool:
        return name in self.names or (self.any_address and _is_address(name))


class AllowedHostsMiddleware:
    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the API has no websockets; lifespan has no headers
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope.get("headers", ()) if k == b"host"]
        name = host_name(values[0].decode("latin-1")) if len(values) == 1 else None
        if name is not None and self.allowed.allows(name):
            await self.app(scope, receive, send)
            return
        if name is None:
            message = "the request needs one valid Host header"
        else:
            # The name is not repeated: it came from whoever sent the request.
            message = (
                "this host does not answer to the name in the Host header; its operator "
                "can add the name with `gem-envoy run --allowed-host NAME`"
            )
        await _refuse(message, send)


async def _refuse(message: str, send: Send) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
