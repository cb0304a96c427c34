"""The script console takes GEM's JavaScript object syntax as well as Python's, and a
command without `await` gets a hint instead of an error from deep inside Python."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Mapping

import pytest

from gem_envoy.host.console import AsyncConsole, _show
from gem_envoy.host.console_syntax import as_python


class EchoGem:
    async def command(self, request: Mapping[str, object]) -> object:
        return {"asked": dict(request)}


@pytest.fixture
def console() -> Iterator[AsyncConsole]:
    loop = asyncio.new_event_loop()
    previous, sys.displayhook = sys.displayhook, _show
    try:
        yield AsyncConsole({"gem": EchoGem()}, loop)
    finally:
        sys.displayhook = previous
        loop.close()


def test_the_product_descriptions_line_runs(
    console: AsyncConsole, capsys: pytest.CaptureFixture[str]
) -> None:
    console.push("await gem.command({device: 1, action: 'get_status', dry_run: true});")
    out = capsys.readouterr().out
    assert '"device": 1' in out and '"action": "get_status"' in out and '"dry_run": true' in out
    console.push('await gem.command({"device": 1, "action": "get_status"})')
    assert '"action": "get_status"' in capsys.readouterr().out


def test_forgetting_await_gives_a_hint(
    console: AsyncConsole, capsys: pytest.CaptureFixture[str]
) -> None:
    console.push("gem.command({device: 1, action: 'get_status'})")
    captured = capsys.readouterr()
    assert "put `await` before it" in captured.out
    assert "__builtins__" not in captured.out + captured.err


def test_python_keeps_its_meaning() -> None:
    defined = {"key", "gem"}
    assert as_python("{key: 1}", defined) == "{key: 1}"
    assert as_python("{k: v for k, v in x}", defined) == "{k: v for k, v in x}"
    assert as_python("f(a[1:2])", defined) == "f(a[1:2])"
    assert as_python("{device: null, on: false}", defined) == "{'device': None, 'on': False}"
    assert as_python("gem.command({", defined) == "gem.command({"  # unfinished: left alone
