"""HTTP/1.1 for the gateway client: a request's bytes out, an answer parsed as it comes in.

Parsing is `httptools` (llhttp, in C), not h11: measured on this project's answers (the
simulator's headers and a 1.6 KB `/production.json`), one answer costs about 3 us through
`httptools.HttpResponseParser` and about 90 us through h11 (which also frames the request),
and the whole point of this client is a cheap poll cycle for a host that watches a thousand
gateways. llhttp does the framing rules (Content-Length, chunked, `Connection: close`, HTTP/1.0);
what it leaves to its caller is here: a body that ends with the connection (no length given),
the body cap, and what counts as a broken answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import httptools

_NO_BODY_STATUSES = frozenset({204, 304})
_SPACE_OR_BREAK = re.compile("[ \r\n]")
_COLON_SPACE_OR_BREAK = re.compile("[: \r\n]")


class MalformedAnswer(Exception):
    """The bytes received are not an HTTP/1.1 answer, or the answer stopped short."""


class BodyTooLarge(Exception):
    """The answer's body is (or announces to be) larger than the cap."""


def request_bytes(
    method: str, path: str, authority: str, headers: Mapping[str, str], body: bytes | None
) -> bytes:
    """The request's head and body, ready to write. A header value with a line break would
    start a header of its own (the token and cookie come from outside): refused, unquoted."""
    if _SPACE_OR_BREAK.search(path):
        raise ValueError("a request path holds a space or a line break")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {authority}"]
    for name, value in headers.items():
        if not name or _COLON_SPACE_OR_BREAK.search(name):
            raise ValueError(f"{_shown(name)!r} is not a header name")
        if "\r" in value or "\n" in value:
            raise ValueError(f"the value of the request header {_shown(name)!r} holds a line break")
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


def _shown(name: str) -> str:
    return name.replace("\r", " ").replace("\n", " ")[:40]


class AnswerParser:
    """One answer, fed the bytes of the connection as they arrive (`feed`, then `feed_eof`
    when the connection ends). The head is there once `head_complete`; the body is either
    gathered whole (`body`, capped at `max_body_bytes`) or, with `streaming`, handed out
    piece by piece (`take_body`)."""

    def __init__(self, max_body_bytes: int | None, *, streaming: bool = False) -> None:
        self.max_body_bytes = max_body_bytes
        self.streaming = streaming
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_complete = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False  # whether any byte of the answer came (a retry decides by it)
        self._pieces: list[bytes] = []
        self._size = 0
        self._until_close = False  # the body has no length: the connection's end ends it
        self._extra = False  # bytes after the answer's end: a reply to nothing
        self._parser = httptools.HttpResponseParser(self)

    # -- fed by the connection ------------------------------------------------------------

    def feed(self, data: bytes | memoryview) -> None:
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if self._extra:
                return  # the answer is whole; the connection will not be reused
            raise MalformedAnswer(str(exc)) from None
        except httptools.HttpParserError as exc:
            if self.complete:
                self._extra = True
                self.keep_alive = False
                return
            raise MalformedAnswer(str(exc)) from None
        if self.max_body_bytes is not None and self._size > self.max_body_bytes:
            raise BodyTooLarge

    def feed_eof(self) -> None:
        """The connection ended: the answer is whole only when its body was to end so."""
        if self.complete:
            return
        if self.head_complete and self._until_close:
            self.complete = True
            return
        raise MalformedAnswer("the connection ended before the answer did")

    # -- what was read -------------------------------------------------------------------

    def header(self, name: bytes) -> str:
        """The first value of a header (lower-case `name`), or ""."""
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return ""

    def header_values(self, name: bytes) -> tuple[str, ...]:
        return tuple(v.decode("latin-1") for k, v in self.headers if k.lower() == name)

    @property
    def body(self) -> bytes:
        return self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)

    def take_body(self) -> bytes:
        """The body bytes parsed since the last call (streaming)."""
        pieces, self._pieces = self._pieces, []
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    # -- httptools' callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            self._extra = True
            self.keep_alive = False
            raise MalformedAnswer("bytes after the answer")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.head_complete = True
        length = self.header(b"content-length")
        chunked = "chunked" in self.header(b"transfer-encoding").lower()
        self._until_close = not (
            length or chunked or self.status in _NO_BODY_STATUSES or self.status < 200
        )
        announced = int(length) if length.isdigit() else 0
        if self.max_body_bytes is not None and announced > self.max_body_bytes:
            self._size = announced  # refused at once, before any of it is read

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self.max_body_bytes is None or self._size <= self.max_body_bytes:
            self._pieces.append(body)

    def on_message_complete(self) -> None:
        if self.status < 200:
            # An interim answer (100 Continue, which we never ask for): the real one follows.
            self.headers.clear()
            self.head_complete = False
            return
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()
