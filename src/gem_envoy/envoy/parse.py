"""Pure functions turning raw gateway response bodies into the models of `models.py`.

Every failure is a `BadResponse` naming the endpoint and what was wrong; no other exception
escapes, whatever the bytes. The gateway's firmware varies a lot, so the rule is: required model
fields must be present and well-typed, optional ones may be missing or null, unknown keys are
ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET

from gem_envoy.envoy.errors import BadResponse
from gem_envoy.envoy.models import (
    BatteryPower,
    EnsembleDevice,
    EnsembleInventory,
    EnsembleStatus,
    GatewayInfo,
    Inverter,
    LivePower,
    LiveStatus,
    MeterConfig,
    MeterReading,
    ProductionEntry,
    ProductionReport,
    SecCtrl,
    StorageSettings,
    Tariff,
    V1Production,
)
from gem_envoy.envoy.paths import (
    ENSEMBLE_INVENTORY,
    ENSEMBLE_POWER,
    ENSEMBLE_STATUS,
    INFO,
    INVERTERS,
    LIVEDATA_STATUS,
    METER_READINGS,
    METERS,
    PRODUCTION,
    SECCTRL,
    STREAM_METER,
    TARIFF,
    V1_PRODUCTION,
)

T = TypeVar("T")
Obj = dict[str, object]


# ---------------------------------------------------------------------------------------------
# Errors: helpers raise _Shape with a path-qualified message; `_reading` adds the endpoint.


class _Shape(Exception):
    """A body of the wrong shape; the message names the path, e.g. `production[0].wNow`."""


@contextmanager
def _reading(what: str) -> Iterator[None]:
    try:
        yield
    except _Shape as exc:
        raise BadResponse(f"bad response from {what}: {exc}") from None


def _fail(what: str, problem: str) -> BadResponse:
    return BadResponse(f"bad response from {what}: {problem}")


# ---------------------------------------------------------------------------------------------
# Decoding


def load_json(body: bytes, what: str) -> object:
    """Decode a JSON body, or raise BadResponse saying why it is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(what, f"not JSON: the body is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise _fail(what, "not JSON: the body is empty")
    try:
        return json.loads(text)
    except RecursionError:
        raise _fail(what, "not JSON that can be read: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer literal too long to convert
        raise _fail(what, f"not JSON ({_why_not_json(text, exc)})") from None


def _why_not_json(text: str, exc: ValueError) -> str:
    start = text.lstrip()[:200].lower()
    # Old (D5) firmware answers production.json with an HTML page; say so plainly.
    if start.startswith("<!doctype html") or "<html" in start:
        return "the body is an HTML page"
    if start.startswith("<"):
        return "the body looks like XML or HTML"
    return f"{exc}; body starts {text[:40]!r}"


def _load_xml(body: bytes, what: str) -> Element:
    try:
        # forbid_dtd: a real /info never has a DTD, and refusing it stops entity expansion.
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    except ParseError as exc:
        raise _fail(what, f"not valid XML ({exc})") from None
    except ValueError as exc:  # defusedxml's refusals (DTDForbidden, EntitiesForbidden, ...)
        raise _fail(what, f"XML refused ({type(exc).__name__})") from None
    except LookupError as exc:  # an <?xml encoding=...?> Python does not know
        raise _fail(what, f"not valid XML ({exc})") from None
    return root


# ---------------------------------------------------------------------------------------------
# Typed access to decoded JSON. `where` is the path of the value, "" for the whole body.


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _name(where: str) -> str:
    return where or "the body"


def _kind(value: object) -> str:
    """JSON's name for a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong(value: object, where: str, expected: str) -> _Shape:
    return _Shape(f"{_name(where)} is {_kind(value)}, expected {expected}")


def _as_obj(value: object, where: str) -> Obj:
    if not isinstance(value, dict):
        raise _wrong(value, where, "an object")
    return value


def _as_list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _wrong(value, where, "a list")
    return value


def _as_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _wrong(value, where, "a string")
    return value


def _as_bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(value, where, "a boolean")
    return value


def _as_num(value: object, where: str) -> float:
    # bool is a subclass of int in Python, but `true` is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(value, where, "a number")
    try:
        number = float(value)
    except OverflowError:
        raise _Shape(f"{_name(where)} is a number too large to use") from None
    if not math.isfinite(number):  # `1e400`, `NaN` and `Infinity` decode to non-finite floats
        raise _Shape(f"{_name(where)} is not a finite number")
    return number


def _as_int(value: object, where: str) -> int:
    number = _as_num(value, where)
    if isinstance(value, int):
        return value  # exact, even beyond 2**53
    if not number.is_integer():
        raise _Shape(f"{_name(where)} is {number!r}, expected a whole number")
    return int(number)


def _as_rounded(value: object, where: str) -> int:
    return round(_as_num(value, where))


def _req(obj: Obj, key: str, where: str, convert: Callable[[object, str], T]) -> T:
    if key not in obj:
        raise _Shape(f"{_path(where, key)} is missing")
    return convert(obj[key], _path(where, key))


def _opt(obj: Obj, key: str, where: str, convert: Callable[[object, str], T]) -> T | None:
    value = obj.get(key)
    return None if value is None else convert(value, _path(where, key))


def _num(obj: Obj, key: str, where: str) -> float:
    return _req(obj, key, where, _as_num)


def _opt_num(obj: Obj, key: str, where: str) -> float | None:
    return _opt(obj, key, where, _as_num)


def _int(obj: Obj, key: str, where: str) -> int:
    return _req(obj, key, where, _as_int)


def _opt_int(obj: Obj, key: str, where: str) -> int | None:
    return _opt(obj, key, where, _as_int)


def _str(obj: Obj, key: str, where: str) -> str:
    return _req(obj, key, where, _as_str)


def _opt_str(obj: Obj, key: str, where: str) -> str | None:
    return _opt(obj, key, where, _as_str)


def _opt_bool(obj: Obj, key: str, where: str) -> bool | None:
    return _opt(obj, key, where, _as_bool)


def _obj(obj: Obj, key: str, where: str) -> Obj:
    return _req(obj, key, where, _as_obj)


def _opt_obj(obj: Obj, key: str, where: str) -> Obj:
    """An optional nested object; missing or null reads as empty."""
    return _opt(obj, key, where, _as_obj) or {}


def _opt_list(obj: Obj, key: str, where: str) -> list[object]:
    """An optional list; missing or null reads as empty."""
    return _opt(obj, key, where, _as_list) or []


def _each(items: list[object], where: str, parse: Callable[[object, str], T]) -> tuple[T, ...]:
    return tuple(parse(item, f"{where}[{i}]") for i, item in enumerate(items))


def _not_an_error(value: object) -> object:
    # Missing endpoints and refused requests answer `{"error": "404 - Not Found"}` (or with
    # `status` and `info`); no data body has a top-level `error`, so never read one as data.
    if isinstance(value, dict) and "error" in value:
        details = [value[key] for key in ("error", "info") if isinstance(value.get(key), str)]
        detail = "; ".join(d for d in details if d)[:120] or "no detail"
        detail = "".join(c if c.isprintable() else "?" for c in detail)  # it goes into logs
        raise _Shape(f"the gateway answered with an error instead of data ({detail})")
    return value


def _root_obj(body: bytes, what: str) -> Obj:
    return _as_obj(_not_an_error(load_json(body, what)), "")


def _root_list(body: bytes, what: str) -> list[object]:
    return _as_list(_not_an_error(load_json(body, what)), "")


# ---------------------------------------------------------------------------------------------
# /info (XML)

_MAJOR = re.compile(r"[A-Za-z]*([0-9]{1,9})(?![0-9])")


def _firmware_major(software: str) -> int:
    """7 for "D7.6.175", 3 for "R3.9.36"; 0 when no version number can be read."""
    match = _MAJOR.match(software.strip())
    return int(match.group(1)) if match else 0


def _xml_text(root: Element, path: str) -> str | None:
    element = root.find(path)
    return None if element is None else (element.text or "").strip()


def _xml_flag(root: Element, path: str) -> bool:
    text = _xml_text(root, path)
    if text is None:
        return False
    if text.lower() not in ("true", "false"):
        raise _Shape(f"{path} is {text[:40]!r}, expected true or false")
    return text.lower() == "true"


def _xml_required(root: Element, path: str) -> str:
    text = _xml_text(root, path)
    if text is None:
        raise _Shape(f"{path} is missing")
    return text


def parse_info(body: bytes) -> GatewayInfo:
    root = _load_xml(body, INFO)
    with _reading(INFO):
        if root.tag != "envoy_info":
            raise _Shape(f"the root element is <{root.tag[:40]}>, expected <envoy_info>")
        serial = _xml_required(root, "device/sn")
        if not serial:
            raise _Shape("device/sn is empty")
        software = _xml_required(root, "device/software")
        return GatewayInfo(
            serial=serial,
            part_number=_xml_required(root, "device/pn"),
            firmware=software,
            firmware_major=_firmware_major(software),
            metered=_xml_flag(root, "device/imeter"),
            web_tokens=_xml_flag(root, "web-tokens"),
        )


# ---------------------------------------------------------------------------------------------
# /production.json and /api/v1/production


def _lines_w(entry: Obj, where: str) -> tuple[float, ...]:
    """`wNow` of each of `lines[]`, L1 first; () without lines, or when a line has no `wNow`
    (a tuple with a gap could not say which phase is which)."""
    lines_at = _path(where, "lines")
    lines = [
        _as_obj(item, f"{lines_at}[{i}]") for i, item in enumerate(_opt_list(entry, "lines", where))
    ]
    watts = [_opt_num(line, "wNow", f"{lines_at}[{i}]") for i, line in enumerate(lines)]
    return tuple(w for w in watts if w is not None) if None not in watts else ()


def _production_entry(value: object, where: str) -> ProductionEntry:
    entry = _as_obj(value, where)
    return ProductionEntry(
        type=_str(entry, "type", where),
        measurement_type=_opt_str(entry, "measurementType", where),
        active_count=_opt_int(entry, "activeCount", where) or 0,
        reading_time=_opt_int(entry, "readingTime", where),
        w_now=_opt_num(entry, "wNow", where),
        wh_today=_opt_num(entry, "whToday", where),
        wh_lifetime=_opt_num(entry, "whLifetime", where),
        wh_now=_opt_num(entry, "whNow", where),
        percent_full=_opt_num(entry, "percentFull", where),
        state=_opt_str(entry, "state", where),
        lines_w=_lines_w(entry, where),
    )


def parse_production(body: bytes) -> ProductionReport:
    with _reading(PRODUCTION):
        root = _root_obj(body, PRODUCTION)
        production = _req(root, "production", "", _as_list)
        return ProductionReport(
            production=_each(production, "production", _production_entry),
            consumption=_each(_opt_list(root, "consumption", ""), "consumption", _production_entry),
            storage=_each(_opt_list(root, "storage", ""), "storage", _production_entry),
        )


def parse_v1_production(body: bytes) -> V1Production:
    with _reading(V1_PRODUCTION):
        root = _root_obj(body, V1_PRODUCTION)
        return V1Production(
            watts_now=_num(root, "wattsNow", ""),
            wh_today=_num(root, "wattHoursToday", ""),
            wh_seven_days=_num(root, "wattHoursSevenDays", ""),
            wh_lifetime=_num(root, "wattHoursLifetime", ""),
        )


def _inverter(value: object, where: str) -> Inverter:
    item = _as_obj(value, where)
    dev_type = _opt_int(item, "devType", where)
    return Inverter(
        serial=_str(item, "serialNumber", where),
        last_report_date=_int(item, "lastReportDate", where),
        dev_type=1 if dev_type is None else dev_type,  # old firmware lists only microinverters
        last_report_watts=_req(item, "lastReportWatts", where, _as_rounded),
        max_report_watts=_req(item, "maxReportWatts", where, _as_rounded),
    )


def parse_inverters(body: bytes) -> tuple[Inverter, ...]:
    with _reading(INVERTERS):
        return _each(_root_list(body, INVERTERS), "", _inverter)


# ---------------------------------------------------------------------------------------------
# /ivp/meters and /ivp/meters/readings


def _meter(value: object, where: str) -> MeterConfig:
    item = _as_obj(value, where)
    return MeterConfig(
        eid=_int(item, "eid", where),
        state=_str(item, "state", where),
        measurement_type=_str(item, "measurementType", where),
        phase_mode=_opt_str(item, "phaseMode", where),
        phase_count=_opt_int(item, "phaseCount", where),
    )


def parse_meters(body: bytes) -> tuple[MeterConfig, ...]:
    with _reading(METERS):
        return _each(_root_list(body, METERS), "", _meter)


def _reading_of(item: Obj, where: str, channels: tuple[MeterReading, ...]) -> MeterReading:
    return MeterReading(
        eid=_int(item, "eid", where),
        timestamp=_int(item, "timestamp", where),
        active_power=_num(item, "activePower", where),
        energy_delivered_wh=_num(item, "actEnergyDlvd", where),
        energy_received_wh=_num(item, "actEnergyRcvd", where),
        voltage=_opt_num(item, "voltage", where),
        current=_opt_num(item, "current", where),
        freq=_opt_num(item, "freq", where),
        channels=channels,
    )


def _channel(value: object, where: str) -> MeterReading:
    # A channel is one phase; its own `channels`, if any, are not read (they never nest).
    return _reading_of(_as_obj(value, where), where, ())


def _meter_reading(value: object, where: str) -> MeterReading:
    item = _as_obj(value, where)
    channels = _each(_opt_list(item, "channels", where), _path(where, "channels"), _channel)
    return _reading_of(item, where, channels)


def parse_meter_readings(body: bytes) -> tuple[MeterReading, ...]:
    with _reading(METER_READINGS):
        return _each(_root_list(body, METER_READINGS), "", _meter_reading)


# ---------------------------------------------------------------------------------------------
# /ivp/ensemble/*


def _ensemble_device(value: object, where: str, group_type: str) -> EnsembleDevice:
    item = _as_obj(value, where)
    return EnsembleDevice(
        type=group_type,
        serial=_str(item, "serial_num", where),
        percent_full=_opt_num(item, "percentFull", where),
        capacity_wh=_opt_num(item, "encharge_capacity", where),
        temperature=_opt_num(item, "temperature", where),
        communicating=_opt_bool(item, "communicating", where),
        admin_state=_opt_str(item, "admin_state_str", where),
    )


def _group_devices(value: object, where: str) -> tuple[EnsembleDevice, ...]:
    group = _as_obj(value, where)
    devices = _opt_list(group, "devices", where)
    # Some firmware adds a grid-profile entry with neither `type` nor `devices`: nothing to read.
    if not devices:
        return ()
    group_type = _str(group, "type", where)
    devices_at = _path(where, "devices")
    return tuple(
        _ensemble_device(item, f"{devices_at}[{i}]", group_type) for i, item in enumerate(devices)
    )


def parse_ensemble_inventory(body: bytes) -> EnsembleInventory:
    with _reading(ENSEMBLE_INVENTORY):
        groups = _each(_root_list(body, ENSEMBLE_INVENTORY), "", _group_devices)
        return EnsembleInventory(devices=tuple(d for group in groups for d in group))


def _battery_power(value: object, where: str) -> BatteryPower:
    item = _as_obj(value, where)
    return BatteryPower(
        serial=_str(item, "serial_num", where),
        real_power_mw=_num(item, "real_power_mw", where),
        apparent_power_mva=_opt_num(item, "apparent_power_mva", where),
        soc=_opt_num(item, "soc", where),
    )


def parse_ensemble_power(body: bytes) -> tuple[BatteryPower, ...]:
    with _reading(ENSEMBLE_POWER):
        root = _root_obj(body, ENSEMBLE_POWER)
        # The gateway really names the key `devices:`; accept the plain name too.
        key = "devices:" if "devices:" in root or "devices" not in root else "devices"
        return _each(_req(root, key, "", _as_list), key, _battery_power)


def parse_secctrl(body: bytes) -> SecCtrl:
    with _reading(SECCTRL):
        root = _root_obj(body, SECCTRL)
        return SecCtrl(
            enc_agg_soc=_opt_num(root, "ENC_agg_soc", ""),
            enc_agg_avail_energy_wh=_opt_num(root, "ENC_agg_avail_energy", ""),
            enc_max_available_capacity_wh=_opt_num(root, "Enc_max_available_capacity", ""),
            enc_agg_backup_energy_wh=_opt_num(root, "ENC_agg_backup_energy", ""),
            configured_backup_soc=_opt_num(root, "configured_backup_soc", ""),
            agg_soc=_opt_num(root, "agg_soc", ""),
            acb_agg_soc=_opt_num(root, "ACB_agg_soc", ""),
            acb_agg_energy_wh=_opt_num(root, "ACB_agg_energy", ""),
        )


def parse_ensemble_status(body: bytes) -> EnsembleStatus:
    with _reading(ENSEMBLE_STATUS):
        root = _root_obj(body, ENSEMBLE_STATUS)
        relay = _opt_obj(root, "relay", "")
        inventory = _opt_obj(root, "inventory", "")
        return EnsembleStatus(
            mains_admin_state=_opt_str(relay, "mains_admin_state", "relay"),
            mains_oper_state=_opt_str(relay, "mains_oper_state", "relay"),
            serials=tuple(_opt_obj(inventory, "serial_nums", "inventory")),
        )


# ---------------------------------------------------------------------------------------------
# /admin/lib/tariff

# Old firmware's name for the mode the app and newer firmware call "economy".
_MODE_ALIASES = {"savings-mode": "economy"}


def parse_storage_settings(body: bytes) -> StorageSettings:
    with _reading(TARIFF):
        root = _root_obj(body, TARIFF)
        settings = _obj(_obj(root, "tariff", ""), "storage_settings", "tariff")
        _str(settings, "mode", _SETTINGS)  # required here: a null mode is refused
        return _storage_settings(settings)


_SETTINGS = "tariff.storage_settings"


def _storage_settings(settings: Obj) -> StorageSettings:
    mode = _opt_str(settings, "mode", _SETTINGS)
    return StorageSettings(
        mode=None if mode is None else _MODE_ALIASES.get(mode, mode),
        operation_mode_sub_type=_opt_str(settings, "operation_mode_sub_type", _SETTINGS),
        reserved_soc=_opt_num(settings, "reserved_soc", _SETTINGS),
        very_low_soc=_opt_num(settings, "very_low_soc", _SETTINGS),
        charge_from_grid=_opt_bool(settings, "charge_from_grid", _SETTINGS),
        opt_schedules=_opt_bool(settings, "opt_schedules", _SETTINGS),
        mode_as_sent=mode,
    )


def parse_tariff(body: bytes) -> Tariff:
    """The whole tariff document, every field of `tariff` kept as sent (a write sends them
    back); `tariff.storage_settings` is read when present (old firmware has none)."""
    with _reading(TARIFF):
        root = _root_obj(body, TARIFF)
        document = _obj(root, "tariff", "")
        settings = _opt(document, "storage_settings", "tariff", _as_obj)
        schedule = _opt(root, "schedule", "", _as_obj)
        return Tariff(
            document=document,
            storage=None if settings is None else _storage_settings(settings),
            schedule=schedule,
        )


# ---------------------------------------------------------------------------------------------
# Live data: /stream/meter events and /ivp/livedata/status

_PHASES = ("ph-a", "ph-b", "ph-c")  # L1, L2, L3
# Stream channel -> which LivePower figure it gives.
_STREAM_CHANNELS = ("production", "total-consumption", "net-consumption")


def _stream_phase(channel: Obj, key: str, where: str) -> tuple[float, bool]:
    """The phase's real power `p`, and whether any of its figures is non-zero. A phase the
    event leaves out reads as all zero."""
    phase = _opt(channel, key, where, _as_obj)
    if phase is None:
        return 0.0, False
    at = _path(where, key)
    power = _num(phase, "p", at)
    # Every figure counts (p, q, s, v, i, pf, f): an unused phase is all 0.0, while a phase
    # in use shows its voltage even with no current.
    figures = [
        _as_num(value, _path(at, name))
        for name, value in phase.items()
        if value is not None and not isinstance(value, str | list | dict)
    ]
    return power, any(figure != 0 for figure in figures)


def _phase_count(active: list[bool]) -> int:
    """How many phase figures to report: up to the last phase in use, or 0 (report none)
    when at most one phase is in use (that phase is the total)."""
    if sum(active) <= 1:
        return 0
    return max(i for i, used in enumerate(active) if used) + 1


def meter_event(data: str | bytes) -> LivePower:
    """One `/stream/meter` event (the JSON text of its `data:`) as a `LivePower`.

    `production` gives production, `total-consumption` the home's load, `net-consumption` the
    grid (+ importing). A phase is in use when any figure of any channel is non-zero; with two
    or three in use, each channel's per-phase powers are reported L1 first. The stream has no
    battery figures."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    with _reading(STREAM_METER):
        root = _root_obj(body, STREAM_METER)
        totals: dict[str, float] = {}
        powers: dict[str, list[float]] = {}
        active = [False] * len(_PHASES)
        for name in _STREAM_CHANNELS:
            channel = _opt(root, name, "", _as_obj)
            if channel is None:
                continue
            readings = [_stream_phase(channel, key, name) for key in _PHASES]
            powers[name] = [power for power, _ in readings]
            totals[name] = math.fsum(powers[name])
            active = [was or now for was, (_, now) in zip(active, readings, strict=True)]
        if not powers:
            raise _Shape("the event has none of " + ", ".join(_STREAM_CHANNELS))
        count = _phase_count(active)

        def phases(name: str) -> tuple[float, ...]:
            return tuple(powers[name][:count]) if name in powers else ()

        return LivePower(
            production_w=totals.get("production"),
            consumption_w=totals.get("total-consumption"),
            grid_w=totals.get("net-consumption"),
            battery_w=None,
            soc_percent=None,
            production_phases_w=phases("production"),
            consumption_phases_w=phases("total-consumption"),
            grid_phases_w=phases("net-consumption"),
        )


_MW = "agg_p_mw"
_PHASE_MW = ("agg_p_ph_a_mw", "agg_p_ph_b_mw", "agg_p_ph_c_mw")
_PHASE_MVA = ("agg_s_ph_a_mva", "agg_s_ph_b_mva", "agg_s_ph_c_mva")
_LIVE_CHANNELS = ("pv", "load", "grid", "storage", "generator")


def _watts(channel: Obj | None, where: str) -> float | None:
    return None if channel is None else _num(channel, _MW, where) / 1000


def _livedata_phase_count(meters: Obj, channels: dict[str, Obj]) -> int:
    """Phases in use: `phase_count`, else 2 on a split-phase site, else up to the last phase
    with a non-zero per-phase figure in any channel."""
    count = _opt_int(meters, "phase_count", "meters")
    if count is not None and count > 0:
        return min(count, len(_PHASE_MW))
    if _opt_int(meters, "is_split_phase", "meters") == 1:
        return 2
    used = [False] * len(_PHASE_MW)
    for name, channel in channels.items():
        at = _path("meters", name)
        for i, keys in enumerate(zip(_PHASE_MW, _PHASE_MVA, strict=True)):
            used[i] = used[i] or any(_opt_num(channel, key, at) not in (None, 0) for key in keys)
    return max((i + 1 for i, u in enumerate(used) if u), default=1)


def _livedata_phases(channel: Obj | None, where: str, count: int) -> tuple[float, ...]:
    """The channel's per-phase W, L1 first; () on one phase or when the firmware sends no
    per-phase figures (before 8.x)."""
    if channel is None or count <= 1 or not any(key in channel for key in _PHASE_MW):
        return ()
    return tuple(_num(channel, key, where) / 1000 for key in _PHASE_MW[:count])


def _has_battery(meters: Obj, storage_w: float | None) -> bool:
    """Whether the site has batteries: stored energy, a state of charge or battery power.
    (An empty battery standing idle reads as none: every figure of it is 0.)"""
    figures = ("enc_agg_energy", "acb_agg_energy", "soc", "enc_agg_soc", "acb_agg_soc")
    if any(_opt_num(meters, key, "meters") not in (None, 0) for key in figures):
        return True
    return storage_w not in (None, 0)


def livedata_status(body: bytes) -> LiveStatus:
    """`/ivp/livedata/status` as a `LiveStatus`; its milliwatts as W.

    `pv` gives production, `load` the home's load, `grid` the grid (+ importing), `storage`
    the batteries (+ discharging). Battery power and state of charge are None on a site
    without batteries (see `_has_battery`); the state of charge is `enc_agg_soc` when
    non-zero (8.x, Encharge), else `soc`."""
    with _reading(LIVEDATA_STATUS):
        root = _root_obj(body, LIVEDATA_STATUS)
        connection = _opt_obj(root, "connection", "")
        meters = _obj(root, "meters", "")
        channels = {
            name: channel
            for name in _LIVE_CHANNELS
            if (channel := _opt(meters, name, "meters", _as_obj)) is not None
        }
        at = {name: _path("meters", name) for name in _LIVE_CHANNELS}
        storage_w = _watts(channels.get("storage"), at["storage"])
        battery = _has_battery(meters, storage_w)
        soc = _opt_num(meters, "enc_agg_soc", "meters") or _opt_num(meters, "soc", "meters")
        count = _livedata_phase_count(meters, channels)
        power = LivePower(
            production_w=_watts(channels.get("pv"), at["pv"]),
            consumption_w=_watts(channels.get("load"), at["load"]),
            grid_w=_watts(channels.get("grid"), at["grid"]),
            battery_w=storage_w if battery else None,
            soc_percent=soc if battery else None,
            production_phases_w=_livedata_phases(channels.get("pv"), at["pv"], count),
            consumption_phases_w=_livedata_phases(channels.get("load"), at["load"], count),
            grid_phases_w=_livedata_phases(channels.get("grid"), at["grid"], count),
        )
        return LiveStatus(
            power=power,
            stream_enabled=_opt_str(connection, "sc_stream", "connection") == "enabled",
            last_update=_opt_int(meters, "last_update", "meters"),
        )
