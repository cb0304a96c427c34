"""Fixtures for every test."""

from __future__ import annotations

import pytest

from tests.fakes import FakeDriver


@pytest.fixture(autouse=True)
def _no_fake_drivers_from_earlier_tests() -> None:
    # FakeDriver keeps its instances on the class; each test starts without those of others.
    FakeDriver.fresh()
