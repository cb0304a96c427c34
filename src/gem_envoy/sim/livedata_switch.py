"""The gateway's live-status switch: ``sc_stream``, what turns it on, and what it freezes.

``POST /ivp/livedata/stream`` ``{"enable": 1}`` turns it on for ``timeout_s`` (about 15 minutes
on real gateways, after which clients post again); ``{"enable": 0}`` turns it off; any other
body is a 400 that changes nothing. The timeout runs on real (monotonic) time, whatever the
simulator's speed, so that it expires the same way under a frozen plant.

While it is off, ``/ivp/livedata/status`` shows, by firmware (see the spec, section 3.2):

- ``frozen`` (2023-era firmware): the values of the moment it went off, ``last_update``
  included; before it was ever on, the values of start-up.
- ``refreshing`` (D8.3.5289 was seen doing this): values that keep moving, as when on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .http import Request, Response, error_response, json_response
from .plant import Snapshot

WHEN_DISABLED = ("frozen", "refreshing")
DEFAULT_TIMEOUT_S = 900.0


class LiveDataSwitch:
    """``sc_stream`` of one gateway, and the snapshot live data shows while it is off."""

    def __init__(
        self,
        fresh: Callable[[], Snapshot],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        when_disabled: str = "frozen",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if when_disabled not in WHEN_DISABLED:
            raise ValueError(f"when_disabled must be one of {', '.join(WHEN_DISABLED)}")
        self._fresh = fresh
        self._timeout_s = timeout_s
        self._refreshing = when_disabled == "refreshing"
        self._clock = clock
        self._until: float | None = None
        self._frozen = fresh()
        self._last = self._frozen
        """The latest snapshot shown while on: what freezes when the timeout passes."""

    @property
    def enabled(self) -> bool:
        if self._until is not None and self._clock() >= self._until:
            self._until = None
            self._frozen = self._last
        return self._until is not None

    def view(self) -> tuple[Snapshot, bool]:
        """The snapshot ``/ivp/livedata/status`` shows now, and whether the stream is on."""
        if self.enabled:
            self._last = self._fresh()
            return self._last, True
        return (self._fresh() if self._refreshing else self._frozen), False

    def post(self, request: Request) -> Response:
        """``POST /ivp/livedata/stream``."""
        enable = _enable_value(request.body)
        if enable is None:
            return error_response(400, 'the body must be {"enable": 1} or {"enable": 0}')
        if enable:
            self._until = self._clock() + self._timeout_s
            self._last = self._fresh()
        elif self.enabled:
            self._until = None
            self._frozen = self._fresh()
        return json_response({"sc_stream": "enabled" if enable else "disabled"})


def _enable_value(body: bytes) -> int | None:
    """1 or 0 from a body that is exactly ``{"enable": 1}`` or ``{"enable": 0}``, else None."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or set(value) != {"enable"}:
        return None
    enable = value["enable"]
    if isinstance(enable, bool) or enable not in (0, 1):
        return None
    return int(enable)
