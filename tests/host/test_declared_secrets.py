"""Secrets a driver declares (`AttributeSpec(secure=True)`), and secrets a driver reports.

An account's e-mail address is not caught by the host's rule of names; a driver declares it
and the host treats it like a token: encrypted, masked, left out of logs and events. A token a
driver renews and reports through its sink is stored encrypted and masked from then on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import pytest

from gem_envoy.host.contract import (
    AttributeSpec,
    DriverMetadata,
    DriverRegistry,
    declared_secure_names,
)
from gem_envoy.host.device_service import DeviceService
from gem_envoy.host.events import EventHub
from gem_envoy.host.secrets import declare_secure, is_secure
from gem_envoy.host.sink import StoreSink
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor
from tests.fakes import FakeDriver

EMAIL = "owner-declared@example.com"
RENEWED = "eyJhbGciOiJFUzI1NiJ9.renewed-token-payload-0123456789.renewed-signature-abcdef"


class AccountDriver(FakeDriver):
    """The fake driver with a cloud account: its e-mail address is declared a secret."""

    name: ClassVar[str] = "account_fake"

    @classmethod
    def metadata(cls) -> DriverMetadata:
        meta = FakeDriver.metadata()
        email = AttributeSpec("account_login", "str", "the cloud account", secure=True)
        return DriverMetadata(
            "fake", required=(), optional=(*meta.optional, email), runtime=meta.runtime, zone=()
        )


DRIVERS: DriverRegistry = {AccountDriver.name: AccountDriver}


def test_a_driver_declares_what_the_rule_of_names_misses() -> None:
    assert declared_secure_names(DRIVERS) == {"account_login"}
    assert not is_secure("account_login_hint")  # only the declared name, not its relatives


def test_a_warning_about_a_secret_is_no_secret() -> None:
    # A person must read it to act on it, like token_type and token_expires_at.
    assert not is_secure("token_warning")


async def test_a_declared_secret_is_stored_encrypted_and_never_logged(
    store: Store, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = DeviceService(store, DRIVERS, _nothing)
    device = await service.create("acct", "account_fake", attributes={"account_login": EMAIL})
    supervisor = Supervisor(store, DRIVERS, EventHub(), polling=False)
    await supervisor.reload(device.id)
    stored = await store.get_attributes("device", device.id)
    assert stored["account_login"].secure and stored["account_login"].value == EMAIL
    logging.getLogger("test").warning("signing in as %s", EMAIL)
    await supervisor.stop()
    await store.close()
    assert EMAIL not in caplog.text
    for path in db_path.parent.glob(db_path.name + "*"):
        assert EMAIL.encode() not in path.read_bytes(), path


async def test_a_reported_token_is_encrypted_and_masked_at_once(
    store: Store, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = await store.add_device("renews", "fake")
    sink = StoreSink(store, device.id, EventHub())
    await sink.device_attributes({"token": RENEWED, "token_expires_at": "2027-01-01T00:00:00Z"})
    # The secret itself is stored as it is (encrypted); quoted elsewhere, it is masked.
    await sink.device_attributes({"last_error": f"gateway said: bad token {RENEWED}"})
    stored = await store.get_attributes("device", device.id)
    assert stored["token"].value == RENEWED and stored["token"].secure
    assert RENEWED not in str(stored["last_error"].value)
    logging.getLogger("test").warning("renewed: %s", RENEWED)
    assert RENEWED not in caplog.text
    await store.close()
    for path in db_path.parent.glob(db_path.name + "*"):
        assert RENEWED.encode() not in path.read_bytes(), path


async def _nothing(device_id: int) -> None:
    del device_id


def test_a_name_declared_after_it_was_asked_about_is_secure_from_then_on() -> None:
    name = "late_declared_login"
    assert not is_secure(name)  # the rule of words says no, and that answer is kept...
    declare_secure({name})
    assert is_secure(name)  # ...but a declaration is looked at first, every time
