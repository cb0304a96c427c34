"""`gem-envoy run --mqtt`: the options parsed, the password from a file or the environment
and never printed, the bridge's last will and its goodbye on a broker that wants a user."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ipaddress
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gem_envoy.cli.mqtt_options import PASSWORD_ENV, add_mqtt_options, mqtt_options
from gem_envoy.cli.parsing import UsageError
from gem_envoy.host.bridges.mqtt import MqttBridge
from gem_envoy.host.bridges.mqtt_options import MqttOptions
from gem_envoy.host.service import Host
from tests.eventually import eventually
from tests.fakes import FakeDriver
from tests.host.bridges.conftest import bridged, options_for
from tests.mqtt_broker import Broker, recording

PASSWORD = "broker-pass-5f3a9c"


def parsed(*argv: str) -> MqttOptions | None:
    parser = argparse.ArgumentParser()
    add_mqtt_options(parser)
    return mqtt_options(parser.parse_args(argv))


def test_options_from_the_url_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parsed() is None
    plain = parsed("--mqtt", "mqtt://broker.lan")
    assert plain == MqttOptions(host="broker.lan", port=1883)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    options = parsed(
        "--mqtt", "mqtts://gem@broker.lan", "--mqtt-password-file", str(secret),
        "--mqtt-prefix", "home/solar", "--mqtt-commands", "read", "--no-ha-discovery",
    )  # fmt: skip
    assert options is not None
    assert (options.tls, options.port, options.username, options.password) == (
        True, 8883, "gem", PASSWORD,
    )  # fmt: skip
    assert (options.prefix, options.commands, options.discovery_prefix) == (
        "home/solar", "read", None,
    )  # fmt: skip
    assert PASSWORD not in repr(options) and PASSWORD not in options.address()
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    from_env = parsed("--mqtt", "mqtt://gem:in-url@broker.lan:1884")
    assert from_env is not None and from_env.password == "from-env" and from_env.port == 1884

    for bad in (
        ["--mqtt", "http://broker.lan"],
        ["--mqtt", "mqtt://"],
        ["--mqtt", "mqtt://broker.lan/topic"],
        ["--mqtt", "mqtt://broker.lan", "--mqtt-prefix", "a/#"],
        ["--mqtt", "mqtt://broker.lan", "--mqtt-ca-file", "ca.pem"],  # not mqtts
        ["--mqtt-password-file", str(secret)],  # no broker
        ["--mqtt", "mqtt://broker.lan"],  # a password ($GEM_ENVOY_MQTT_PASSWORD), no user
    ):
        with pytest.raises(UsageError):
            parsed(*bad)


async def test_run_publishes_its_status_with_a_password_from_a_file(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker", users={"gem": PASSWORD})
    broker.start()
    secret = tmp_path / "mqtt.pw"
    secret.write_text(PASSWORD)
    log = tmp_path / "host.log"
    command = [
        sys.executable, "-m", "gem_envoy.cli", "run", "--db", str(tmp_path / "gem.db"),
        "--listen", "127.0.0.1:0", "--mqtt", f"mqtt://gem@127.0.0.1:{broker.port}",
        "--mqtt-password-file", str(secret),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    try:
        async with recording(broker.port, "gem-envoy/#", username="gem", password=PASSWORD) as (
            seen,
            _,
        ):
            with log.open("w") as out:
                process = await asyncio.create_subprocess_exec(
                    *command, stdout=out, stderr=out, env=env
                )
            try:
                await eventually(lambda: seen.on("gem-envoy/status") == [b"online"], 30)
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 15)
            # A clean stop sends no last will: the bridge says goodbye itself.
            await eventually(lambda: seen.latest.get("gem-envoy/status") == b"offline", 5)
        text = log.read_text()
        assert "MQTT: connected to mqtt://gem@127.0.0.1" in text
        assert PASSWORD not in text
    finally:
        broker.kill()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test broker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "broker.pem", directory / "broker.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_mqtts_with_the_brokers_own_ca(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    broker = Broker(tmp_path / "broker", tls=(cert, key))
    broker.start()
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    try:
        trusted = options_for(broker, tls=True, ca_file=cert)
        async with bridged(host, trusted) as bridge:
            assert bridge.connections == 1
        # Without the broker's CA the system's do not trust it: no connection, and said so.
        untrusted = MqttBridge(
            host.store, host.supervisor, host.events, replace(trusted, ca_file=None)
        )
        task = asyncio.create_task(untrusted.run())
        await asyncio.sleep(1.0)
        assert untrusted.connections == 0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await host.close()
        broker.kill()
