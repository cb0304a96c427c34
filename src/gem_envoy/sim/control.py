"""The simulator's own routes under ``/__sim/`` (no auth, never counted as gateway requests).

- ``GET /__sim/stats`` -> the counters (see `stats`); ``POST /__sim/stats/reset`` zeroes them.
- ``POST /__sim/token`` ``{"user": "owner"|"installer", "lifetime_s": 3600, "aud": "..."}``
  -> ``{"token": "..."}``; ``lifetime_s`` may be negative (an expired token) and defaults to
  Enphase's (12 hours for an installer, a year for an owner), ``aud`` to this gateway's serial.
- ``GET /__sim/plant`` -> the plant now: powers, state of charge, the storage settings the
  batteries follow, overrides.
- ``POST /__sim/plant`` ``{"sun": 0.8, "load_w": 2000, "inverter_scale": {"SERIAL": 0.5}}``
  forces conditions from now on. A key left out is unchanged; ``null`` clears that override
  (for ``inverter_scale``, a serial mapped to ``null`` clears that serial, and
  ``"inverter_scale": null`` clears them all). Capture replays have no plant: 409.
- ``GET /__sim/fault`` -> the active fault (its JSON form, see `faults`, plus ``remaining_s``),
  or ``null``. ``POST /__sim/fault`` ``{"kind": "500", ...}`` sets a fault, replacing the active
  one, and answers like GET; a fault that cannot be set is a 400 that says why.
  ``DELETE /__sim/fault`` clears it -> ``null``.
- ``GET|POST /__sim/cloud``: the simulated cloud's behaviours and counters (see `cloud`); 404
  when the simulator serves no cloud.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from .auth import LIFETIME_S, USER_TYPES, GatewayAuth
from .cloud import Cloud
from .faults import Fault, FaultError, FaultSwitch
from .http import Exchange, Request, Response, error_response, json_response
from .plant import Overrides, Plant
from .stats import SimStats
from .synthetic import SyntheticSource

Json = dict[str, Any]


class BadRequest(ValueError):
    pass


SetFault = Callable[[Fault | None], Awaitable[None]]


class Control:
    def __init__(
        self,
        stats: SimStats,
        auth: GatewayAuth,
        source: object,
        faults: FaultSwitch | None = None,
        set_fault: SetFault | None = None,
    ) -> None:
        self.stats = stats
        self.auth = auth
        self.synthetic = source if isinstance(source, SyntheticSource) else None
        self.faults = faults
        self.set_fault = set_fault
        self.cloud: Cloud | None = None  # set by the server when it serves a cloud

    async def handle(self, request: Request, exchange: Exchange) -> None:
        try:
            if request.path.rstrip("/") == "/__sim/fault":
                response = await self._fault_route(request)
            elif request.path.rstrip("/") == "/__sim/cloud":
                response = self.cloud.control(request) if self.cloud else error_response(404)
            else:
                response = self.respond(request)
        except BadRequest as exc:
            response = error_response(400, str(exc))
        await exchange.send(response)

    async def _fault_route(self, request: Request) -> Response:
        if self.faults is None or self.set_fault is None:
            return error_response(404)
        if request.method == "POST":
            try:
                fault = Fault.from_json(_body(request))
            except FaultError as exc:
                raise BadRequest(str(exc)) from exc
            await self.set_fault(fault)
        elif request.method == "DELETE":
            await self.set_fault(None)
        elif request.method != "GET":
            return error_response(405)
        return json_response(self.faults.as_json())

    def respond(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/__sim/stats"):
            return json_response(self.stats.as_json())
        if route == ("POST", "/__sim/stats/reset"):
            self.stats.reset()
            return json_response(self.stats.as_json())
        if route == ("POST", "/__sim/token"):
            return json_response({"token": self._token(_body(request))})
        if route[1] == "/__sim/plant" and request.method in ("GET", "POST"):
            if self.synthetic is None:
                return error_response(409, "a capture replay has no plant")
            if request.method == "POST":
                self._override(_body(request))
            return json_response(plant_state(self.synthetic))
        return error_response(404)

    def _token(self, body: Json) -> str:
        user = body.get("user", "installer")
        aud = body.get("aud")
        if user not in USER_TYPES:
            raise BadRequest(f"user must be one of {USER_TYPES}")
        lifetime = body.get("lifetime_s", LIFETIME_S[user])
        if not _is_number(lifetime):
            raise BadRequest("lifetime_s must be a number")
        if aud is not None and not isinstance(aud, str):
            raise BadRequest("aud must be a string")
        return self.auth.mint(user, lifetime, aud)

    def _override(self, body: Json) -> None:
        assert self.synthetic is not None
        overrides = parse_overrides(body, self.synthetic.plant)
        self.synthetic.snapshot()  # integrate the past under the old conditions first
        self.synthetic.plant.overrides = overrides


def parse_overrides(body: Json, plant: Plant) -> Overrides:
    """The plant's overrides updated by a ``POST /__sim/plant`` body."""
    current = plant.overrides
    new = Overrides(current.sun, current.load_w, dict(current.inverter_scale))
    for key in ("sun", "load_w"):
        if key in body:
            value = body[key]
            if value is not None and not _is_number(value):
                raise BadRequest(f"{key} must be a number or null")
            setattr(new, key, None if value is None else float(value))
    if "inverter_scale" in body:
        _update_scales(new, body["inverter_scale"], {inv.serial for inv in plant.inverters})
    unknown = set(body) - {"sun", "load_w", "inverter_scale"}
    if unknown:
        raise BadRequest(f"unknown keys: {sorted(unknown)}")
    return new


def _update_scales(new: Overrides, scales: Any, serials: set[str]) -> None:
    if scales is None:
        new.inverter_scale.clear()
        return
    if not isinstance(scales, dict):
        raise BadRequest("inverter_scale must be an object or null")
    for serial, factor in scales.items():
        if serial not in serials:
            raise BadRequest(f"no inverter {serial}")
        if factor is None:
            new.inverter_scale.pop(serial, None)
        elif _is_number(factor) and factor >= 0:
            new.inverter_scale[serial] = float(factor)
        else:
            raise BadRequest("an inverter scale must be a number >= 0 or null")


def plant_state(source: SyntheticSource) -> Json:
    snap = source.snapshot()
    plant = source.plant
    return {
        "time": snap.time,
        "solar_w": snap.solar_w,
        "load_w": snap.load_w,
        "grid_w": snap.grid_w,
        "consumption_w": snap.consumption_w,
        "battery_w": list(snap.battery_w),
        "soc_wh": list(snap.soc_wh),
        "inverters": {
            inv.serial: plant.inverter_w(i, snap.time) for i, inv in enumerate(plant.inverters)
        },
        "storage": {
            "mode": plant.storage.mode,
            "reserve_soc_percent": plant.storage.reserve_soc_percent,
            "charge_from_grid": plant.storage.charge_from_grid,
        },
        "overrides": {
            "sun": plant.overrides.sun,
            "load_w": plant.overrides.load_w,
            "inverter_scale": dict(plant.overrides.inverter_scale),
        },
    }


def _body(request: Request) -> Json:
    if not request.body.strip():
        return {}
    try:
        value = json.loads(request.body)
    except ValueError as exc:
        raise BadRequest("the body must be JSON") from exc
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
