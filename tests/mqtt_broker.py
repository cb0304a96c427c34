"""A real MQTT broker for tests: Debian's `mosquitto`, started by the test itself on a free
port of 127.0.0.1 with a configuration of its own (no system service), and a client that
records what the broker sends.

Without the binary the tests that need it skip, saying so; with GEM_ENVOY_REQUIRE_MQTT=1
(`make test` in CI, after `make mqtt-broker` installed it) they fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

REQUIRE_ENV = "GEM_ENVOY_REQUIRE_MQTT"
START_TIMEOUT_S = 10.0


def mosquitto_binary() -> str:
    """The broker's path; skips the test (fails it under GEM_ENVOY_REQUIRE_MQTT=1) without."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
    if found:
        return found
    reason = "mosquitto is not installed (make mqtt-broker installs Debian's)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One mosquitto process; `kill()` and `start()` again keep its port and its config.

    With `users` it takes only those (name -> password); with `persistence` it keeps
    retained messages on disk across a kill (saved every second), like a broker that
    restarts with what it had; with `tls` (a certificate and its key) it speaks mqtts."""

    def __init__(
        self,
        directory: Path,
        *,
        users: dict[str, str] | None = None,
        persistence: bool = False,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.binary = mosquitto_binary()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        lines = [f"listener {self.port} 127.0.0.1"]
        if tls is not None:  # (certificate, key): mqtts:// on this port
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to a user that cannot read tmp_path
        if users:
            passwords = self.directory / "passwd"
            passwords.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            passwd_tool = shutil.which("mosquitto_passwd") or "mosquitto_passwd"
            subprocess.run([passwd_tool, "-U", str(passwords)], check=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.directory}/",
                "autosave_interval 1",
            ]
        else:
            lines.append("persistence false")
        self.config = self.directory / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = self.directory / "mosquitto.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen within {START_TIMEOUT_S} s")

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients, nothing saved beyond its last autosave."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class Recorder:
    """Everything the broker sent one subscription, and the state it implies: the latest
    payload of each topic (an empty payload removes the topic, as it does a retained one)."""

    messages: list[Received] = field(default_factory=list)
    latest: dict[str, bytes] = field(default_factory=dict)

    def add(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else b""
        self.messages.append(Received(message.topic.value, payload, message.retain))
        if payload:
            self.latest[message.topic.value] = payload
        else:
            self.latest.pop(message.topic.value, None)

    def on(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic]


@contextlib.asynccontextmanager
async def recording(
    port: int,
    topic_filter: str = "#",
    *,
    username: str | None = None,
    password: str | None = None,
) -> AsyncIterator[tuple[Recorder, aiomqtt.Client]]:
    """A client subscribed to `topic_filter` that records what it receives; also handed
    back, to publish with."""
    recorder = Recorder()
    async with aiomqtt.Client("127.0.0.1", port, username=username, password=password) as client:
        await client.subscribe(topic_filter, qos=1)

        async def keep() -> None:
            async for message in client.messages:
                recorder.add(message)

        task = asyncio.create_task(keep())
        try:
            yield recorder, client
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
