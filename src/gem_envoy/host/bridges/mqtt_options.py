"""How the host reaches its MQTT broker, and what it offers there (`--mqtt` and friends)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

CommandLevel = Literal["off", "read", "all"]
COMMAND_LEVELS: tuple[CommandLevel, ...] = ("off", "read", "all")

DEFAULT_PREFIX = "gem-envoy"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
_PORTS = {"mqtt": 1883, "mqtts": 8883}


class BrokerUrlError(ValueError):
    """A broker address that cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class MqttOptions:
    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never printed, never logged
    # CA certificates to trust for mqtts:// instead of the system's (a broker's own CA).
    ca_file: Path | None = None
    prefix: str = DEFAULT_PREFIX
    commands: CommandLevel = "off"
    # Home Assistant's discovery prefix; None publishes no discovery documents.
    discovery_prefix: str | None = DEFAULT_DISCOVERY_PREFIX
    # Whether the bridge watches every device while connected, as an open page does: live
    # values (a gateway's power every second) then flow to the broker all the time, at the
    # gateway's cost. Off: they flow while someone has the page open, the poll otherwise.
    live: bool = False
    # Reconnect delays: 1, 2, 4 ... 60 s (tests shorten them).
    backoff_first_s: float = 1.0
    backoff_cap_s: float = 60.0

    def address(self) -> str:
        """The broker's address as logs may show it: with the user, never the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = field(repr=False)


def parse_broker_url(text: str) -> BrokerUrl:
    """`mqtt[s]://[user[:password]@]host[:port]`; the port defaults to 1883 (8883 for mqtts)."""
    try:
        url = urlsplit(text.strip())
        port = url.port
    except ValueError:
        raise BrokerUrlError("the broker address is not a URL with a valid port") from None
    if url.scheme not in _PORTS:
        raise BrokerUrlError("the broker address must start with mqtt:// or mqtts://")
    if not url.hostname:
        raise BrokerUrlError("the broker address names no host")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise BrokerUrlError("the broker address takes no path, query or fragment")
    return BrokerUrl(
        host=url.hostname,
        port=port or _PORTS[url.scheme],
        tls=url.scheme == "mqtts",
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password is not None else None,
    )


def check_prefix(what: str, prefix: str) -> str:
    """A topic prefix: one or more levels, no wildcard, no empty level."""
    if not prefix or any(c in prefix for c in "+#\0") or "" in prefix.split("/"):
        raise ValueError(f"{what} must be topic levels without + or # or empty levels")
    return prefix
