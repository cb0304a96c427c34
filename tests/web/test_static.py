"""The page's files as the host serves them, without a browser: at `/`, complete, strict about
where anything may come from, and never in the way of the API's own answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.host.api import create_app
from gem_envoy.host.service import Host
from gem_envoy.host.web import STATIC_DIR

# What a file refers to: ES module imports, and src / href attributes.
IMPORT = re.compile(
    r"""(?:^|\s)(?:import|from)\s*(?:[\w*{}\s,]+from\s*)?["'](\.{1,2}/[^"']+)["']"""
)
ATTRIBUTE = re.compile(r"""(?:src|href)=["']([^"'#:]+)["']""")
# Anything that would make the browser fetch from another host.
REMOTE = re.compile(
    r"""(?:(?:src|href|action)=["']|url\(\s*["']?|(?:from|import)\s*\(?\s*["'])(?:https?:)?//""",
    re.IGNORECASE,
)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    host = await Host.open(tmp_path / "gem.db", {}, polling=False)
    try:
        transport = httpx.ASGITransport(app=create_app(host.api_context()))
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            yield client
    finally:
        await host.close()


def referenced(path: Path) -> set[Path]:
    text = path.read_text(encoding="utf-8")
    found = IMPORT.findall(text) if path.suffix == ".js" else ATTRIBUTE.findall(text)
    return {(path.parent / name).resolve() for name in found}


def all_files() -> set[Path]:
    """index.html and everything reachable from it."""
    seen: set[Path] = set()
    todo = [STATIC_DIR / "index.html"]
    while todo:
        path = todo.pop().resolve()
        if path in seen:
            continue
        seen.add(path)
        assert path.is_file(), f"{path} is referred to but missing"
        if path.suffix in (".html", ".js"):
            todo.extend(referenced(path))
    return seen


async def test_the_page_is_served_at_the_root_with_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/main.js">' in page.text
    policy = page.headers["content-security-policy"]
    for rule in ("default-src 'none'", "script-src 'self'", "connect-src 'self'"):
        assert rule in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_every_file_the_page_needs_is_served_and_none_is_remote(
    client: httpx.AsyncClient,
) -> None:
    files = all_files()
    assert {"main.js", "api.js", "live.js", "drivers.js", "admin.js", "app.css"} <= {
        f.name for f in files
    }
    for path in files:
        url = "/" + path.relative_to(STATIC_DIR.resolve()).as_posix()
        answer = await client.get(url)
        assert answer.status_code == 200, url
        kind = {".js": "javascript", ".css": "text/css", ".svg": "image/svg", ".html": "html"}
        assert kind[path.suffix] in answer.headers["content-type"], url
        assert not REMOTE.search(path.read_text(encoding="utf-8")), f"{url} loads from afar"
    # Nothing in the folder is left unused (a stale file would still be shipped).
    shipped = {p.resolve() for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert shipped == files, shipped - files


async def test_api_paths_keep_the_apis_own_answers(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/health")).json()["status"] == "ok"
    missing = await client.get("/api/no-such-route")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong_method = await client.get("/api/token")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    assert (await client.get("/api/data/devices")).status_code == 401
    # Outside /api, an unknown file is a plain 404, and no directory is listed.
    assert (await client.get("/nope.js")).status_code == 404
    assert (await client.get("/js/")).status_code == 404
