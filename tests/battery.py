"""Battery settings writes for tests: a write of each kind that changes a gateway's settings,
and the check that a tariff changed in that one field only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ECONOMY_WORDS = ("economy", "savings-mode")


@dataclass(frozen=True, slots=True)
class Write:
    action: str
    args: dict[str, str]
    key: str  # the storage_settings field it changes
    value: object  # what that field holds afterwards


def writes_changing(settings: dict[str, Any]) -> list[Write]:
    """One write per setting, each to a value the gateway does not hold yet (and may take)."""
    mode = "self-consumption" if settings.get("mode") == "backup" else "backup"
    very_low = settings.get("very_low_soc") or 0
    reserve = very_low + 5
    if settings.get("reserved_soc") == reserve:
        reserve += 5
    grid = not settings.get("charge_from_grid")
    return [
        Write("set_storage_mode", {"mode": mode}, "mode", mode),
        Write("set_reserve_soc", {"percent": str(reserve)}, "reserved_soc", reserve),
        Write(
            "set_charge_from_grid",
            {"enabled": "true" if grid else "false"},
            "charge_from_grid",
            grid,
        ),
    ]


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, object]:
    """The fields of `tariff` (and of its storage_settings, as `storage_settings.KEY`) whose
    parsed values differ, with their new values."""
    changed: dict[str, object] = {}
    for key in sorted(before.keys() | after.keys()):
        if key == "storage_settings":
            old, new = before.get(key) or {}, after.get(key) or {}
            for inner in sorted(old.keys() | new.keys()):
                if _differs(old.get(inner, _MISSING), new.get(inner, _MISSING)):
                    changed[f"storage_settings.{inner}"] = new.get(inner, _MISSING)
        elif _differs(before.get(key, _MISSING), after.get(key, _MISSING)):
            changed[key] = after.get(key, _MISSING)
    return changed


_MISSING = "(missing)"


def _differs(a: object, b: object) -> bool:
    """Unequal, or equal numbers of another type (20 and 20.0 are not the same bytes)."""
    return a != b or type(a) is not type(b)
