"""How a rollup bucket is stored (migration 0006_rollup_series.sql): compactly, and read back
as it was folded.

A bucket keeps the total of its points rather than their mean, and leaves its minimum and
maximum out (NULL) where they equal the mean. The driver's watts and watt-hours are whole
numbers, so are their totals, and SQLite keeps a whole value of a REAL column as a small
integer on disk, where a mean (rarely whole) took eight bytes; a bucket of one point (a
zone whose device reports every 5 minutes) or of a steady value (night) stores one number.

The view `rollup_buckets` applies the reverse (mean = total / count, the missing minimum
and maximum are the mean), so reads get the mean the fold computed, bit for bit where the
points are whole numbers (and within a rounding of the last bit otherwise).
"""

from __future__ import annotations

from .models import Rollup

BucketRow = tuple[float, int, float, float | None, float | None, float | None]
"""start, count, total, minimum (None: the mean), maximum (None: the mean), delta."""

# How far from a whole number mean x count may land by float error alone, relative to it:
# the mean of whole numbers is their total divided by the count, rounded to 53 bits, so the
# product comes back within a few parts in 10^16 of the total. (A value this close to a
# whole number that was not one moves by less than a billionth of itself.)
_WHOLE_TOLERANCE = 1e-9


def bucket_row(bucket: Rollup) -> BucketRow:
    """The row that stores `bucket`."""
    assert bucket.mean is not None, "a folded bucket has a mean"
    total = _whole_if_close(bucket.mean * bucket.count)
    mean = total / bucket.count  # as the view will read it back
    return (
        bucket.start,
        bucket.count,
        total,
        None if bucket.minimum == mean else bucket.minimum,
        None if bucket.maximum == mean else bucket.maximum,
        bucket.delta,
    )


def _whole_if_close(value: float) -> float:
    nearest = float(round(value))
    return nearest if abs(value - nearest) <= _WHOLE_TOLERANCE * abs(value) else value
