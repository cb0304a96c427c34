"""Plant state -> the Encharge (``/ivp/ensemble/*``) and ``/admin/lib/tariff`` payloads.

Without batteries, a real gateway answers ``/ivp/ensemble/inventory`` with ``[]`` and
``/ivp/ensemble/power`` with ``{"devices:": []}``; it has no secctrl, status or tariff (404).
Those are signalled here by None.
"""

from __future__ import annotations

import time
from typing import Any

from .plant import Plant, Snapshot

_PART = "836-01826-r76"
_FIRMWARE = "3.0.6614_rel/31.13"
_INSTALLED_AGO_S = 200 * 86_400

Json = dict[str, Any]


def _percent(plant: Plant, soc_wh: float) -> int:
    return round(100 * soc_wh / plant.config.unit_capacity_wh)


def _aggregate_percent(plant: Plant, snap: Snapshot) -> int:
    capacity = plant.config.unit_capacity_wh * len(snap.soc_wh)
    return round(100 * sum(snap.soc_wh) / capacity) if capacity else 0


def _device(plant: Plant, snap: Snapshot, index: int) -> Json:
    serial = plant.battery_serials[index]
    installed = int(snap.time) - _INSTALLED_AGO_S
    temperature = 22 + round(abs(snap.battery_w[index]) / 1000)
    return {
        "part_num": _PART,
        "serial_num": serial,
        "installed": installed,
        "device_status": ["envoy.global.ok", "prop.done"],
        "last_rpt_date": int(snap.time) - 15 * (index + 1),
        "admin_state": 6,
        "admin_state_str": "ENCHG_STATE_READY",
        "created_date": installed,
        "img_load_date": installed,
        "img_pnum_running": _FIRMWARE,
        "bmu_fw_version": "3.8.63",
        "communicating": True,
        "sleep_enabled": False,
        "percentFull": _percent(plant, snap.soc_wh[index]),
        "temperature": temperature,
        "maxCellTemp": temperature + 1,
        "reported_enc_grid_state": "grid-tied",
        "comm_level_sub_ghz": 4,
        "comm_level_2_4_ghz": 4,
        "led_status": 12,
        "dc_switch_off": False,
        "encharge_rev": 3,
        "encharge_capacity": round(plant.config.unit_capacity_wh),
        "phase": "ph-a",
        "der_index": 2,
    }


def inventory(plant: Plant, snap: Snapshot) -> list[Json]:
    if not plant.battery_serials:
        return []
    devices = [_device(plant, snap, i) for i in range(len(plant.battery_serials))]
    return [{"type": "ENCHARGE", "devices": devices}]


def power(plant: Plant, snap: Snapshot) -> Json:
    devices = [
        {
            "serial_num": serial,
            "real_power_mw": round(snap.battery_w[i] * 1000),
            "apparent_power_mva": round(snap.battery_w[i] * 1000),
            "soc": _percent(plant, snap.soc_wh[i]),
        }
        for i, serial in enumerate(plant.battery_serials)
    ]
    return {"devices:": devices}


def secctrl(plant: Plant, snap: Snapshot) -> Json | None:
    if not plant.battery_serials:
        return None
    cfg = plant.config
    capacity = round(cfg.unit_capacity_wh * len(plant.battery_serials))
    reserve_percent = plant.storage.reserve_soc_percent
    reserve = round(reserve_percent)
    soc = _aggregate_percent(plant, snap)
    return {
        "shutdown": False,
        "freq_bias_hz": 0.0,
        "voltage_bias_v": 0.0,
        "configured_backup_soc": reserve,
        "adjusted_backup_soc": reserve,
        "agg_soc": soc,
        "Max_energy": capacity,
        "ENC_agg_soc": soc,
        "ENC_agg_soh": 100,
        "ENC_agg_backup_energy": round(capacity * reserve_percent / 100),
        "ENC_agg_avail_energy": round(sum(snap.soc_wh)),
        "Enc_commissioned_capacity": capacity,
        "Enc_max_available_capacity": capacity,
        "ACB_agg_soc": 0,
        "ACB_agg_energy": 0,
        "VLS_Limit": 10,
        "soc_rec_enabled": False,
        "Commission_in_progress": False,
        "ESS_in_progress": False,
    }


def status(plant: Plant, snap: Snapshot) -> Json | None:
    control = secctrl(plant, snap)
    if control is None:
        return None
    serial_nums = {
        serial: {
            "device_type": 13,
            "com_interface_str": "CAN",
            "device_id": serial,
            "admin_state": 6,
            "admin_state_str": "ENCHG_STATE_READY",
            "reported_grid_mode": "multimode-ongrid",
            "phase": "ph-a",
            "encharge_capacity": round(plant.config.unit_capacity_wh),
            "encharge_rated_power": round(plant.config.unit_max_power_w),
            "part_number": _PART,
            "app_fw_version": _FIRMWARE,
        }
        for serial in plant.battery_serials
    }
    relay = {
        "mains_admin_state": "closed",
        "mains_oper_state": "closed",
        "Enchg_grid_mode": "multimode-ongrid",
        "Solar_grid_mode": "multimode-ongrid",
    }
    return {
        "inventory": {"serial_nums": serial_nums},
        "secctrl": control,
        "relay": relay,
        "fakeit": {"fake_inventory_mode": False},
    }


def tariff(plant: Plant, snap: Snapshot) -> Json | None:
    """The document a gateway starts with (see `tariff.TariffDocument` for what writes do):
    shaped like firmware 8.2's, with an evening peak (16:00 to 21:00) for economy mode."""
    if not plant.battery_serials:
        return None
    date = str(int(snap.time) - 30 * 86_400)
    settings = {
        "mode": "self-consumption",
        "operation_mode_sub_type": "",
        "reserved_soc": float(plant.config.reserve_soc_percent),
        "very_low_soc": 10,
        "charge_from_grid": False,
        "date": date,
        "opt_schedules": False,
    }
    periods = [
        {"id": "filler", "start": 0, "rate": 0.2},
        {"id": "period_1", "start": 960, "rate": 0.45},
        {"id": "filler", "start": 1260, "rate": 0.2},
    ]
    day = {
        "id": "all_days",
        "days": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
        "must_charge_start": 0,
        "must_charge_duration": 0,
        "must_charge_mode": "CG",
        "peak_rule": "DL",
        "enable_discharge_to_grid": False,
        "periods": periods,
    }
    season: Json = {"id": "all_year_long", "start": "1/1", "days": [day], "tiers": []}
    document = {
        "currency": {"code": "USD"},
        "logger": "mylogger",
        "date": date,
        "storage_settings": settings,
        "single_rate": {"rate": 0.3, "sell": 0.05},
        "seasons": [season],
        "seasons_sell": [],
    }
    schedule = {
        "filename": "Tariff",
        "source": "Tariff",
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(date))),
        "version": "00.00.02",
        "reserved_soc": settings["reserved_soc"],
        "very_low_soc": 10,
        "charge_from_grid": False,
        "batt_mode": "self-consumption",
        "battery_mode": "self-consumption",
        "operation_mode_sub_type": "",
        "opt_schedules": False,
        "override": False,
        "override_backup_soc": 30.0,
        "override_chg_dischg_rate": 0.0,
        "override_tou_mode": "StorageTouMode_DEFAULT_TOU_MODE",
    }
    return {"tariff": document, "schedule": schedule}
