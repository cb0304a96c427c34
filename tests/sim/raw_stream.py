"""A raw HTTPS reader for ``/stream/meter``: each chunk of the chunked body as it was written.

httpx and aiohttp hide how a body was cut into writes; the stream faults are about exactly
that, so the tests read the chunked framing themselves over a TLS socket to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
from types import TracebackType
from typing import Any

from gem_envoy.sim import SimServer

STREAM = "/stream/meter"
_LINE_END = re.compile(rb"\r\n|\r|\n")


def insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class RawStream:
    """One GET on its own connection; `chunk` returns the body's chunks one by one."""

    def __init__(self, server: SimServer, token: str, path: str = STREAM) -> None:
        self.server = server
        self.token = token
        self.path = path
        self.status = 0
        self.headers: dict[str, str] = {}
        self.received = 0
        """Body bytes read so far (chunk framing excluded)."""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> RawStream:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.server.port, ssl=insecure_context()
        )
        self._reader, self._writer = reader, writer
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                self.headers[name.strip().lower()] = value.strip()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), 2)
            self._writer = None

    async def chunk(self, timeout_s: float = 2.0) -> bytes | None:
        """The next chunk's data; None when the connection ends (cleanly or not).
        TimeoutError when nothing comes within ``timeout_s``."""
        assert self._reader is not None
        async with asyncio.timeout(timeout_s):
            try:
                size_line = await self._reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                data = await self._reader.readexactly(size + 2)
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                return None
        if size == 0:
            return None
        self.received += size
        return data[:-2]

    async def chunks(self, count: int, timeout_s: float = 2.0) -> list[bytes]:
        """``count`` chunks (fewer if the connection ends first)."""
        found: list[bytes] = []
        while len(found) < count:
            data = await self.chunk(timeout_s)
            if data is None:
                break
            found.append(data)
        return found

    async def drain(self, quiet_s: float, limit: int = 50) -> list[bytes]:
        """The chunks that come until none has come for ``quiet_s`` (or the end, or
        ``limit`` chunks)."""
        found: list[bytes] = []
        while len(found) < limit:
            try:
                data = await self.chunk(quiet_s)
            except TimeoutError:
                return found
            if data is None:
                return found
            found.append(data)
        return found


def sse_events(body: bytes) -> list[bytes]:
    """The ``data`` of each complete event in ``body``, whatever its line endings (an event
    ends at an empty line; a trailing incomplete one is left out)."""
    lines = _LINE_END.split(body)
    events: list[bytes] = []
    data: list[bytes] = []
    for line in lines[:-1]:  # the last piece has no line end yet
        if not line:
            if data:
                events.append(b"\n".join(data))
            data = []
        elif line.startswith(b"data:"):
            data.append(line.removeprefix(b"data:").removeprefix(b" "))
    return events


def parse(event: bytes) -> dict[str, Any] | None:
    """An event's JSON object, or None for garbage."""
    try:
        value = json.loads(event)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
