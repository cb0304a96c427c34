"""The web page: plain HTML, CSS and JS files served by the host at `/`, beside the API.

The page is a client of the REST API and nothing more: it signs in with `POST /api/token`,
reads with the same routes as any other client and listens to `/api/events`. The files are
public (they hold no data); everything they show comes from the API, behind the token.
Nothing is fetched from anywhere else: the Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"

# Only this host, no inline code, no frames: a page that cannot load or leak anything else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    # Revalidated on every load (cheap: ETag and 304), so an upgraded host serves its new page.
    (b"cache-control", b"no-cache"),
)


class _SecurityHeaders:
    """Adds `HEADERS` to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = [*kept, *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WebMount(Mount):
    """A mount at `/` that never claims a path under `/api`.

    Starlette prefers a full match over a partial one, so a plain catch-all mount would
    turn the API's own 404 and 405 answers into the static files' 404. Declining `/api`
    paths leaves them entirely to the API's routes and error handlers.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = str(scope.get("path", ""))
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def web_mount(directory: Path = STATIC_DIR) -> WebMount:
    """The page's files at `/` (with `index.html` for `/`); add it after the API's routes."""
    files = StaticFiles(directory=directory, html=True)
    return WebMount("/", app=_SecurityHeaders(files), name="web")
