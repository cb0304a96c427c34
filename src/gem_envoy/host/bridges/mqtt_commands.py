"""Commands that arrive over MQTT: checked against the level the host allows, run through
the supervisor like the API's, answered as JSON with any device secret masked.

The broker has no users the host knows, so the level (`--mqtt-commands`) is the only check
here: `read` runs the commands that change nothing, on devices not marked elevated; `all`
runs every command, and the broker's ACL decides who may publish them.
"""

from __future__ import annotations

import asyncio
import json
import logging

from gem_envoy.host.bridges.mqtt_options import CommandLevel
from gem_envoy.host.contract import CommandRefused, DeviceError, Json
from gem_envoy.host.redact import redact, redact_text, stored_secrets
from gem_envoy.host.store import Device, Store, StoreError
from gem_envoy.host.supervisor import Supervisor

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 120.0  # as the API's: a device that never answers does not hold a slot
MAX_REQUEST_BYTES = 64 * 1024
# Fields of a request that are not arguments of the command.
_FIELDS = ("action", "zone", "request_id")


def _refused(message: str) -> dict[str, Json]:
    return {"ok": False, "error": message}


class CommandGate:
    def __init__(self, store: Store, supervisor: Supervisor, level: CommandLevel) -> None:
        self._store = store
        self._supervisor = supervisor
        self.level = level

    async def answer(self, device: Device, payload: bytes) -> dict[str, Json]:
        """The answer to one request: {"ok": true, "result": ...} or {"ok": false, "error"};
        with the request's own "request_id" and "action" when it had them."""
        request = _request(payload)
        if isinstance(request, str):
            return _refused(request)
        answer = await self._run(device, request)
        echo: dict[str, Json] = {k: request[k] for k in ("request_id", "action") if k in request}
        return {**echo, **answer}

    async def _run(self, device: Device, request: dict[str, Json]) -> dict[str, Json]:
        action = request.get("action")
        if not isinstance(action, str) or not action:
            return _refused('a command needs "action", the name of one of its commands')
        secrets = await self._secrets(device)
        try:
            spec = self._supervisor.command_spec(device, action)
            if self.level != "all" and (spec.writes or device.elevated):
                why = "changes the device" if spec.writes else "is to a device marked elevated"
                return _refused(f"{action} {why}: this host runs such commands from MQTT only "
                                f"with --mqtt-commands all")  # fmt: skip
            zone = await self._zone(device, request.get("zone"))
            args = {k: v for k, v in request.items() if k not in _FIELDS}
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                result = await self._supervisor.command(device.id, action, args, zone)
        except (CommandRefused, StoreError) as exc:
            return _refused(redact_text(str(exc), secrets))
        except TimeoutError:
            return _refused("the device did not answer")
        except DeviceError as exc:  # the device's trouble: its cause, one line, masked first
            cause = (redact_text(exc.message, secrets).splitlines() or ["the device failed"])[0]
            log.warning("device %s: MQTT command %r failed: %s", device.name, action, cause)
            return _refused(cause[:300])
        except Exception:  # a bug in the driver: the traceback to the log, not the broker
            log.exception("device %s: MQTT command %r raised", device.name, action)
            return _refused("internal error")
        try:
            json.dumps(result, allow_nan=False)
        except (TypeError, ValueError):
            return _refused("the device answered invalid JSON")
        return {"ok": True, "result": redact(result, secrets)}

    async def _zone(self, device: Device, ref: Json) -> int | None:
        """The zone a request names, by id or name; CommandRefused if not the device's."""
        if ref is None:
            return None
        if isinstance(ref, bool) or not isinstance(ref, int | str):
            raise CommandRefused('"zone" is a zone\'s id or name')
        for zone in await self._store.list_zones(device.id):
            if ref in (zone.id, zone.name):
                return zone.id
        raise CommandRefused(f"device {device.name} has no zone {ref!r}")

    async def _secrets(self, device: Device) -> set[str]:
        found = stored_secrets(await self._store.get_attributes("device", device.id))
        for zone in await self._store.list_zones(device.id):
            found |= stored_secrets(await self._store.get_attributes("zone", zone.id))
        return found


def _request(payload: bytes) -> dict[str, Json] | str:
    """The request as a JSON object, or why it is not one."""
    if len(payload) > MAX_REQUEST_BYTES:
        return f"a command must be at most {MAX_REQUEST_BYTES} bytes"
    try:
        request = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return 'a command must be a JSON object such as {"action": "..."}'
    if not isinstance(request, dict):
        return 'a command must be a JSON object such as {"action": "..."}'
    return request
