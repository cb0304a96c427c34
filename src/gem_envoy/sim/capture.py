"""Capture replay: a folder of recorded responses served as they were recorded.

The layout is described in ``shared/captures/README.md``: one file per endpoint, named after its
URL path (``/`` -> ``_``, a query ``?k=v`` -> ``_k_v``), ``info`` for ``/info`` and
``/info.xml``, and an optional sidecar ``<file>_log.json`` ``{"headers": {...}, "code": N}``
giving the status code (and content type) to answer with. Bodies are served byte for byte.

A file ``stream_meter`` holds a ``/stream/meter`` body as a gateway sent it (``data: {...}``
lines, each event followed by an empty line): the stream replays its events one every
``stream_interval_s``, in a loop, until the client hangs up.

``/admin/lib/tariff`` also takes writes (see `tariff`): a write changes the replayed document in
memory, and later reads answer the changed document (re-encoded, no longer the recorded bytes).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import defusedxml.ElementTree as SafeET

from .event_stream import paced
from .http import HTML_TYPE, JSON_TYPE, XML_TYPE, Request, Response, error_response
from .tariff import RevertDelay, TariffDocument

UNKNOWN_SERIAL = "000000000000"
TARIFF_FILE = "admin_lib_tariff"
STREAM_FILE = "stream_meter"
_SIDECAR = "_log.json"
_SN_PATTERN = re.compile(rb"<sn>\s*([^<\s]+)\s*</sn>")


def file_name(path: str, query: str = "") -> str | None:
    """The capture file that holds ``path?query``, or None for a name that cannot be one."""
    if path in ("/info", "/info.xml"):
        return "info"
    name = path.lstrip("/").replace("/", "_")
    for key, value in parse_qsl(query, keep_blank_values=True):
        name += f"_{key}_{value}"
    if not name or name.startswith(".") or name.endswith(_SIDECAR) or "\\" in name:
        return None
    if "\0" in name or "/" in name:
        return None
    return name


def serial_from_info(body: bytes) -> str:
    """``envoy_info/device/sn`` of an ``/info`` body, or the all-zero serial."""
    try:
        root = SafeET.fromstring(body)
        serial = root.findtext("device/sn")
    except Exception:  # malformed XML in old captures: fall back to a pattern
        match = _SN_PATTERN.search(body)
        serial = match.group(1).decode("ascii", "replace") if match else None
    return serial.strip() if serial and serial.strip() else UNKNOWN_SERIAL


class CaptureSource:
    """Answers gateway endpoints from one capture folder (files read once, then cached)."""

    def __init__(self, folder: Path, stream_interval_s: float = 1.0) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"capture folder not found: {folder}")
        self.folder = folder
        self.stream_interval_s = stream_interval_s
        self._cache: dict[str, Response | None] = {}
        self.tariff: TariffDocument | None = None  # read on first use
        self.revert_delay: RevertDelay | None = None  # the cloud-revert fault, from the server
        info = folder / "info"
        self.serial = serial_from_info(info.read_bytes()) if info.is_file() else UNKNOWN_SERIAL

    def answer(self, request: Request) -> Response | None:
        name = file_name(request.path, request.query)
        if name is None:
            return None
        if name == TARIFF_FILE and not request.query:
            return self._tariff(request)
        if request.method not in ("GET", "HEAD"):
            return error_response(405)
        if name == STREAM_FILE:
            return self._stream()
        return self._recorded(name)

    def _stream(self) -> Response | None:
        """The recorded events, replayed in a loop (None without a recording of any)."""
        path = self.folder / STREAM_FILE
        events = sse_events(path.read_bytes()) if path.is_file() else []
        if not events:
            return None
        stream = paced(itertools.cycle(events).__next__, self.stream_interval_s)
        return Response(200, content_type="text/event-stream", stream=stream)

    def _revert_delay(self) -> float | None:
        return self.revert_delay() if self.revert_delay is not None else None

    def _recorded(self, name: str) -> Response | None:
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _tariff(self, request: Request) -> Response | None:
        """The recorded tariff, until a write changes it (in memory, for this replay only).
        A capture whose tariff is no JSON document (an HTML page, a 401) answers a write as it
        answered the read."""
        if self.tariff is None:
            recorded = self._recorded(TARIFF_FILE)
            self.tariff = _tariff_document(recorded, self._revert_delay)
            if self.tariff is None:
                return recorded if request.method in ("GET", "HEAD", "PUT") else None
        if request.method == "PUT":
            return self.tariff.put(request)
        if request.method not in ("GET", "HEAD"):
            return error_response(405)
        return self.tariff.get()

    def _load(self, name: str) -> Response | None:
        path = self.folder / name
        if path.parent != self.folder or not path.is_file():
            return None
        body = path.read_bytes()
        sidecar = _read_sidecar(self.folder / f"{name}{_SIDECAR}")
        status = sidecar.get("code")
        headers = {str(k).lower(): str(v) for k, v in (sidecar.get("headers") or {}).items()}
        content_type = headers.get("content-type") or _guess_type(name, body)
        return Response(status if isinstance(status, int) else 200, body, content_type)


def sse_events(body: bytes) -> list[bytes]:
    """The events of a server-sent events body, each framed again as ``...\n\n`` (whatever
    line endings the recording has); blocks without a ``data:`` line are left out."""
    lines = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    events: list[bytes] = []
    block: list[bytes] = []
    for line in [*lines, b""]:
        if line:
            block.append(line)
            continue
        if any(part.startswith(b"data:") for part in block):
            events.append(b"\n".join(block) + b"\n\n")
        block = []
    return events


def _tariff_document(recorded: Response | None, revert_delay: RevertDelay) -> TariffDocument | None:
    """The recorded tariff as a document a write can change, if it is one."""
    if recorded is None or recorded.status != 200:
        return None
    try:
        value = json.loads(recorded.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("tariff"), dict):
        return None
    return TariffDocument(value, recorded=recorded, revert_delay=revert_delay)


def _read_sidecar(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_bytes())
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _guess_type(name: str, body: bytes) -> str:
    if name == "info":
        return XML_TYPE
    start = body.lstrip()[:1]
    if start == b"<":
        return HTML_TYPE
    return JSON_TYPE
