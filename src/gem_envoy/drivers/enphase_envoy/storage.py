"""Battery settings: the storage mode, the reserve and charging from the grid, written safely.

The gateway keeps them in `/admin/lib/tariff` (gateway-wire-formats.md section 1). A write:

1. is refused, with no request sent, when it cannot be right: an argument out of range, no
   Encharge on this gateway, a gateway that did not give its tariff when last asked, a reserve
   below the gateway's `very_low_soc`, another write to this device still running;
2. reads the tariff fresh (never a cached copy: the app or another integration may have
   changed it since), changes the one field asked for and PUTs `{"tariff": ...}` back with every
   other field exactly as read, unknown ones included; `schedule` is the gateway's own and is
   never sent. While `opt_schedules` is true the gateway stores a mode and ignores it
   (section 1.5), so a mode write then also sends `opt_schedules: false`, and says so;
3. reads the tariff again: the answer is what the gateway now holds, and a value that did not
   take is an error, not a success;
4. is watched for 3 minutes at the pace the poller reads the tariff anyway (no extra request):
   Enlighten's cloud is known to push its own settings back within a minute or two. A revert
   is reported once (`storage_warning` and a log line) and never fought: nothing is written
   again without a new command.

`dry_run=true` answers the exact body a write would send and what it changes, after the same
checks and the same fresh read, and sends nothing else.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gem_envoy.drivers.enphase_envoy.derive import Attributes, has_encharge, storage_attributes
from gem_envoy.envoy import parse
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import AuthRejected, BadResponse, EnvoyError, NotFound, NotPermitted
from gem_envoy.envoy.models import EnsembleInventory, Tariff
from gem_envoy.envoy.paths import TARIFF
from gem_envoy.host.contract import CommandRefused, DeviceError, Json

log = logging.getLogger(__name__)

WATCH_S = 180.0
"""How long after a write a change made by someone else is reported as a revert."""

MODES = ("self-consumption", "backup", "economy")
_MODE_WORDS = {
    "self-consumption": "self-consumption",
    "backup": "backup",
    "economy": "economy",
    "savings": "economy",  # the app's word for economy
    "savings-mode": "economy",  # old firmware's spelling
}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")

SET_MODE = "set_storage_mode"
SET_RESERVE = "set_reserve_soc"
SET_GRID_CHARGE = "set_charge_from_grid"
GET_SETTINGS = "get_storage_settings"
ACTIONS = (SET_MODE, SET_RESERVE, SET_GRID_CHARGE, GET_SETTINGS)


# -- what was asked ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One field of `tariff.storage_settings` to set, with its new value (mode normalised:
    `economy` for savings and savings-mode)."""

    key: str  # "mode", "reserved_soc", "charge_from_grid"
    value: str | float | bool


@dataclass(frozen=True, slots=True)
class Asked:
    """A storage command's arguments, checked: the change (None for a read), and dry_run."""

    change: Change | None
    dry_run: bool


def _flag(action: str, name: str, text: str | None) -> bool:
    word = (text or "").strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CommandRefused(f"{action}: {name} must be true or false, not {text!r}")


def _percent(action: str, text: str | None) -> float:
    if text is None or not text.strip():
        raise CommandRefused(f"{action}: give the reserve as percent=0..100")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise CommandRefused(f"{action}: percent must be a number from 0 to 100, not {text!r}")
    return round(value, 1)


def asked(action: str, args: Mapping[str, str]) -> Asked:
    """Check a storage command's arguments before anything is sent (CommandRefused)."""
    dry_run = _flag(action, "dry_run", args["dry_run"]) if "dry_run" in args else False
    if action == SET_MODE:
        word = (args.get("mode") or "").strip().lower()
        if word not in _MODE_WORDS:
            raise CommandRefused(
                f"{action}: mode must be self-consumption, backup or economy (savings is "
                f"economy), not {args.get('mode')!r}"
            )
        return Asked(Change("mode", _MODE_WORDS[word]), dry_run)
    if action == SET_RESERVE:
        return Asked(Change("reserved_soc", _percent(action, args.get("percent"))), dry_run)
    if action == SET_GRID_CHARGE:
        if "enabled" not in args:
            raise CommandRefused(f"{action}: give enabled=true or enabled=false")
        return Asked(Change("charge_from_grid", _flag(action, "enabled", args["enabled"])), dry_run)
    return Asked(None, dry_run)


# -- the write, worked out from the tariff as read ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What a write sends: the whole `tariff` object, and the fields it changes."""

    tariff: dict[str, object]
    changed: dict[str, tuple[object, object]]  # storage_settings key -> (as read, as sent)
    notes: tuple[str, ...]

    @property
    def body(self) -> dict[str, object]:
        return {"tariff": self.tariff}


def _same(key: str, a: object, b: object) -> bool:
    if key == "mode":
        return _normal_mode(a) == _normal_mode(b)
    if key == "reserved_soc":
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        return numbers and abs(float(a) - float(b)) < 0.05  # type: ignore[arg-type]
    return a == b


def _normal_mode(value: object) -> object:
    return _MODE_WORDS.get(value, value) if isinstance(value, str) else value


def _shown(key: str, value: object) -> str:
    if key == "mode":
        return str(_normal_mode(value))
    if key == "reserved_soc":
        return f"{value:g} %" if isinstance(value, int | float) else str(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def settings_of(tariff: Tariff) -> dict[str, object]:
    """`tariff.storage_settings` as the gateway sent it; CommandRefused when it has none."""
    settings = tariff.editable().get("storage_settings")
    if not isinstance(settings, dict):
        raise CommandRefused(
            "this gateway's tariff has no storage settings (its firmware keeps none), so there "
            "is nothing to change; no write was sent"
        )
    return settings


def plan_write(tariff: Tariff, change: Change, economy_word: str = "economy") -> Plan:
    """The write of `change` into `tariff` as read: one field (and opt_schedules, for a mode
    while it is true), everything else exactly as the gateway sent it. `economy_word` is
    how this gateway spells economy (old firmware: savings-mode), when it was seen before."""
    document = tariff.editable()
    settings = settings_of(tariff)
    document["storage_settings"] = settings
    notes: list[str] = []
    sent: dict[str, object] = {}
    if change.key == "mode":
        spelled = tariff.storage.mode_as_sent if tariff.storage else None
        if spelled in ("economy", "savings-mode"):
            economy_word = spelled
        # Write back the spelling this gateway uses: old firmware says savings-mode.
        sent["mode"] = economy_word if change.value == "economy" else change.value
        if settings.get("opt_schedules") is True:
            sent["opt_schedules"] = False
            notes.append(
                "opt_schedules was true: the gateway would store the mode and ignore it, so "
                "opt_schedules: false is sent with it"
            )
    elif change.key == "reserved_soc":
        sent["reserved_soc"] = _reserve_value(settings, float(change.value))
        if _normal_mode(settings.get("mode")) == "backup":
            notes.append("in backup mode the battery is kept full whatever the reserve")
    else:
        sent[change.key] = change.value
    changed = {
        key: (settings.get(key), value)
        for key, value in sent.items()
        if key not in settings or not _same(key, settings.get(key), value)
    }
    settings.update(sent)
    return Plan(document, changed, tuple(notes))


def _reserve_value(settings: Mapping[str, object], percent: float) -> int | float:
    """The reserve in the type this gateway sends (some firmware sends whole numbers)."""
    very_low = settings.get("very_low_soc")
    if isinstance(very_low, int | float) and not isinstance(very_low, bool) and percent < very_low:
        raise CommandRefused(
            f"{SET_RESERVE}: the gateway keeps at least very_low_soc = {very_low:g} % in the "
            f"battery and would refuse a reserve of {percent:g} %; choose {very_low:g} or more. "
            "No write was sent"
        )
    current = settings.get("reserved_soc")
    whole = isinstance(current, int) and not isinstance(current, bool)
    return int(percent) if whole and percent.is_integer() else percent


def mismatches(plan: Plan, now: Tariff) -> list[str]:
    """What the gateway holds differently from what the write sent, in words."""
    held = settings_of(now)
    return [
        f"{key} is {_shown(key, held.get(key))}, not {_shown(key, sent)}"
        for key, (_, sent) in plan.changed.items()
        if not _same(key, held.get(key), sent)
    ]


def _changed_json(plan: Plan) -> dict[str, Json]:
    return {key: {"from": old, "to": new} for key, (old, new) in plan.changed.items()}


# -- one device's writes and watch -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A storage command's answer, and the attributes it read fresh."""

    result: Json
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class _Watch:
    """A verified write, watched for a revert until `until` (monotonic seconds)."""

    expected: dict[str, object]
    written_at: float
    until: float


_WORDS = {
    "mode": "storage mode",
    "reserved_soc": "battery reserve",
    "charge_from_grid": "charge from grid",
}


class StorageControl:
    """One gateway's battery settings: what the poller last read of them, the writes (one at a
    time), and the watch after a write. The driver keeps one per device; the one-shot command
    makes one per command."""

    def __init__(self, device: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.device = device
        self._clock = clock
        self.tariff: Tariff | None = None  # the latest tariff read, by a poll or a command
        self.tariff_problem: str | None = None  # why the last read gave no tariff
        self.inventory: EnsembleInventory | None = None
        self.inventory_problem: str | None = None  # why the inventory could not be read
        self.inventory_known = False
        self.warning: str | None = None  # a revert seen by the watch, until the next write
        self.economy_word = "economy"  # "savings-mode" once this gateway was seen to say so
        self._watch: _Watch | None = None
        self._writing = False

    # -- what the poller tells it -----------------------------------------------------------

    def saw_inventory(self, inventory: EnsembleInventory | None, problem: str | None) -> None:
        self.inventory, self.inventory_problem = inventory, problem
        self.inventory_known = True

    def saw_tariff(self, tariff: Tariff | None, problem: str | None = None) -> None:
        """A fresh read by the poller (at its battery pace): the latest tariff, compared with
        the last write while it is watched."""
        self._learn(tariff, problem)
        if tariff is not None:
            self._check_watch(tariff)

    def _learn(self, tariff: Tariff | None, problem: str | None) -> None:
        self.tariff, self.tariff_problem = tariff, problem
        spelled = tariff.storage.mode_as_sent if tariff and tariff.storage else None
        if spelled in ("economy", "savings-mode"):
            self.economy_word = spelled

    def forget(self) -> None:
        """A new token: what the old one could or could not read says nothing now."""
        self.tariff = self.inventory = None
        self.tariff_problem = self.inventory_problem = None
        self.inventory_known = False

    def attributes(self) -> Attributes:
        """storage_mode, battery_reserve_soc_percent, charge_from_grid (with an Encharge and
        a tariff that has them) and storage_warning (while a revert is reported)."""
        attrs: Attributes = {}
        if has_encharge(self.inventory):
            attrs.update(storage_attributes(self.tariff))
        if self.warning is not None:
            attrs["storage_warning"] = self.warning
        return attrs

    def _check_watch(self, tariff: Tariff) -> None:
        watch = self._watch
        if watch is None:
            return
        now = self._clock()
        if now > watch.until:
            self._watch = None
            return
        held = tariff.editable().get("storage_settings")
        if not isinstance(held, dict):
            return
        for key, wanted in watch.expected.items():
            if _same(key, held.get(key), wanted):
                continue
            self._watch = None  # reported once; never written again from here
            self.warning = _revert_message(key, held.get(key), now - watch.written_at)
            log.warning("device %s: %s", self.device or "(gateway)", self.warning)
            return

    # -- commands ---------------------------------------------------------------------------

    async def run(self, client: EnvoyClient, action: str, args: Mapping[str, str]) -> Answer:
        """One storage command. CommandRefused for what is refused (nothing written),
        DeviceError when the gateway fails."""
        request = asked(action, args)
        change = request.change
        if change is None:
            return self._settings_answer(await self._read_fresh(client))
        if request.dry_run:
            await self._check_before_reading(client, action, change)
            tariff = await self._read_fresh(client)
            return self._dry_run(plan_write(tariff, change, self.economy_word))
        if self._writing:
            raise CommandRefused(
                f"{action}: another battery settings write to this device is still running; "
                "wait for its answer. No write was sent"
            )
        self._writing = True
        try:
            await self._check_before_reading(client, action, change)
            return await self._write(client, change)
        finally:
            self._writing = False

    async def _check_before_reading(self, client: EnvoyClient, action: str, change: Change) -> None:
        """The refusals that need no look at the tariff now (CommandRefused)."""
        await self._require_encharge(client, action)
        self._refuse_without_tariff(action)
        if self.tariff is not None and change.key == "reserved_soc":
            _reserve_value(settings_of(self.tariff), float(change.value))

    async def _require_encharge(self, client: EnvoyClient, action: str) -> None:
        if not self.inventory_known:  # a one-shot command: ask the gateway once
            try:
                inventory = await client.ensemble_inventory()
            except (NotFound, NotPermitted, AuthRejected) as exc:
                self.saw_inventory(None, exc.message)
            else:
                self.saw_inventory(inventory, None)
        if self.inventory is None:
            why = self.inventory_problem or "the battery inventory has not been read"
            raise CommandRefused(
                f"{action}: cannot tell whether this gateway has an Encharge battery ({why}); "
                "battery settings need a token that may read /ivp/ensemble/inventory. "
                "No write was sent"
            )
        if not has_encharge(self.inventory):
            raise CommandRefused(
                f"{action}: this gateway lists no Encharge battery, so it has no battery "
                "settings to change. No write was sent"
            )

    def _refuse_without_tariff(self, action: str) -> None:
        if self.tariff is None and self.tariff_problem is not None:
            raise CommandRefused(
                f"{action}: the gateway did not give its tariff when last asked "
                f"({self.tariff_problem}); battery settings live there. No write was sent"
            )
        if self.tariff is not None:
            settings_of(self.tariff)

    async def _read_fresh(self, client: EnvoyClient) -> Tariff:
        """The tariff now, before a write. What the gateway says instead of a tariff is a
        refusal (there is nothing to change); a gateway that fails to answer is a
        DeviceError. Either way no write was sent, and the message says so."""
        try:
            return await self._read(client)
        except (NotFound, NotPermitted, AuthRejected) as exc:
            raise CommandRefused(f"{exc.message}; no write was sent") from None
        except BadResponse as exc:
            raise CommandRefused(
                f"the gateway did not give its tariff ({exc.message}); no write was sent"
            ) from None
        except EnvoyError as exc:
            raise DeviceError(f"{exc.message}; no write was sent") from exc

    async def _read(self, client: EnvoyClient) -> Tariff:
        """The tariff now (EnvoyError when the gateway gives none), remembered."""
        try:
            body = await client.fetch(TARIFF)
        except (NotFound, NotPermitted, AuthRejected) as exc:
            self._learn(None, exc.message)
            raise
        try:
            tariff = parse.parse_tariff(body)
        except BadResponse as exc:
            self._learn(None, exc.message)
            raise
        self._learn(tariff, None)
        return tariff

    def _settings_answer(self, tariff: Tariff) -> Answer:
        settings = tariff.editable().get("storage_settings")
        result: dict[str, Json] = {"storage_settings": settings}
        if tariff.storage is not None:
            result["mode"] = tariff.storage.mode
        return Answer(result, self._attributes_of(tariff))

    def _attributes_of(self, tariff: Tariff) -> Attributes:
        return storage_attributes(tariff) if has_encharge(self.inventory) else {}

    def _dry_run(self, plan: Plan) -> Answer:
        result: dict[str, Json] = {
            "dry_run": True,
            "sent": False,
            "method": "PUT",
            "path": TARIFF,
            "body": plan.body,
            "changed": _changed_json(plan),
            "notes": list(plan.notes),
        }
        if not plan.changed:
            result["notes"] = [*plan.notes, "the gateway already holds this: nothing would be sent"]
        return Answer(result, {})

    async def _write(self, client: EnvoyClient, change: Change) -> Answer:
        plan = plan_write(await self._read_fresh(client), change, self.economy_word)
        now = self.tariff
        assert now is not None  # just read
        if not plan.changed:
            result: dict[str, Json] = {
                "verified": True,
                "changed": {},
                "storage_settings": settings_of(now),
                "notes": [*plan.notes, "the gateway already holds this: nothing was sent"],
            }
            return Answer(result, self._attributes_of(now))
        self.warning = None  # a new write: an older revert is no longer the news
        self._watch = None
        log.info(
            "device %s: writing storage settings %s",
            self.device or "(gateway)",
            json.dumps(_changed_json(plan)),
        )
        try:
            await client.put_tariff(plan.tariff)
        except EnvoyError as exc:
            raise await self._failed_put(client, plan, exc) from exc
        try:
            now = await self._read(client)
        except EnvoyError as exc:
            raise DeviceError(
                f"the gateway took the write (HTTP 200), but reading it back failed: "
                f"{exc.message}; run get_storage_settings to see what it holds"
            ) from None
        wrong = mismatches(plan, now)
        if wrong:
            raise DeviceError(
                "the gateway answered the write with 200 but does not hold it: "
                f"{'; '.join(wrong)}. Its firmware may ignore local battery settings, or the "
                "cloud overwrote them at once; nothing was written again"
            )
        self._start_watch(plan)
        result = {
            "verified": True,
            "changed": _changed_json(plan),
            "storage_settings": settings_of(now),
            "notes": [*plan.notes, *self._schedule_notes(plan, now)],
            "watch": f"watching for {WATCH_S / 60:g} minutes for the cloud to change it back",
        }
        return Answer(result, self._attributes_of(now))

    async def _failed_put(self, client: EnvoyClient, plan: Plan, error: EnvoyError) -> Exception:
        """The error for a PUT that failed, with what the gateway holds now if it can say."""
        try:
            now = await self._read(client)
        except EnvoyError:
            return DeviceError(
                f"{error.message}; whether the gateway took the write is not known: run "
                "get_storage_settings"
            )
        wrong = mismatches(plan, now)
        if not wrong:
            self._start_watch(plan)
            return DeviceError(f"{error.message}; yet the gateway now holds the new setting")
        return DeviceError(f"{error.message}; the gateway did not take it ({'; '.join(wrong)})")

    def _start_watch(self, plan: Plan) -> None:
        now = self._clock()
        expected = {key: new for key, (_, new) in plan.changed.items()}
        self._watch = _Watch(expected, now, now + WATCH_S)

    @staticmethod
    def _schedule_notes(plan: Plan, now: Tariff) -> list[str]:
        """The schedule the gateway derived, where it says the battery will not follow."""
        if "mode" not in plan.changed or now.schedule is None:
            return []
        wanted = _normal_mode(plan.changed["mode"][1])
        for key in ("batt_mode", "battery_mode"):
            running = now.schedule.get(key)
            if isinstance(running, str) and _normal_mode(running) != wanted:
                return [
                    f"the gateway's schedule still says {key} {running}: the battery may keep "
                    "its old behaviour"
                ]
        return []


def _revert_message(key: str, value: object, after_s: float) -> str:
    if key == "opt_schedules":
        what = "opt_schedules was turned back on by the gateway (cloud overwrite?)"
        consequence = ": the battery may ignore the storage mode set here"
    else:
        what = f"{_WORDS[key]} was changed back to {_shown(key, value)} by the gateway"
        what += " (cloud overwrite?)"
        consequence = ""
    minutes = max(1, round(after_s / 60))
    return (
        f"{what}{consequence}, within {minutes} min of being set here; gem-envoy does not "
        "write it again: set it in the Enphase app, or see the README (cloud overwrite)"
    )
