"""`?access_token=` for the event stream, because a browser's EventSource cannot set headers.

The token is moved out of the query string into an `Authorization` header before routing.
The scope is changed in place on purpose (the ASGI spec would have middleware copy it):
the server's access log prints the query string from that same scope object, and a token
must never reach a log.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

PARAMETER = "access_token"


class QueryTokenMiddleware:
    def __init__(self, app: ASGIApp, paths: tuple[str, ...] = ("/api/events",)) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and PARAMETER.encode() in scope.get("query_string", b""):
            self._move_token(scope)
        await self.app(scope, receive, send)

    def _move_token(self, scope: Scope) -> None:
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        tokens = [value for name, value in pairs if name == PARAMETER]
        kept = [(name, value) for name, value in pairs if name != PARAMETER]
        # Stripped on every path so that a token pasted into any URL stays out of the logs,
        # but honoured only where headers are impossible.
        scope["query_string"] = urlencode(kept).encode("latin-1")
        headers = list(scope.get("headers", []))
        has_header = any(name.lower() == b"authorization" for name, _ in headers)
        if scope["path"] in self.paths and tokens and tokens[0].isascii() and not has_header:
            headers.append((b"authorization", b"Bearer " + tokens[0].encode("ascii")))
            scope["headers"] = headers
