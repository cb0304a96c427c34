"""The attribute derivation on arbitrary parsed payloads: never an exception, always typed."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gem_envoy.drivers.enphase_envoy.attributes import RUNTIME
from gem_envoy.drivers.enphase_envoy.derive import (
    Readings,
    device_attributes,
    storage_attributes,
    zones_attributes,
)
from gem_envoy.envoy.models import (
    BatteryPower,
    EnsembleDevice,
    EnsembleInventory,
    Inverter,
    ProductionEntry,
    ProductionReport,
    SecCtrl,
    StorageSettings,
    Tariff,
    V1Production,
)

EXAMPLES = int(os.environ.get("GEM_ENVOY_FUZZ_EXAMPLES") or (2000 if os.environ.get("CI") else 200))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

numbers = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
maybe = st.none() | numbers
epochs = st.none() | st.integers(min_value=-(2**40), max_value=2**40)
entries = st.builds(
    ProductionEntry,
    type=st.sampled_from(["inverters", "eim", "acb", "other"]),
    measurement_type=st.sampled_from([None, "production", "total-consumption", "net-consumption"]),
    active_count=st.integers(min_value=-1, max_value=50),
    reading_time=epochs,
    w_now=maybe,
    wh_today=maybe,
    wh_lifetime=maybe,
    wh_now=maybe,
    percent_full=maybe,
    state=st.none() | st.text(max_size=12),
)
reports = st.builds(
    ProductionReport,
    production=st.tuples(*[entries] * 2) | st.just(()),
    consumption=st.lists(entries, max_size=3).map(tuple),
    storage=st.lists(entries, max_size=2).map(tuple),
)
inventories = st.builds(
    EnsembleInventory,
    devices=st.lists(
        st.builds(
            EnsembleDevice,
            type=st.sampled_from(["ENCHARGE", "ENPOWER"]),
            serial=st.text(max_size=6),
            percent_full=maybe,
            capacity_wh=maybe,
            temperature=maybe,
            communicating=st.none() | st.booleans(),
            admin_state=st.none() | st.text(max_size=6),
        ),
        max_size=4,
    ).map(tuple),
)
readings = st.builds(
    Readings,
    production=st.none() | reports,
    v1=st.none() | st.builds(V1Production, numbers, numbers, numbers, numbers),
    inventory=st.none() | inventories,
    battery_power=st.none()
    | st.lists(st.builds(BatteryPower, st.text(max_size=4), numbers, maybe, maybe), max_size=4).map(
        tuple
    ),
    secctrl=st.none() | st.builds(SecCtrl, maybe, maybe, maybe, maybe, maybe, maybe, maybe, maybe),
)
KINDS = {"int": int, "float": float, "str": str, "bool": bool}
TYPES = {spec.name: KINDS[spec.type] for spec in RUNTIME}


@PROPERTY
@given(readings)
def test_any_readings_give_typed_attributes_of_the_contract(r: Readings) -> None:
    attrs = device_attributes(r)
    for name, value in attrs.items():
        assert name in TYPES, name
        assert type(value) is TYPES[name], (name, value)
    if r.production is None and r.v1 is None:
        assert not [n for n in attrs if n.startswith(("production", "consumption", "net"))]


@PROPERTY
@given(
    st.none()
    | st.builds(
        StorageSettings,
        mode=st.none() | st.sampled_from(["self-consumption", "backup", "economy"]),
        operation_mode_sub_type=st.none() | st.text(max_size=4),
        reserved_soc=maybe,
        very_low_soc=maybe,
        charge_from_grid=st.none() | st.booleans(),
        opt_schedules=st.none() | st.booleans(),
    )
)
def test_storage_settings_give_typed_attributes_of_the_contract(
    settings: StorageSettings | None,
) -> None:
    attrs = storage_attributes(Tariff({}, settings, None))
    for name, value in attrs.items():
        assert type(value) is TYPES[name], (name, value)
    if settings is None:
        assert attrs == {}


@PROPERTY
@given(
    st.lists(
        st.builds(
            Inverter,
            serial=st.text(max_size=4),
            last_report_date=st.integers(0, 2**32),
            dev_type=st.integers(0, 12),
            last_report_watts=st.integers(-10, 500),
            max_report_watts=st.integers(0, 500),
        ),
        max_size=8,
    ).map(tuple),
    st.none() | st.lists(st.text(max_size=4), max_size=4),
)
def test_zones_only_for_known_microinverters(
    inverters: tuple[Inverter, ...], addresses: list[str] | None
) -> None:
    zones = zones_attributes(inverters, addresses)
    micro = {i.serial for i in inverters if i.dev_type == 1}
    assert set(zones) <= micro
    if addresses is not None:
        assert set(zones) <= set(addresses)
    for values in zones.values():
        assert values["state"] == str(values["last_w"])
