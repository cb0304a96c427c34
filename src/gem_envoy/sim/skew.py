"""The ``skew`` fault's rewrite: an answer as a gateway whose clock is off would give it.

Rewriting the answer (rather than moving the plant's clock) keeps the plant's physics and
counters untouched, works for capture replays just as well, and lets a skew hit some requests
and not others. What moves: the epoch timestamps the gateway stamps from its own clock (below),
the ``<time>`` of ``/info``, and the Date header (`Exchange.clock_offset_s`). A JSON body that
changes is written again compactly, so a capture's own layout is not kept. Streamed answers
(``/stream/meter``) carry no timestamps and pass unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from .http import Response

TIME_KEYS = frozenset(
    {"readingTime", "lastReportDate", "timestamp", "last_update", "last_rpt_date"}
)
_XML_TIME = re.compile(rb"<time>\s*(\d+)\s*</time>")


def skewed(response: Response, offset_s: int) -> Response:
    """``response`` with its timestamps moved by ``offset_s``."""
    if response.stream is not None or not response.body or response.content_type is None:
        return response
    if "xml" in response.content_type:
        body = _XML_TIME.sub(lambda m: b"<time>%d</time>" % (int(m[1]) + offset_s), response.body)
        return replace(response, body=body)
    if "json" not in response.content_type:
        return response
    try:
        value = json.loads(response.body)
    except ValueError:
        return response
    shifted = _shift(value, offset_s)
    if shifted == value:
        return response
    return replace(response, body=json.dumps(shifted).encode())


def _shift(value: Any, offset_s: int) -> Any:
    if isinstance(value, dict):
        return {
            key: item + offset_s if key in TIME_KEYS and _is_epoch(item) else _shift(item, offset_s)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_shift(item, offset_s) for item in value]
    return value


def _is_epoch(value: Any) -> bool:
    """A timestamp set from the clock: 0 means "never" (an inactive entry) and stays 0."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
