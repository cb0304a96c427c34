"""The script console: a Python prompt where `await gem.command({...})` works, as in GEM.

The console opens the host's database and runs drivers on demand for commands; it does not
poll, so it can sit beside a running service without doubling the load on any device.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import code
import inspect
import json
import sys
import types
from collections.abc import Mapping
from typing import Any

from gem_envoy.host.console_syntax import as_python
from gem_envoy.host.secrets import is_secure, mask
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor

BANNER = """gem-envoy script console (Python; GEM's JavaScript object syntax works too). Try:
    await gem.command({"device": 1, "action": "get_status"})
    await gem.command({device: 1, action: 'get_status'});
    await gem.devices()          await gem.zones()
    await gem.get_attribute("device", 1, "online")
Ctrl-D to leave."""


class Gem:
    """The `gem` object of the console."""

    def __init__(self, store: Store, supervisor: Supervisor) -> None:
        self._store = store
        self._supervisor = supervisor

    async def command(self, request: Mapping[str, Any]) -> Any:
        """`{"device": id-or-name, "action": ..., "zone": id?, ...args}` -> the result."""
        body = dict(request)
        device = body.pop("device", None)
        action = body.pop("action", None)
        zone = body.pop("zone", None)
        if device is None or not isinstance(action, str):
            raise ValueError('a command needs "device" and "action"')
        return await self._supervisor.command(device, action, body, zone)

    async def devices(self) -> list[dict[str, Any]]:
        return [_row(d) for d in await self._store.list_devices()]

    async def zones(self, device: int | None = None) -> list[dict[str, Any]]:
        return [_row(z) for z in await self._store.list_zones(device)]

    async def get_attribute(self, target_type: str, target_id: int, name: str) -> Any:
        attrs = await self._store.get_attributes(target_type, target_id)
        if name not in attrs:
            return None
        value = attrs[name].value
        return mask(str(value)) if is_secure(name) else value

    async def attributes(self, target_type: str, target_id: int) -> dict[str, Any]:
        attrs = await self._store.get_attributes(target_type, target_id)
        return {n: mask(str(a.value)) if is_secure(n) else a.value for n, a in attrs.items()}


def _row(obj: object) -> dict[str, Any]:
    slots = getattr(obj, "__slots__", ())
    return {name: getattr(obj, name) for name in slots}


class AsyncConsole(code.InteractiveConsole):
    """An interactive console that accepts top-level `await`, run on one event loop."""

    def __init__(self, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        # The code runs with the namespace as its globals: without builtins, even a warning
        # about a coroutine never awaited fails (KeyError: '__builtins__').
        super().__init__({"__builtins__": builtins, **namespace})
        self.loop = loop
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

    def runsource(self, source: str, filename: str = "<input>", symbol: str = "single") -> bool:
        defined = set(self.locals) | set(dir(builtins))
        return super().runsource(as_python(source, defined), filename, symbol)

    def runcode(self, code_obj: types.CodeType) -> None:
        try:
            result = types.FunctionType(code_obj, self.locals)()
            if inspect.iscoroutine(result):
                self.loop.run_until_complete(result)
        except SystemExit:
            raise
        except BaseException as exc:  # shown to the user in one line; the console goes on
            print(f"error: {exc}")


def _show(value: object) -> None:
    """Echo results as JSON, the way the GEM console shows them."""
    if inspect.iscoroutine(value):
        value.close()  # never run: closed now rather than warned about later
        print("hint: that is not done yet: put `await` before it, as in `await gem.devices()`")
        return
    if value is not None:
        print(json.dumps(value, indent=2, default=str))


def run_console(gem: Gem, loop: asyncio.AbstractEventLoop) -> None:
    previous, sys.displayhook = sys.displayhook, _show
    try:
        AsyncConsole({"gem": gem, "json": json}, loop).interact(banner=BANNER, exitmsg="")
    finally:
        sys.displayhook = previous
