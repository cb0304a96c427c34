"""The drivers' own pages as the host serves them, without a browser: every file a page needs
is there, served under /drivers/<name>/ with the page's policy, loads nothing from afar, and
takes from the host's page only files that exist."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.api import create_app
from gem_envoy.host.contract import DriverWeb
from gem_envoy.host.service import Host
from gem_envoy.host.users import USER
from gem_envoy.host.web import CSP, STATIC_DIR, driver_url
from tests.web.test_static import REMOTE

# ES module imports, static and dynamic, relative ("./x.js") or from the host ("/js/x.js"),
# and files a module finds beside itself with new URL("./x.css", import.meta.url).
IMPORT = re.compile(
    r"""(?:^|\s)(?:import|from)\s*(?:[\w*{}\s,]+from\s*)?["']((?:\.{1,2})?/[^"']+)["']"""
)
BESIDE = re.compile(r"""new URL\(\s*["'](\.{1,2}/[^"']+)["']\s*,\s*import\.meta\.url\s*\)""")
WITH_PAGES = sorted((name, web) for name, d in DRIVERS.items() if (web := d.web()) is not None)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    host = await Host.open(tmp_path / "gem.db", DRIVERS, polling=False)
    try:
        context = host.api_context()
        token, _ = context.sessions.create("reader", USER)
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            client.headers["Authorization"] = f"Bearer {token}"
            yield client
    finally:
        await host.close()


def reachable(directory: Path, modules: list[str]) -> tuple[set[Path], set[str]]:
    """The driver's files reachable from its page modules, and the host files they import."""
    seen: set[Path] = set()
    from_host: set[str] = set()
    todo = [(directory / m).resolve() for m in modules]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        assert path.is_file(), f"{path} is referred to but missing"
        if path.suffix != ".js":
            continue
        text = path.read_text(encoding="utf-8")
        for name in IMPORT.findall(text) + BESIDE.findall(text):
            if name.startswith("/"):
                from_host.add(name)
            else:
                todo.append((path.parent / name).resolve())
    return seen, from_host


def test_some_driver_has_pages() -> None:
    assert WITH_PAGES, "the enphase_envoy driver ships the solar pages"


@pytest.mark.parametrize(("name", "web"), WITH_PAGES, ids=[n for n, _ in WITH_PAGES])
async def test_every_file_of_a_drivers_pages_is_served_and_used(
    client: httpx.AsyncClient, name: str, web: DriverWeb
) -> None:
    folder = web.directory.resolve()
    files, from_host = reachable(folder, [p.module for p in web.pages])
    assert any(f.suffix == ".css" for f in files), "the pages' stylesheet is loaded"
    for path in files:
        url = driver_url(name, path.relative_to(folder).as_posix())
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-security-policy"] == CSP, url
        kind = {".js": "javascript", ".css": "text/css"}
        assert kind[path.suffix] in answer.headers["content-type"], url
        assert not REMOTE.search(path.read_text(encoding="utf-8")), f"{url} loads from afar"
    # Nothing in the folder is left unused (a stale file would still be shipped).
    shipped = {p.resolve() for p in folder.rglob("*") if p.is_file()}
    assert shipped == files, shipped - files
    # What the pages take from the host's page are its generic helpers, which exist.
    for url in from_host:
        assert url.startswith("/js/"), url
        assert (STATIC_DIR / url.lstrip("/")).is_file(), url
        assert (await client.get(url)).status_code == 200, url


async def test_the_api_names_each_page_at_the_url_of_its_module(
    client: httpx.AsyncClient,
) -> None:
    for name, web in WITH_PAGES:
        pages = (await client.get(f"/api/drivers/{name}")).json()["pages"]
        assert [p["route"] for p in pages] == [p.route for p in web.pages]
        for page in pages:
            module = await client.get(page["module"])
            assert module.status_code == 200, page
            assert "export function mount(" in module.text, page
