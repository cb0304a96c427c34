"""Property tests: any valid value round-trips exactly; any invalid input changes nothing.

Hypothesis drives plain functions here, each running coroutines on one private event loop
with one store, so that a hundred examples do not open a hundred databases.
"""

from __future__ import annotations

import asyncio
import math
import re
import struct
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store, ValidationError
from tests.host.conftest import snapshot

T = TypeVar("T")
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

attribute_names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
secure_names = st.sampled_from(["api_token", "password", "client_secret", "private_key_pem"])
valid_values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
)
invalid_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not math.isfinite(f)),
    st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(min_size=1, max_size=3).map(lambda s: s + "\udc80"),
)
invalid_attribute_names = st.one_of(
    st.text(max_size=80).filter(lambda s: not _valid_attribute_name(s)),
    st.integers(),
)
invalid_device_names = st.one_of(
    st.just(""),
    st.text(min_size=101, max_size=120),
    st.text(max_size=20).map(lambda s: s + "\x00"),
    st.text(max_size=20).map(lambda s: " " + s),
    st.from_regex(r"\A[0-9]{1,10}\Z"),
)


def _valid_attribute_name(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) is not None


def same(a: object, b: object) -> bool:
    """Equal and of the same type; floats bit for bit (so -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


@contextmanager
def store_on_a_loop(tmp_path: Path) -> Iterator[tuple[Store, Any]]:
    db_path = tmp_path / "host.db"
    with asyncio.Runner() as runner:
        store = runner.run(Store.open(db_path, KeyRing.load_or_create(db_path)))

        def run(coroutine: Coroutine[Any, Any, T]) -> T:
            return runner.run(coroutine)

        try:
            yield store, run
        finally:
            runner.run(store.close())


def test_valid_values_round_trip_exactly(tmp_path: Path) -> None:
    with store_on_a_loop(tmp_path) as (store, run):
        device = run(store.add_device("envoy", "d"))

        @QUICK
        @given(st.dictionaries(attribute_names | secure_names, valid_values, max_size=6))
        def round_trip(values: dict[str, object]) -> None:
            run(store.set_attributes("device", device.id, values))  # type: ignore[arg-type]
            got = run(store.get_attributes("device", device.id))
            for name, value in values.items():
                assert same(got[name].value, value), (name, value, got[name].value)

        round_trip()


def test_invalid_values_change_nothing(tmp_path: Path) -> None:
    with store_on_a_loop(tmp_path) as (store, run):
        device = run(store.add_device("envoy", "d", attributes={"power": 1}))
        before = snapshot(tmp_path / "host.db")

        @QUICK
        @given(
            st.dictionaries(attribute_names, valid_values, max_size=3),
            st.one_of(
                st.tuples(attribute_names, invalid_values),
                st.tuples(invalid_attribute_names, valid_values),
            ),
        )
        def refused(good: dict[object, object], bad: tuple[object, object]) -> None:
            values = {**good, bad[0]: bad[1]}
            try:
                run(store.set_attributes("device", device.id, values))  # type: ignore[arg-type]
            except ValidationError:
                pass
            else:
                raise AssertionError(f"accepted {bad!r}")
            assert snapshot(tmp_path / "host.db") == before

        refused()


def test_invalid_device_names_change_nothing(tmp_path: Path) -> None:
    with store_on_a_loop(tmp_path) as (store, run):
        before = snapshot(tmp_path / "host.db")

        @QUICK
        @given(invalid_device_names, st.dictionaries(attribute_names, valid_values, max_size=3))
        def refused(name: str, values: dict[str, object]) -> None:
            try:
                run(store.add_device(name, "d", attributes=values))  # type: ignore[arg-type]
            except ValidationError:
                pass
            else:
                raise AssertionError(f"accepted device name {name!r}")
            assert snapshot(tmp_path / "host.db") == before

        refused()
