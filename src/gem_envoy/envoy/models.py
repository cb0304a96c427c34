"""Typed, immutable views of the gateway's read endpoints.

Each model holds what the gateway said, in its units, with optional fields where firmware
versions differ. Parsing (bytes -> model) lives in `parse.py`; nothing here does I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """`/info`: who the gateway is."""

    serial: str
    part_number: str
    firmware: str  # as sent, e.g. "D7.6.175", "R3.9.36"
    firmware_major: int  # 7 for "D7.6.175"; 0 when the version cannot be read
    metered: bool  # <imeter>: has a metering board for CTs
    web_tokens: bool  # <web-tokens>: speaks the JWT flow

    @property
    def uses_tokens(self) -> bool:
        """True for D7+ gateways; False for the pre-token (D5 and older) line."""
        return self.web_tokens or self.firmware_major >= 7


@dataclass(frozen=True, slots=True)
class ProductionEntry:
    """One element of `production[]`, `consumption[]` or `storage[]` in `/production.json`."""

    type: str  # "inverters", "eim", "acb"
    measurement_type: str | None  # "production", "total-consumption", "net-consumption"
    active_count: int
    reading_time: int | None  # epoch seconds
    w_now: float | None
    wh_today: float | None
    wh_lifetime: float | None
    wh_now: float | None = None  # acb: energy stored now
    percent_full: float | None = None  # acb
    state: str | None = None  # acb: "idle", "charging", "discharging"
    # `wNow` of each of `lines[]` (L1, L2, L3), as sent: only with `?details=1` (some firmware
    # always), and only on the CT entries; () where the entry has no lines.
    lines_w: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductionReport:
    """`/production.json`."""

    production: tuple[ProductionEntry, ...]
    consumption: tuple[ProductionEntry, ...]
    storage: tuple[ProductionEntry, ...]


@dataclass(frozen=True, slots=True)
class LivePower:
    """One instant of the site's power flow, from `/stream/meter` or `/ivp/livedata/status`,
    in W. None where the source has no such channel.

    The per-phase tuples hold L1, L2(, L3) of the phases in use; they are () on a
    single-phase site (its one phase is the total) and for a channel the source lacks."""

    production_w: float | None
    consumption_w: float | None  # the home's load (total-consumption / livedata load)
    grid_w: float | None  # as the gateway signs it: + importing, - exporting
    battery_w: float | None  # + discharging, - charging; None from the stream
    soc_percent: float | None  # livedata only, and only where batteries exist
    production_phases_w: tuple[float, ...] = ()
    consumption_phases_w: tuple[float, ...] = ()
    grid_phases_w: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """`/ivp/livedata/status`: the power flow, and whether the gateway's live stream (to
    Enphase's cloud, which also keeps the values fresh on older firmware) is on."""

    power: LivePower
    stream_enabled: bool  # connection.sc_stream == "enabled"
    last_update: int | None  # meters.last_update (epoch s)


@dataclass(frozen=True, slots=True)
class V1Production:
    """`/api/v1/production`: the inverter-side summary."""

    watts_now: float
    wh_today: float
    wh_seven_days: float
    wh_lifetime: float


@dataclass(frozen=True, slots=True)
class Inverter:
    """One element of `/api/v1/production/inverters`."""

    serial: str
    last_report_date: int  # epoch seconds
    dev_type: int  # 1 = microinverter; missing on old firmware, read as 1
    last_report_watts: int
    max_report_watts: int


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """One element of `/ivp/meters`: a CT."""

    eid: int
    state: str  # "enabled" / "disabled"
    measurement_type: str  # "production", "net-consumption", "total-consumption", "storage"
    phase_mode: str | None
    phase_count: int | None


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One element of `/ivp/meters/readings` (and of its `channels[]`, one per phase)."""

    eid: int
    timestamp: int
    active_power: float
    energy_delivered_wh: float  # actEnergyDlvd
    energy_received_wh: float  # actEnergyRcvd
    voltage: float | None
    current: float | None
    freq: float | None
    channels: tuple[MeterReading, ...] = ()


@dataclass(frozen=True, slots=True)
class EnsembleDevice:
    """One device of `/ivp/ensemble/inventory`, with the group `type` it came from."""

    type: str  # "ENCHARGE", "ENPOWER", ...
    serial: str
    percent_full: float | None
    capacity_wh: float | None  # encharge_capacity
    temperature: float | None
    communicating: bool | None
    admin_state: str | None  # admin_state_str


@dataclass(frozen=True, slots=True)
class EnsembleInventory:
    """`/ivp/ensemble/inventory`."""

    devices: tuple[EnsembleDevice, ...]

    @property
    def encharges(self) -> tuple[EnsembleDevice, ...]:
        return tuple(d for d in self.devices if d.type == "ENCHARGE")


@dataclass(frozen=True, slots=True)
class BatteryPower:
    """One element of `/ivp/ensemble/power` (whose list key really is `devices:`)."""

    serial: str
    real_power_mw: float  # positive = discharging
    apparent_power_mva: float | None
    soc: float | None


@dataclass(frozen=True, slots=True)
class SecCtrl:
    """`/ivp/ensemble/secctrl`: battery aggregates."""

    enc_agg_soc: float | None  # ENC_agg_soc
    enc_agg_avail_energy_wh: float | None  # ENC_agg_avail_energy: stored now
    enc_max_available_capacity_wh: float | None  # Enc_max_available_capacity
    enc_agg_backup_energy_wh: float | None  # ENC_agg_backup_energy
    configured_backup_soc: float | None
    agg_soc: float | None
    acb_agg_soc: float | None
    acb_agg_energy_wh: float | None


@dataclass(frozen=True, slots=True)
class EnsembleStatus:
    """`/ivp/ensemble/status`: relay state and the serials it knows."""

    mains_admin_state: str | None
    mains_oper_state: str | None
    serials: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """`/admin/lib/tariff` -> `tariff.storage_settings`."""

    # "self-consumption", "backup", "economy" (old "savings-mode" read as "economy"); some
    # firmware sends null (read by `parse_tariff` as None).
    mode: str | None
    operation_mode_sub_type: str | None
    reserved_soc: float | None
    very_low_soc: float | None
    charge_from_grid: bool | None
    # 8.2.42xx and later: while true, the gateway stores a mode write but ignores it.
    opt_schedules: bool | None = None
    mode_as_sent: str | None = None  # the gateway's own spelling ("savings-mode")


@dataclass(frozen=True, slots=True)
class Tariff:
    """`/admin/lib/tariff`: the `tariff` object exactly as the gateway sent it (unknown fields
    included), what its storage settings say, and the `schedule` the gateway derived from it.

    `document` and `schedule` are the decoded JSON: take `editable()` to build a write from,
    never change them in place."""

    document: Mapping[str, object]
    storage: StorageSettings | None  # None: this firmware has no storage settings
    schedule: Mapping[str, object] | None

    def editable(self) -> dict[str, object]:
        """A deep copy of the `tariff` object, to change one field of and send back."""
        return copy.deepcopy(dict(self.document))
