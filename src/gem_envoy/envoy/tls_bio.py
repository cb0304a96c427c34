"""TLS over a plain asyncio TCP transport, through `ssl.MemoryBIO`: one client connection.

Why not `loop.create_connection(ssl=...)`: asyncio's TLS transport (`SSLProtocol`) gives every
connection a 256 KiB read buffer, zero-filled and so resident, and a host watching a thousand
gateways holds a thousand connections (two each while the meter stream is open). Here the
ciphertext waits in OpenSSL's memory BIO, which grows only by what has arrived and is not yet
read. The socket is read into one buffer that all connections of a thread share (an
`asyncio.BufferedProtocol`: a plain protocol would get a fresh bytes object per read, allocated
at 256 KiB and shrunk), and records are decrypted into another, handed straight to the reader.
Measured with 1000 connections kept alive to one TLS 1.3 server (3 KB answers): about 46 KB
resident per connection, of which about 15 KB is the heap left by the server's session tickets
(without them: 30 KB); through aiohttp, about 310 KB.

`TlsConnection` is the protocol of the TCP transport: `open_tls` connects and completes the
handshake; `write` encrypts and sends; `read_into` hands the next decrypted bytes to a
consumer (and says when the peer has closed, with a TLS close_notify or a bare TCP FIN: a
gateway does either); `close` sends close_notify without waiting for the reply; `abort` drops
the socket. Deadlines are the caller's (`asyncio.timeout` around any of these).

Failures are the standard library's: `OSError` (refused, reset, unresolved name) and
`ssl.SSLError` from the TCP connection and the records, `TlsHandshakeFailed` when the
handshake itself cannot complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Callable
from typing import cast

BUFFER_BYTES = 64 * 1024  # each of the two shared buffers
# Ciphertext kept unread before the socket is paused: a reader that lags (the meter stream's
# consumer) must not make us buffer a fast sender without end.
PAUSE_ABOVE_BYTES = 256 * 1024


class TlsHandshakeFailed(Exception):
    """The TCP connection was made, but the TLS handshake could not complete."""

    def __init__(self, reason: str, *, reset: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reset = reset  # the peer reset the TCP connection during the handshake


class _SharedBuffers(threading.local):
    """One receive and one plaintext buffer per thread (an event loop runs on one): each is
    filled and emptied within one synchronous call, so every connection can use the same."""

    def __init__(self) -> None:
        self.received = memoryview(bytearray(BUFFER_BYTES))
        self.plaintext = memoryview(bytearray(BUFFER_BYTES))


_buffers = _SharedBuffers()

Consumer = Callable[[memoryview], None]
"""Takes decrypted bytes: a view of a shared buffer, valid only during the call."""


class TlsConnection(asyncio.BufferedProtocol):
    """One TLS client connection on a plain TCP transport (see the module's docstring)."""

    def __init__(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname
        )
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False  # the peer closed (TCP FIN or TLS close_notify)
        self._lost: Exception | None = None  # why the TCP connection ended, when by an error
        self._paused = False

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return _buffers.received

    def buffer_updated(self, nbytes: int) -> None:
        self._incoming.write(_buffers.received[:nbytes])
        if self._incoming.pending > PAUSE_ABOVE_BYTES and not self._paused:
            self._paused = True
            self._transport_or_raise().pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # nothing more to say: let asyncio close the socket

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        if exc is not None:
            self._lost = exc
        self._wake()

    # -- the connection ----------------------------------------------------------------

    @property
    def peer_certificate(self) -> bytes | None:
        """The certificate the peer presented in the handshake (DER), unverified."""
        return self._tls.getpeercert(binary_form=True)

    async def handshake(self) -> None:
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                if self._lost is not None:
                    raise TlsHandshakeFailed("the connection was reset", reset=True) from None
                if self._eof:
                    raise TlsHandshakeFailed("the connection was closed") from None
                await self._more_data()
            except ssl.SSLError as exc:
                raise TlsHandshakeFailed(exc.reason or type(exc).__name__) from None
            else:
                self._flush()
                return

    def write(self, data: bytes) -> None:
        """Encrypt and send `data`. The socket buffers it: the gateway's requests are small,
        and each waits for its answer, so there is nothing to pace."""
        if self._eof:
            raise self._lost or ConnectionResetError("the peer closed the connection")
        self._tls.write(data)
        self._flush()

    async def read_into(self, consume: Consumer) -> bool:
        """Hand the next decrypted bytes to `consume`, as soon as any are there (in one call
        or more); False, and nothing consumed, once the peer has closed."""
        while True:
            if self._decrypt_into(consume):
                return True
            if self._eof:
                if self._lost is not None:
                    raise self._lost
                return False
            await self._more_data()

    def idle_and_open(self) -> bool:
        """Whether the connection can carry another request: still open, and nothing arrived
        since the last answer (data there would be a reply to nothing, or the peer's
        goodbye)."""
        if self._eof or self._transport is None or self._transport.is_closing():
            return False
        if not self._incoming.pending:
            return True
        try:
            # Unread records may be only TLS housekeeping (a late session ticket).
            return not self._decrypt_into(_refuse_plaintext) and not self._eof
        except (ssl.SSLError, OSError, _UnexpectedPlaintext):
            return False

    def close(self) -> None:
        """Say goodbye (close_notify) and close, without waiting for the peer's reply."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not self._eof:
            # It then wants the peer's close_notify, which we do not wait for.
            with contextlib.suppress(ssl.SSLError):
                self._tls.unwrap()
            self._flush()
        transport.close()

    def abort(self) -> None:
        """Drop the socket at once, whatever is still in flight."""
        if self._transport is not None:
            self._transport.abort()

    # -- inside -------------------------------------------------------------------------

    def _decrypt_into(self, consume: Consumer) -> bool:
        """Hand `consume` the plaintext of the records received so far, record by record;
        whether there was any."""
        plaintext = _buffers.plaintext
        consumed = False
        try:
            while True:
                # Given a buffer, read returns a count (typeshed says bytes).
                count = cast(int, self._tls.read(BUFFER_BYTES, plaintext))
                if not count:
                    self._eof = True  # the peer's close_notify
                    break
                consumed = True
                consume(plaintext[:count])
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            self._eof = True  # the peer's close_notify, reported as an error
        finally:
            self._flush()  # a record may call for an answer of ours (a TLS 1.3 key update)
            self._resume_when_drained()
        return consumed

    def _resume_when_drained(self) -> None:
        if self._paused and self._incoming.pending <= PAUSE_ABOVE_BYTES // 2:
            self._paused = False
            if self._transport is not None and not self._transport.is_closing():
                self._transport.resume_reading()

    async def _more_data(self) -> None:
        """Wait until more ciphertext came, or the connection ended."""
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _flush(self) -> None:
        if self._outgoing.pending:
            self._transport_or_raise().write(self._outgoing.read())

    def _transport_or_raise(self) -> asyncio.Transport:
        if self._transport is None:
            raise ConnectionResetError("not connected")
        return self._transport


class _UnexpectedPlaintext(Exception):
    pass


def _refuse_plaintext(_: memoryview) -> None:
    raise _UnexpectedPlaintext


async def open_tls(
    host: str, port: int, context: ssl.SSLContext, server_hostname: str | None
) -> TlsConnection:
    """A TCP connection to `host`:`port` with its TLS handshake done. The caller checks the
    peer's certificate before writing anything."""
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_connection(
        lambda: TlsConnection(context, server_hostname), host, port
    )
    try:
        await connection.handshake()
    except BaseException:
        connection.abort()
        raise
    return connection
