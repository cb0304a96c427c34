"""The attributes the enphase_envoy driver reports: what each is, and which are charted."""

from __future__ import annotations

from gem_envoy.drivers.enphase_envoy import storage
from gem_envoy.drivers.enphase_envoy.phases import PHASES
from gem_envoy.host.contract import AttributeSpec

LIVE_SOURCES = ("stream", "livedata", "poll")
LIVE_STATES = ("active", "idle", "off")


def _reading(
    name: str,
    kind: str,
    description: str,
    unit: str = "",
    *,
    total: bool = False,
    energy: str | None = None,
) -> AttributeSpec:
    """A measured value, charted over time; `energy` is a lifetime counter's report role."""
    return AttributeSpec(
        name, kind, description, history=True, unit=unit, total=total, energy=energy
    )


RUNTIME = (
    _reading("production_now_w", "int", "Instantaneous PV production.", "W"),
    _reading("production_today_wh", "int", "Today's production.", "Wh"),
    _reading(
        "production_lifetime_wh",
        "int",
        "Lifetime production.",
        "Wh",
        total=True,
        energy="production",
    ),
    _reading("consumption_now_w", "int", "Whole-home load (CT meter required).", "W"),
    _reading("consumption_today_wh", "int", "Today's consumption (CT meter required).", "Wh"),
    _reading(
        "consumption_lifetime_wh",
        "int",
        "Lifetime consumption (CT meter required).",
        "Wh",
        total=True,
        energy="consumption",
    ),
    _reading("net_power_w", "int", "Net power; positive = export, negative = import.", "W"),
    # The CTs' energy in each direction (/ivp/meters/readings): net CT, then storage CT.
    *(
        _reading(name, "int", description, "Wh", total=True, energy=role)
        for name, description, role in (
            (
                "grid_import_lifetime_wh",
                "Lifetime energy from the grid (net-consumption CT required).",
                "grid_import",
            ),
            (
                "grid_export_lifetime_wh",
                "Lifetime energy to the grid (net-consumption CT required).",
                "grid_export",
            ),
            (
                "battery_charged_lifetime_wh",
                "Lifetime energy into the battery (storage CT required).",
                "storage_charge",
            ),
            (
                "battery_discharged_lifetime_wh",
                "Lifetime energy out of the battery (storage CT required).",
                "storage_discharge",
            ),
        )
    ),
    _reading("inverter_count", "int", "Active microinverters reporting."),
    AttributeSpec("last_report_time", "str", "ISO timestamp of the last EIM/inverter reading."),
    AttributeSpec(
        "inverter_serials",
        "str",
        "Microinverter serials of the last inverter list, comma-separated (read while zones "
        "exist): what a new zone's serial is checked against.",
    ),
    _reading("battery_now_w", "int", "Encharge power. Positive = discharging.", "W"),
    _reading("battery_soc_percent", "float", "Encharge state-of-charge %.", "%"),
    _reading("battery_capacity_wh", "int", "Encharge stored energy.", "Wh"),
    AttributeSpec("battery_state", "str", "idle, charging or discharging."),
    *(
        _reading(f"{name}_{phase}", "int", f"{what} on phase {phase.upper()}.", "W")
        for name, what in (
            ("production_now_w", "PV production"),
            ("consumption_now_w", "Home load"),
            ("net_power_w", "Net power (positive = export)"),
        )
        for phase in PHASES
    ),
    AttributeSpec(
        "live_source",
        "str",
        "Where the power values come from now: stream (/stream/meter, installer token), "
        "livedata (/ivp/livedata/status) or poll.",
        choices=LIVE_SOURCES,
    ),
    AttributeSpec(
        "live_state",
        "str",
        "Whether live runs now: active (someone watches, or live_when is always), idle "
        "(nobody watches: the poll alone until someone opens the page) or off (live is false).",
        choices=LIVE_STATES,
    ),
    # The battery settings (storage.py): read with the battery totals, once a minute.
    AttributeSpec(
        "storage_mode",
        "str",
        "Encharge mode the gateway holds: self-consumption, backup or economy.",
        choices=storage.MODES,
    ),
    AttributeSpec(
        "battery_reserve_soc_percent",
        "float",
        "Charge the Encharge keeps for outages (reserved_soc).",
        unit="%",
        minimum=0,
        maximum=100,
    ),
    AttributeSpec("charge_from_grid", "bool", "Whether the Encharge may charge from the grid."),
    AttributeSpec(
        "storage_warning",
        "str",
        "Set when the gateway changed a battery setting back after it was written here "
        "(cloud overwrite?), until the next write.",
    ),
    AttributeSpec(
        "token_expires_at", "str", "When the JWT expires (from its exp claim).", expiry=True
    ),
    AttributeSpec("token_type", "str", "owner or installer (from the JWT)."),
    AttributeSpec(
        "token_warning",
        "str",
        "Set while the token expires within 30 days and will not be renewed: why, and what to do.",
    ),
    AttributeSpec(
        "certificate_sha256", "str", "The gateway certificate's SHA-256, trusted at first connect."
    ),
    AttributeSpec("certificate_expires_at", "str", "When that certificate expires.", expiry=True),
    AttributeSpec(
        "certificate_pending_sha256",
        "str",
        "A changed certificate no token is sent to, until an admin runs accept_certificate.",
    ),
)
# What the token and the gateway's identity are; everything else a poll cycle derives.
IDENTITY = frozenset(
    {
        "token_expires_at",
        "token_type",
        "token_warning",
        "certificate_sha256",
        "certificate_expires_at",
        "certificate_pending_sha256",
    }
)
# What a poll cycle derives (the live feed reports `live_source` and `live_state` itself).
TELEMETRY = frozenset(s.name for s in RUNTIME) - IDENTITY - {"live_source", "live_state"}

ZONE = (
    _reading("last_w", "int", "Inverter's last-reported wattage.", "W"),
    AttributeSpec("max_w", "int", "Inverter's lifetime max wattage.", unit="W"),
    AttributeSpec("state", "str", "Mirrors last_w so dashboard widgets render the value."),
    AttributeSpec("last_error", "str", "Set while the zone's serial is not in the inverter list."),
    AttributeSpec("last_report_time", "str", "ISO timestamp of the inverter's own last report."),
)
