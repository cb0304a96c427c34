"""The synthetic gateway: endpoints answered from a simulated plant.

Each request first brings the plant up to the current simulated time, then one snapshot feeds
the payload, so all endpoints agree at any instant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from . import ensemble, live, payloads
from .clock import SimClock
from .clock_power import with_clock_power
from .event_stream import paced
from .http import XML_TYPE, Request, Response, error_response, json_response
from .livedata_switch import DEFAULT_TIMEOUT_S, LiveDataSwitch
from .options import STREAM_INTERVAL_S
from .plant import Plant, Snapshot
from .storage_modes import BatterySettings
from .tariff import RevertDelay, TariffDocument

LIVEDATA_STREAM = "/ivp/livedata/stream"

Route = Callable[["SyntheticSource", Snapshot, Request], Response | None]


class SyntheticSource:
    """Answers gateway endpoints from a `Plant` driven by a `SimClock`.

    Live data (``/ivp/livedata/*``, ``/stream/meter``) needs CTs: a gateway without them
    answers 404 there.
    """

    def __init__(
        self,
        plant: Plant,
        clock: SimClock,
        firmware: str,
        *,
        stream_interval_s: float = STREAM_INTERVAL_S,
        clock_power: bool = False,
        livedata_timeout_s: float = DEFAULT_TIMEOUT_S,
        livedata_when_disabled: str = "frozen",
    ) -> None:
        self.plant = plant
        self.clock = clock
        self.firmware = firmware
        self.stream_interval_s = stream_interval_s
        self.clock_power = clock_power
        self.livedata = LiveDataSwitch(self.snapshot, livedata_timeout_s, livedata_when_disabled)
        # The storage settings live in the tariff document; the batteries follow its writes.
        self.revert_delay: RevertDelay | None = None  # the cloud-revert fault, from the server
        document = ensemble.tariff(plant, plant.snapshot())
        self.tariff = (
            None
            if document is None
            else TariffDocument(document, clock=clock.now, revert_delay=self._revert_delay)
        )
        if self.tariff is not None:
            self.tariff.listeners.append(self._follow_tariff)

    @property
    def serial(self) -> str:
        return self.plant.config.serial

    def snapshot(self) -> Snapshot:
        self.plant.advance_to(self.clock.now())
        snap = self.plant.snapshot()
        return with_clock_power(snap) if self.clock_power else snap

    def _revert_delay(self) -> float | None:
        return self.revert_delay() if self.revert_delay is not None else None

    def _follow_tariff(self, tariff: dict[str, Any]) -> None:
        self.snapshot()  # the past under the old settings first
        default = self.plant.config.reserve_soc_percent
        self.plant.storage = BatterySettings.from_tariff(tariff, default)

    def reboot(self, loss: float) -> None:
        """Bring the plant up to now, then lose what a reboot loses (see `Plant.reboot`)."""
        self.snapshot()
        self.plant.reboot(loss)

    def answer(self, request: Request) -> Response | None:
        """The answer to an (authorised) request; None when the gateway has no such endpoint."""
        if request.path == LIVEDATA_STREAM:
            return self._livedata_stream(request)
        if request.path == "/admin/lib/tariff":
            return self._tariff(request)
        route = _ROUTES.get(request.path)
        if route is None:
            return None
        if request.method not in ("GET", "HEAD"):
            return error_response(405)
        return route(self, self.snapshot(), request)

    def _tariff(self, request: Request) -> Response | None:
        if self.tariff is None:  # no batteries: no tariff either
            return None
        if request.method == "PUT":
            return self.tariff.put(request)
        if request.method not in ("GET", "HEAD"):
            return error_response(405)
        return self.tariff.get()

    def _livedata_stream(self, request: Request) -> Response | None:
        if not self.plant.config.cts:
            return None
        if request.method != "POST":
            return error_response(405)
        return self.livedata.post(request)

    def meter_event(self) -> bytes:
        """One ``/stream/meter`` event, from the plant as it is now."""
        return live.sse_event(live.stream_meter_event(self.plant, self.snapshot()))


def _json(value: Any) -> Response | None:
    return None if value is None else json_response(value)


def _info(src: SyntheticSource, snap: Snapshot, _: Request) -> Response:
    body = payloads.info_xml(src.serial, src.firmware, snap.time)
    return Response(200, body, XML_TYPE)


def _production(src: SyntheticSource, snap: Snapshot, request: Request) -> Response:
    details = parse_qs(request.query).get("details") == ["1"]
    return json_response(payloads.production_json(src.plant, snap, details))


def _stream(src: SyntheticSource, _snap: Snapshot, _req: Request) -> Response | None:
    """One event a second, each from a fresh snapshot; only on metered gateways."""
    if not src.plant.config.cts:
        return None
    events = paced(src.meter_event, src.stream_interval_s)
    return Response(200, content_type="text/event-stream", stream=events)


def _livedata_status(src: SyntheticSource, _snap: Snapshot, _req: Request) -> Response | None:
    if not src.plant.config.cts:
        return None
    snap, enabled = src.livedata.view()
    return json_response(live.livedata_status(src.plant, snap, enabled))


_ROUTES: dict[str, Route] = {
    "/info": _info,
    "/info.xml": _info,
    "/production.json": _production,
    "/api/v1/production": lambda s, snap, r: json_response(payloads.api_v1_production(snap)),
    "/api/v1/production/inverters": lambda s, snap, r: json_response(
        payloads.inverters_json(s.plant, snap)
    ),
    "/ivp/meters": lambda s, snap, r: json_response(payloads.meters_json(s.plant)),
    "/ivp/meters/readings": lambda s, snap, r: json_response(
        payloads.meter_readings(s.plant, snap)
    ),
    "/ivp/ensemble/inventory": lambda s, snap, r: json_response(ensemble.inventory(s.plant, snap)),
    "/ivp/ensemble/power": lambda s, snap, r: json_response(ensemble.power(s.plant, snap)),
    "/ivp/ensemble/secctrl": lambda s, snap, r: _json(ensemble.secctrl(s.plant, snap)),
    "/ivp/ensemble/status": lambda s, snap, r: _json(ensemble.status(s.plant, snap)),
    "/ivp/livedata/status": _livedata_status,
    "/stream/meter": _stream,
}
