"""The Store's history methods: points, bulk history, retention and rollups.

A part of `Store` (which inherits it) kept in a module of its own: it uses the store's
reader and writer (`_read`, `_write`) and its settings, and the SQL of `attributes`,
`history_bulk`, `rollups` and `energy_sums`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection, Iterable, Sequence
from functools import partial

from ..secrets import KeyRing
from . import attributes as attribute_sql
from . import energy_sums, history_bulk, rollups
from .dbthread import Job, T
from .history_bulk import HistorySeries
from .models import Rollup, ValidationError
from .validate import check_attribute_name, check_id, check_target_type, check_time

log = logging.getLogger(__name__)

HISTORY_RETENTION_KEY = "history_retention_days"
DEFAULT_RETENTION_DAYS = 10
ROLLUP_RETENTION_KEY = "rollup_5min_retention_days"  # hourly rollups are kept forever
DEFAULT_ROLLUP_RETENTION_DAYS = 365
RETENTION = {
    HISTORY_RETENTION_KEY: DEFAULT_RETENTION_DAYS,
    ROLLUP_RETENTION_KEY: DEFAULT_ROLLUP_RETENTION_DAYS,
}
_DAY = 86400.0


class HistoryMethods:
    _keyring: KeyRing
    _counters: frozenset[str]

    async def _read(self, job: Job[T]) -> T:
        raise NotImplementedError  # the Store's

    async def _write(self, job: Job[T]) -> T:
        raise NotImplementedError  # the Store's

    async def get_setting(self, key: str, default: str) -> str:
        raise NotImplementedError  # the Store's

    async def history(
        self,
        target_type: str,
        target_id: int,
        name: str,
        since: float,
        until: float | None = None,
    ) -> list[tuple[float, float]]:
        """(timestamp, value) points with since <= timestamp <= until, oldest first."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(
            attribute_sql.history,
            target=target,
            name=check_attribute_name(name),
            since=check_time("since", since),
            until=None if until is None else check_time("until", until),
        )
        return await self._read(job)

    async def add_history(self, series: Iterable[HistorySeries]) -> int:
        """Insert many past points at once, in one transaction (all or none): generated or
        imported history, beside what polls record. Returns how many points were added.

        Points are checked as they are written (targets exist, names are valid and not
        secure, timestamps and values finite); `series` may be a generator, so that a long
        backfill is never held in memory whole.
        """
        return await self._write(partial(history_bulk.add_history, series=series))

    async def latest_history(self, target_type: str, target_id: int) -> float | None:
        """When the newest history point of a device or zone was recorded (None: never)."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        return await self._read(partial(history_bulk.latest_history, target=target))

    async def prune_history(self, now: float | None = None) -> int:
        """Delete history points older than the retention setting, but none before it is
        rolled up; returns how many. In jobs of a bounded size, so that polls never wait."""
        now = time.time() if now is None else check_time("now", now)
        days = await self.retention_days(HISTORY_RETENTION_KEY)
        return await self._prune(partial(rollups.prune_raw, cutoff=now - days * _DAY))

    async def prune_rollups(self, now: float | None = None) -> int:
        """Delete 5-minute rollups older than their retention setting (but none before its
        hour is folded); returns how many. Hourly rollups are kept forever."""
        now = time.time() if now is None else check_time("now", now)
        days = await self.retention_days(ROLLUP_RETENTION_KEY)
        return await self._prune(partial(rollups.prune_five_minutes, cutoff=now - days * _DAY))

    async def _prune(self, job: Job[int]) -> int:
        removed = 0
        while (batch := await self._write(job)) > 0:
            removed += batch
            if batch < rollups.PRUNE_ROWS:
                break
        return removed

    async def retention_days(self, key: str) -> float:
        """The days of history (`HISTORY_RETENTION_KEY`) or of 5-minute rollups
        (`ROLLUP_RETENTION_KEY`) kept, as set or by default."""
        default = RETENTION[key]
        text = await self.get_setting(key, str(default))
        try:
            return parse_retention(key, text)
        except ValidationError as exc:
            # set_setting refuses such values, so the row was edited by hand; keep running.
            log.warning("%s; keeping %d days", exc, default)
            return default

    # Rollups (see `rollups` and `folding`)

    def declare_counters(self, names: Collection[str]) -> None:
        """The attribute names that are lifetime counters (their drivers declare them
        `total`): their rollups add up energy per bucket. Before the first `roll_up`."""
        self._counters = frozenset(names)

    async def roll_up(self, now: float | None = None) -> int:
        """One pass: fold every series' complete buckets that are not yet folded, one
        bounded batch per writer job. Returns how many buckets were written."""
        now = time.time() if now is None else check_time("now", now)
        until = rollups.complete_until(now)
        written = 0
        for series in await self._read(rollups.list_series):
            job = partial(
                rollups.fold_batch, series=series, counter=series[2] in self._counters, until=until
            )
            finished = False
            while not finished:
                count, finished = await self._write(job)
                written += count
        return written

    async def rollups(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> list[Rollup]:
        """The buckets of `resolution_s` (300 or 3600) seconds starting at since <= start <
        until, oldest first. Buckets without points are absent."""
        target, name, resolution = _series(target_type, target_id, name, resolution_s)
        since, until = _span(since, until)
        job = partial(rollups.read_rollups, target=target, name=name, resolution=resolution)
        return await self._read(partial(job, since=since, until=until))

    async def rolled_up_history(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> list[tuple[float, float]]:
        """A long chart's (timestamp, value) points, oldest first, in one read: a point per
        bucket of `resolution_s` seconds (its middle; its mean, or a counter's maximum) up to
        where the series is folded, then the raw points after; since <= timestamp <= until."""
        target, name, resolution = _series(target_type, target_id, name, resolution_s)
        since, until = _span(since, until)
        job = partial(rollups.rolled_up_history, target=target, name=name, resolution=resolution)
        return await self._read(partial(job, since=since, until=until))

    async def rolled_up_until(
        self, target_type: str, target_id: int, name: str, resolution_s: int
    ) -> float | None:
        """Where the series' buckets of `resolution_s` end: every bucket before is final,
        the points from there on are raw only. None: nothing folded yet."""
        target, name, resolution = _series(target_type, target_id, name, resolution_s)
        job = partial(rollups.rolled_up_until, target=target, name=name, resolution=resolution)
        return await self._read(job)

    async def counter_energy(
        self, target_type: str, target_id: int, name: str, resolution_s: int, edges: Sequence[float]
    ) -> energy_sums.CounterEnergy:
        """A lifetime counter's rollup energy summed per bucket between consecutive `edges`,
        and its raw readings after the rollups, in one read (`energy_sums`)."""
        target, name, resolution = _series(target_type, target_id, name, resolution_s)
        times = [check_time("edge", edge) for edge in edges]
        if len(times) < 2 or times != sorted(times):
            raise ValidationError("energy buckets need two or more ascending edges")
        job = partial(energy_sums.counter_energy, target=target, name=name, resolution=resolution)
        return await self._read(partial(job, edges=times))


def _series(
    target_type: str, target_id: int, name: str, resolution_s: int
) -> tuple[tuple[str, int], str, int]:
    """A series of rollups, checked: its target, its name, its resolution."""
    target = (check_target_type(target_type), check_id("target id", target_id))
    return target, check_attribute_name(name), check_resolution(resolution_s)


def _span(since: float, until: float | None) -> tuple[float, float | None]:
    return check_time("since", since), None if until is None else check_time("until", until)


def check_resolution(value: object) -> int:
    if isinstance(value, bool) or value not in rollups.RESOLUTIONS:
        raise ValidationError(f"rollups are by 300 or 3600 seconds, not {value!r}")
    assert isinstance(value, int)
    return value


def parse_retention(key: str, text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and days > 0):
        raise ValidationError(f"{key} must be a positive number of days, not {text!r}")
    return days
