"""The value types every part of the host shares, defined once.

The driver contract, the store, the API and the sink all speak of attribute values and of
the two kinds of target that carry them; they import these names from here.
"""

from __future__ import annotations

from typing import Literal

AttributeValue = int | float | str | bool
"""What an attribute holds. The store also takes None in writes, meaning "delete it"."""

TargetType = Literal["device", "zone"]
TARGET_TYPES: tuple[TargetType, ...] = ("device", "zone")

Json = object
"""A JSON-ready value: what a command answers and takes as arguments. Kept as `object`
because drivers build it from parsed gateway documents of any shape; the API encodes it and
answers 502 when it is not JSON after all."""
