"""Server-sent events (`text/event-stream`), as `/stream/meter` sends them: bytes in, the
`data` of each complete event out, whatever way the bytes were cut into reads.

Only what the gateway's stream needs of the format is kept: `data` lines (one space after the
colon dropped; several joined by a newline), comments and every other field ignored, line
endings `\\n`, `\\r\\n` or a bare `\\r` (also when a `\\r\\n` is split between two reads). An event
that grows past `max_event_bytes` without ending is dropped, not buffered on: a stream that
never ends its event must not take the memory of the host.
"""

from __future__ import annotations

import re

MAX_EVENT_BYTES = 64 * 1024

_EOL = re.compile(rb"\r\n|\r|\n")
_BOM = "\ufeff"


class SseDecoder:
    """Feeds on the stream's bytes; returns the events each read completes."""

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.discarded = 0  # events dropped for being too large
        self._line = bytearray()  # the line read so far (not kept while discarding)
        self._line_length = 0  # its length, counted while discarding too
        self._data: list[str] = []  # the data lines of the event read so far
        self._size = 0  # bytes of the event so far, its partial line included
        self._discarding = False  # inside an oversized event: skip to its blank line
        self._after_cr = False  # the last read ended with \r: a \n that follows is its end
        self._first_line = True

    def feed(self, chunk: bytes) -> list[str]:
        """The data of every event that `chunk` completes, in order."""
        if not chunk:
            return []
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._after_cr = chunk.endswith(b"\r")
        events: list[str] = []
        start = 0
        for end in _EOL.finditer(chunk):
            self._extend(chunk[start : end.start()])
            event = self._end_line()
            if event is not None:
                events.append(event)
            start = end.end()
        self._extend(chunk[start:])
        return events

    def _extend(self, piece: bytes) -> None:
        self._line_length += len(piece)
        if self._discarding or not piece:
            return
        self._line += piece
        if self._size + len(self._line) > self.max_event_bytes:
            self._discard()

    def _discard(self) -> None:
        self.discarded += 1
        self._discarding = True
        self._line.clear()
        self._data.clear()
        self._size = 0

    def _end_line(self) -> str | None:
        """Handle the line just ended; the event's data when it was the blank line ending one."""
        blank = self._line_length == 0
        line = bytes(self._line)
        self._line.clear()
        self._line_length = 0
        if self._discarding:
            self._discarding = not blank  # the oversized event ends at its blank line
            return None
        if blank:
            return self._dispatch()
        text = line.decode("utf-8", errors="replace")
        if self._first_line:
            self._first_line = False
            text = text.removeprefix(_BOM)
        field, colon, value = text.partition(":")
        if field == "data":
            self._data.append(value.removeprefix(" ") if colon else "")
            self._size += len(line) + 1
        return None

    def _dispatch(self) -> str | None:
        if not self._data:
            return None  # comments only, or no data field: nothing to deliver
        event = "\n".join(self._data)
        self._data.clear()
        self._size = 0
        return event
