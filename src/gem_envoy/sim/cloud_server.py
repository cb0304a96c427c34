"""The simulated cloud's HTTPS listener, beside the gateway's (see `cloud`).

It verifies as a real cloud does: its certificate is signed by a CA of its own, which
`ca_pem` holds for clients to trust (``--cloud-ca-file``). While the ``down`` behaviour is on,
every connection is dropped as soon as it is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from .cloud import Cloud
from .cloud_tls import make_cloud_tls
from .http import close_writer, serve_connection

HANDSHAKE_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0


class CloudServer:
    def __init__(self, cloud: Cloud, host: str) -> None:
        self.cloud = cloud
        self.host = host
        tls = make_cloud_tls(host)
        self._context = tls.context
        self.ca_pem = tls.ca_pem
        self._listener: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    async def start(self, port: int) -> None:
        self._listener = await asyncio.start_server(
            self._on_connect, self.host, port, reuse_address=True
        )
        self.port = self._listener.sockets[0].getsockname()[1]

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            if self.cloud.behaviour.down:
                self.cloud.counters.connections_dropped += 1
                writer.transport.abort()
                return
            await writer.start_tls(self._context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
            await serve_connection(reader, writer, self.cloud.handle, IDLE_TIMEOUT_S)
        except (ssl.SSLError, OSError, TimeoutError):
            await close_writer(writer)
        except asyncio.CancelledError:
            pass  # only `close` cancels these; ending normally spares the stream's callback
        finally:
            if task is not None:
                self._connections.discard(task)
