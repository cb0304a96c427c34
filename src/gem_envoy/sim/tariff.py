"""The gateway's ``/admin/lib/tariff``: its document, the writes it takes, and the cloud.

``GET`` answers ``{"tariff": ..., "schedule": ...}``. ``PUT`` takes ``{"tariff": {...}}``
(section 1.3 of ``gateway-wire-formats.md``), checks it, keeps the ``tariff`` object exactly as
sent (fields it does not know included) and rebuilds ``schedule`` from its storage settings, as
section 1.4 says the gateway does: ``reserved_soc``, ``very_low_soc``, ``charge_from_grid``,
``operation_mode_sub_type``, ``opt_schedules`` and the mode (``battery_mode``/``batt_mode``),
only the keys this gateway's schedule has, and not the mode while ``opt_schedules`` is true
(the controller then ignores the write, section 1.5). A ``schedule`` in the body is ignored.
It answers 200 with the new document, like a GET.

A malformed body is a 400 whose JSON says what is wrong (the real gateway's words are not
known): not JSON, no ``tariff`` object, no ``storage_settings`` where the gateway has them, an
unknown mode, a reserve outside 0..100, a new reserve below ``very_low_soc``, a non-boolean
``charge_from_grid``.

The cloud: while the ``cloud-revert`` fault is set, every accepted write is undone ``seconds``
later, as Enlighten does to local changes (section 1.5, caveat 2): the storage settings go back
to what they were before the first local write, with ``date`` fields the write did not set.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeGuard

from .http import JSON_TYPE, Request, Response, error_response
from .storage_modes import MODES

Json = dict[str, Any]
Listener = Callable[[Json], None]
RevertDelay = Callable[[], float | None]

_SCHEDULED = ("reserved_soc", "very_low_soc", "charge_from_grid", "operation_mode_sub_type")
_MODE_KEYS = ("battery_mode", "batt_mode")

log = logging.getLogger(__name__)


class WriteError(ValueError):
    """A write the gateway refuses; the message says why."""


def schedule_date(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_s))


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def checked_tariff(body: bytes, current: Json) -> Json:
    """The ``tariff`` object of a PUT body, or WriteError saying what is wrong with it."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WriteError("the body is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("tariff"), dict):
        raise WriteError('the body must be {"tariff": {...}}')
    tariff: Json = value["tariff"]
    for key, kind in (("currency", dict), ("seasons", list)):
        if key in current and not isinstance(tariff.get(key), kind):
            raise WriteError(f"tariff.{key} is missing or malformed")
    settings = tariff.get("storage_settings")
    if "storage_settings" in current or settings is not None:
        if not isinstance(settings, dict):
            raise WriteError("tariff.storage_settings is missing or not an object")
        _check_settings(settings, current.get("storage_settings") or {})
    return tariff


def _check_settings(settings: Json, stored: Json) -> None:
    where = "tariff.storage_settings"
    mode = settings.get("mode")
    if mode is not None and mode not in MODES:
        raise WriteError(f"{where}.mode must be one of {', '.join(MODES)}")
    for key in ("reserved_soc", "very_low_soc"):
        value = settings.get(key)
        if value is not None and not (_is_number(value) and 0 <= value <= 100):
            raise WriteError(f"{where}.{key} must be a number from 0 to 100")
    reserve, very_low = settings.get("reserved_soc"), settings.get("very_low_soc")
    # Gateways have been captured holding a reserve of 0 below a very_low_soc of 5: what is
    # stored stays acceptable; a new reserve below very_low_soc is not.
    changed = reserve != stored.get("reserved_soc")
    if changed and _is_number(reserve) and _is_number(very_low) and reserve < very_low:
        raise WriteError(f"{where}.reserved_soc must not be below very_low_soc ({very_low})")
    for key in ("charge_from_grid", "opt_schedules"):
        if key in settings and not isinstance(settings[key], bool):
            raise WriteError(f"{where}.{key} must be true or false")
    sub_type = settings.get("operation_mode_sub_type")
    if sub_type is not None and not isinstance(sub_type, str):
        raise WriteError(f"{where}.operation_mode_sub_type must be a string")


def rebuilt_schedule(schedule: Json | None, tariff: Json, now: float) -> Json | None:
    """The schedule the gateway derives from a stored tariff (its keys, new values)."""
    if schedule is None:
        return None
    rebuilt = copy.deepcopy(schedule)
    settings = tariff.get("storage_settings") or {}
    for key in _SCHEDULED:
        if key in rebuilt and key in settings:
            rebuilt[key] = settings[key]
    if "opt_schedules" in rebuilt and "opt_schedules" in settings:
        rebuilt["opt_schedules"] = settings["opt_schedules"]
    if not settings.get("opt_schedules") and settings.get("mode") is not None:
        for key in _MODE_KEYS:
            if key in rebuilt:
                rebuilt[key] = settings["mode"]
    if "date" in rebuilt:
        rebuilt["date"] = schedule_date(now)
    return rebuilt


class TariffDocument:
    """One gateway's tariff document: served, written, and reverted by the cloud."""

    def __init__(
        self,
        document: Json,
        *,
        recorded: Response | None = None,
        clock: Callable[[], float] = time.time,
        revert_delay: RevertDelay | None = None,
    ) -> None:
        self.tariff: Json = copy.deepcopy(document["tariff"])
        self.schedule: Json | None = copy.deepcopy(document.get("schedule"))
        # Until the first write a replay answers the recorded bytes, byte for byte.
        self._recorded = recorded
        self._clock = clock
        self.listeners: list[Listener] = []
        # Seconds until the cloud undoes a write, while the cloud-revert fault is set.
        self.revert_delay = revert_delay
        self._cloud_copy: Json | None = None
        self._reverts: list[asyncio.TimerHandle] = []

    def document(self) -> Json:
        document: Json = {"tariff": self.tariff}
        if self.schedule is not None:
            document["schedule"] = self.schedule
        return document

    def get(self) -> Response:
        if self._recorded is not None:
            return self._recorded
        return Response(200, json.dumps(self.document()).encode(), JSON_TYPE)

    def put(self, request: Request) -> Response:
        try:
            tariff = checked_tariff(request.body, self.tariff)
        except WriteError as exc:
            return error_response(400, str(exc))
        before = copy.deepcopy(self.tariff.get("storage_settings"))
        self._store(tariff)
        delay = self.revert_delay() if self.revert_delay is not None else None
        if delay is not None and before is not None:
            if self._cloud_copy is None:  # the cloud holds what was there before local writes
                self._cloud_copy = before
            self._reverts.append(asyncio.get_running_loop().call_later(delay, self.cloud_push))
        return Response(200, json.dumps(self.document()).encode(), JSON_TYPE)

    def cloud_push(self) -> None:
        """Enlighten pushes its own storage settings back over the local ones."""
        if self._cloud_copy is None:
            return
        stamp = str(int(self._clock()))
        tariff = copy.deepcopy(self.tariff)
        settings = copy.deepcopy(self._cloud_copy)
        if "date" in settings:
            settings["date"] = stamp
        tariff["storage_settings"] = settings
        if "date" in tariff:
            tariff["date"] = stamp
        self._cloud_copy = None
        log.info("simulator: the cloud reverted the storage settings to %s", settings)
        self._store(tariff)

    def cancel(self) -> None:
        """Forget pending cloud pushes (the simulator is closing)."""
        for handle in self._reverts:
            handle.cancel()
        self._reverts.clear()

    def _store(self, tariff: Json) -> None:
        self.tariff = tariff
        self.schedule = rebuilt_schedule(self.schedule, tariff, self._clock())
        self._recorded = None
        for listener in self.listeners:
            listener(tariff)
