"""The web page: plain HTML, CSS and JS files served by the host at `/`, beside the API.

The page is a client of the REST API and nothing more: it signs in with `POST /api/token`,
reads with the same routes as any other client and listens to `/api/events`. The files are
public (they hold no data); everything they show comes from the API, behind the token.
Nothing is fetched from anywhere else: the Content-Security-Policy says so to the browser.

The page itself knows no driver. A driver may ship pages of its own (`Driver.web()`): their
files are served at `/drivers/<driver name>/` with the same headers, and the page adds a tab
for each, loading its module when it is first shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gem_envoy.host.contract import Driver, DriverWeb

STATIC_DIR = Path(__file__).parent / "static"
DRIVERS_PATH = "/drivers"
# A driver's name becomes a path segment of its pages' URLs: nothing that needs escaping.
_URL_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]+")

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


def driver_url(driver: str, file: str = "") -> str:
    """The URL of a file of a driver's pages (of the folder itself without `file`)."""
    return f"{DRIVERS_PATH}/{driver}/{file}"


def driver_mounts(drivers: Mapping[str, type[Driver]]) -> list[Mount]:
    """A mount at /drivers/<name>/ for each driver with pages of its own. Files only: no
    index page and no listing of the folder. Add them before `web_mount()`, which would
    otherwise answer 404 for them."""
    mounts = []
    for name in sorted(drivers):
        web = drivers[name].web()
        if web is None:
            continue
        _check(name, web)
        files = StaticFiles(directory=web.directory)
        mounts.append(Mount(driver_url(name).rstrip("/"), app=_SecurityHeaders(files)))
    return mounts


def _check(name: str, web: DriverWeb) -> None:
    """A driver whose pages could never load is a bug in it: refuse it at start-up rather
    than show a tab that fails."""
    if not _URL_SAFE_NAME.fullmatch(name):
        raise ValueError(f"driver {name!r}: a driver with pages needs a name of [A-Za-z0-9_-]")
    folder = web.directory.resolve()
    for page in web.pages:
        module = (folder / page.module).resolve()
        if not module.is_relative_to(folder) or not module.is_file():
            raise ValueError(f"driver {name!r}: page {page.route!r} has no module {page.module}")
